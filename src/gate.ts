/**
 * The gate: one decision per request from an allowlist, the trusted proxies
 * and the exempt paths, compiled once per configuration and swapped
 * atomically.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildRuleSet } from './config.js';
import { CookiePolicy } from './cookies.js';
import { invalid, isList, quote } from './errors.js';
import { type IpSet, matcherOf } from './ipset.js';
import { RESULT_VALUE } from './layout.js';
import type { Matcher } from './matcher.js';
import { DEFAULT_EXEMPT_PATHS, ExemptPaths, segmentProblem } from './paths.js';
import {
  forwardingText,
  type HeaderBag,
  hasAddress,
  ProxyTrust,
  type ProxyTrustOptions,
  peerText,
  type Walk,
  walkOf,
  walkRequest,
} from './proxy-trust.js';
import { type Keyed, Recent } from './recent.js';
import { combineSets } from './rules.js';

const VALUE_WORD = RESULT_VALUE >> 2;

/**
 * GateOptions configures a gate. `configFromEnv()` returns a valid value;
 * written by hand, every field may be left out:
 * - `allow` (default none: no restriction) address rules in any form `IpSet`
 *   accepts;
 * - `behindProxy` (default false) reads forwarding headers, through
 *   `trustedProxies` (default none) or `trustAllProxies` (default false);
 * - `header` (default `'x-forwarded-for'`) and `maxHops` (default 32) tune
 *   the walk, as in `ProxyTrustOptions`;
 * - `exemptPaths` (default `DEFAULT_EXEMPT_PATHS`; `[]` exempts nothing);
 * - `secureCookies` and `disableSslRedirect` turn on the cookie policy that
 *   `gate.secure` applies. The policy exists only when `secureCookies` is
 *   given (true or false); left out, `gate.secure` leaves responses alone;
 * - `onWarning` receives the cookie policy's warnings.
 * The other fields of `GateConfig` are accepted and ignored; any other field
 * is an error, so that a misspelt `allow` cannot leave a gate open.
 */
export interface GateOptions {
  allow?: Iterable<string>;
  trustedProxies?: Iterable<string>;
  trustAllProxies?: boolean;
  behindProxy?: boolean;
  header?: 'x-forwarded-for' | 'forwarded';
  maxHops?: number;
  exemptPaths?: Iterable<string>;
  secureCookies?: boolean;
  disableSslRedirect?: boolean;
  onWarning?: (message: string) => void;
  debug?: boolean;
  test?: boolean;
  secretKey?: string | undefined;
  secretKeyFallbacks?: string[];
  warnings?: string[];
}

/**
 * VerdictReason says how a verdict was reached. Reasons are decided in this
 * order, and the first that applies wins:
 * - `'unrestricted'`: the allowlist is empty, everything passes;
 * - `'exempt'`: the path is exempt (see `ExemptPaths.has`);
 * - `'untrusted-forwarding'`: behind a proxy with no trusted proxies, the
 *   request carries `X-Forwarded-For` or `Forwarded`, so the client is
 *   unknown and the peer (a proxy) must not be judged in its place;
 * - `'no-client-address'`: no peer address, a malformed hop reached, or too
 *   many hops;
 * - `'allowed'`: the client matches a rule, named in `rule`;
 * - `'not-allowed'`: it does not.
 */
export type VerdictReason =
  | 'unrestricted'
  | 'exempt'
  | 'untrusted-forwarding'
  | 'no-client-address'
  | 'allowed'
  | 'not-allowed';

/** Verdict is the gate's answer for one request, an object of its own. */
export interface Verdict {
  /** allowed reports whether the request may reach the application. */
  allowed: boolean;
  /** clientIp is the client's canonical address, or null when unknown. */
  clientIp: string | null;
  reason: VerdictReason;
  /** rule is the allowlist rule (as written) that let the client in. */
  rule?: string;
}

/** GateRequest is what `check` reads from a request; Node's fields fit. */
export interface GateRequest {
  /** remoteAddress is the socket's peer, `req.socket.remoteAddress`. */
  remoteAddress?: string | undefined;
  /** headers are Node's `req.headers`: lower-case names, strings or arrays. */
  headers?: HeaderBag | undefined;
  /** url is the request target, `req.url`. */
  url?: string | undefined;
}

/** Snapshot is one compiled configuration; it never changes once built. */
interface Snapshot {
  /**
   * allowRules are the allowlist's rules, null when it is empty: a copy of
   * the set's frozen list, whose elements optimised code reads through a
   * generic call rather than directly.
   */
  readonly allowRules: readonly string[] | null;
  /** walk is how the client is found; it reads no header when not behind a proxy. */
  readonly walk: Walk;
  /**
   * matcher holds the trusted proxies, attached, and the allowlist as the
   * client set: one call walks a request and looks its client up.
   */
  readonly matcher: Matcher;
  /** isForwardingRefused: behind a proxy that nothing says to trust. */
  readonly isForwardingRefused: boolean;
  readonly exempt: ExemptPaths;
  readonly cookies: CookiePolicy | null;
  /**
   * recent holds what `judge` found for recent clients: walking the same
   * peer and header again would find the same.
   */
  readonly recent: Recent<Known>;
}

/**
 * Known is what the gate found for one peer and forwarding header: the
 * verdict on a path that is not exempt. It stays inside the gate; each
 * request gets a verdict of its own made from it, so that what one
 * request's handler does to its verdict cannot reach another's.
 */
interface Known extends Keyed {
  readonly clientIp: string | null;
  readonly reason: 'unrestricted' | 'no-client-address' | 'allowed' | 'not-allowed';
  readonly rule: string | undefined;
}

const OPTION_NAMES = new Set([
  'allow',
  'trustedProxies',
  'trustAllProxies',
  'behindProxy',
  'header',
  'maxHops',
  'exemptPaths',
  'secureCookies',
  'disableSslRedirect',
  'onWarning',
  'debug',
  'test',
  'secretKey',
  'secretKeyFallbacks',
  'warnings',
]);

const BOOLEAN_OPTIONS = [
  'trustAllProxies',
  'behindProxy',
  'secureCookies',
  'disableSslRedirect',
] as const;

/**
 * Gate decides, for each request, whether it may reach the application.
 * Build it with `createGate`. `check` never throws on request data.
 */
export class Gate {
  #snapshot: Snapshot;

  /** Compiles `options`; see `createGate` for what it throws. */
  constructor(options: GateOptions = {}) {
    this.#snapshot = compile(options);
  }

  /**
   * check returns the verdict for one request. It reads the configuration
   * once, so a concurrent `update` never mixes two configurations in one
   * verdict. Missing or malformed fields deny rather than throw, except
   * where the allowlist is empty or the path is exempt.
   */
  check(request: GateRequest): Verdict {
    const snapshot = this.#snapshot;
    const headers = request?.headers ?? {};
    const url = request?.url;

    // The forwarding header of an untrusted proxy names nobody we can judge.
    if (snapshot.isForwardingRefused && hasForwarding(headers)) return refused(snapshot, url);

    const peer = peerText(request?.remoteAddress);
    const header = forwardingText(snapshot.walk, headers);
    const { clientIp, reason, rule } =
      snapshot.recent.get(peer, header) ?? judge(snapshot, peer, header);
    if (reason === 'unrestricted') return { allowed: true, clientIp, reason };
    if (snapshot.exempt.has(url)) return { allowed: true, clientIp, reason: 'exempt' };
    if (reason === 'allowed') return { allowed: true, clientIp, reason, rule };
    return { allowed: false, clientIp, reason };
  }

  /**
   * update replaces the configuration. The new one is compiled completely
   * before it is swapped in, so requests already checked keep their verdict,
   * the next ones see the new configuration, and an update that throws (as
   * `createGate` would) leaves the old configuration in place.
   */
  update(options: GateOptions): void {
    this.#snapshot = compile(options);
  }

  /**
   * secure applies the cookie policy of the current configuration to an
   * allowed request. It returns true when it has answered the request itself
   * (a redirect to HTTPS): the application must then not run. Without a
   * cookie policy it does nothing and returns false.
   */
  secure(req: IncomingMessage, res: ServerResponse): boolean {
    const cookies = this.#snapshot.cookies;
    return cookies === null ? false : cookies.handle(req, res);
  }
}

/**
 * createGate compiles `options` (a `GateConfig` from `configFromEnv`, or the
 * fields of `GateOptions` written by hand) into a Gate.
 *
 * Throws, naming the option and quoting the bad value:
 * - `ERR_INVALID_OPTION` (TypeError) for options that are not an object, an
 *   unknown field, a field of the wrong type (a string where a list or a
 *   boolean belongs: `'false'` is not false), or a bad exempt path;
 * - `ERR_INVALID_OPTION` (RangeError) for a `maxHops` that is not a
 *   positive integer;
 * - `ERR_INVALID_RULE` (TypeError) for an `allow` or `trustedProxies` entry
 *   that `IpSet` rejects, e.g. `createGate: allow entry "10.0.0.0/33":
 *   prefix length 33 exceeds 32`.
 */
export function createGate(options: GateOptions = {}): Gate {
  return new Gate(options);
}

/** compile checks `options` and builds a snapshot from them. */
function compile(options: GateOptions): Snapshot {
  checkOptions(options);
  const allowRules = listOption(options, 'allow') ?? [];
  const proxyRules = listOption(options, 'trustedProxies') ?? [];
  const exemptPaths = listOption(options, 'exemptPaths') ?? DEFAULT_EXEMPT_PATHS;
  for (const entry of exemptPaths) {
    const problem = segmentProblem(entry);
    if (problem !== null) {
      throw optionError(`exemptPaths entry ${quote(entry)}: ${problem}`);
    }
  }

  const allow = allowRules.length === 0 ? null : buildRuleSet('createGate: allow', allowRules);
  const proxies = buildRuleSet('createGate: trustedProxies', proxyRules);
  const isTrusting = options.behindProxy === true;
  const trust = new ProxyTrust(isTrusting ? trustOptions(options, proxies) : {});
  const walk = walkOf(trust);
  const trusted = walk.set === undefined ? null : matcherOf(walk.set);

  return {
    allowRules: allow === null ? null : [...allow.rules],
    walk,
    matcher: combineSets('createGate', trusted, allow === null ? null : matcherOf(allow)),
    isForwardingRefused: isTrusting && !trust.isConfigured,
    exempt: new ExemptPaths(exemptPaths),
    cookies: cookiePolicy(options, trust),
    recent: new Recent(),
  };
}

/** refused is the verdict for a forwarding header no setting lets the gate read. */
function refused(snapshot: Snapshot, url: string | undefined): Verdict {
  const clientIp = null;
  if (snapshot.allowRules === null) return { allowed: true, clientIp, reason: 'unrestricted' };
  if (snapshot.exempt.has(url)) return { allowed: true, clientIp, reason: 'exempt' };
  return { allowed: false, clientIp, reason: 'untrusted-forwarding' };
}

/**
 * judge walks `peer` and `header` to the client, looks the client up in the
 * allowlist and remembers what it found in `snapshot.recent`.
 */
function judge(snapshot: Snapshot, peer: string, header: string): Known {
  const { matcher, walk, allowRules } = snapshot;
  let clientIp: string | null = null;
  let index = 0;
  // One call walks to the client and looks it up in the allowlist.
  if (hasAddress(walkRequest(matcher, walk, peer, header))) {
    clientIp = matcher.walked(peer, header);
    index = matcher.words[VALUE_WORD]!;
  }

  const rule = allowRules !== null && index > 0 ? allowRules[index - 1] : undefined;
  let reason: Known['reason'] = 'allowed';
  if (allowRules === null) reason = 'unrestricted';
  else if (clientIp === null) reason = 'no-client-address';
  else if (rule === undefined) reason = 'not-allowed';
  const known: Known = { peer, header, clientIp, reason, rule };
  snapshot.recent.remember(known);
  return known;
}

/** trustOptions are the ProxyTrust options for a gate behind a proxy. */
function trustOptions(options: GateOptions, trusted: IpSet): ProxyTrustOptions {
  const result: ProxyTrustOptions = { trusted, all: options.trustAllProxies === true };
  if (options.header !== undefined) result.header = options.header;
  if (options.maxHops !== undefined) result.maxHops = options.maxHops;
  return result;
}

/** cookiePolicy builds the cookie policy when `secureCookies` was given. */
function cookiePolicy(options: GateOptions, trust: ProxyTrust): CookiePolicy | null {
  if (options.secureCookies === undefined) return null;
  return new CookiePolicy({
    secureCookies: options.secureCookies,
    disableSslRedirect: options.disableSslRedirect === true,
    behindProxy: options.behindProxy === true,
    trust: trust.isConfigured ? trust : null,
    onWarning: options.onWarning,
  });
}

/** checkOptions throws for a field of `options` that cannot be right. */
function checkOptions(options: GateOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionError(`options must be an object, not ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw optionError(`unknown option ${quote(name)}`);
  }
  for (const name of BOOLEAN_OPTIONS) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean') {
      throw optionError(`${name} must be a boolean, not ${describe(value)}`);
    }
  }

  const { header, maxHops, onWarning } = options;
  if (header !== undefined && header !== 'x-forwarded-for' && header !== 'forwarded') {
    throw optionError(`header must be "x-forwarded-for" or "forwarded", not ${describe(header)}`);
  }
  if (maxHops !== undefined && !(Number.isSafeInteger(maxHops) && maxHops > 0)) {
    const Kind = typeof maxHops === 'number' ? RangeError : TypeError;
    throw optionError(`maxHops must be a positive integer, not ${describe(maxHops)}`, Kind);
  }
  if (onWarning !== undefined && typeof onWarning !== 'function') {
    throw optionError(`onWarning must be a function, not ${describe(onWarning)}`);
  }
}

/**
 * listOption returns `options[name]` as an array of strings, undefined when
 * it is left out. A string is refused rather than split into characters.
 */
function listOption(
  options: GateOptions,
  name: 'allow' | 'trustedProxies' | 'exemptPaths',
): readonly string[] | undefined {
  const value: unknown = options[name];
  if (value === undefined) return undefined;
  if (!isList(value)) {
    throw optionError(`${name} must be a list of strings, not ${describe(value)}`);
  }

  const entries: string[] = [];
  for (const entry of value) {
    if (typeof entry !== 'string') {
      throw optionError(`${name} entry ${describe(entry)} is not a string`);
    }
    entries.push(entry);
  }
  return entries;
}

/** optionError is an ERR_INVALID_OPTION error about createGate's options. */
function optionError(message: string, Kind: typeof TypeError = TypeError): Error {
  return invalid('ERR_INVALID_OPTION', `createGate: ${message}`, Kind);
}

/** hasForwarding reports whether `headers` carry a forwarding header. */
function hasForwarding(headers: HeaderBag): boolean {
  return headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined;
}

/** describe quotes a bad option value and names its type. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${quote(String(value))} (a ${typeof value})`;
}
