/**
 * ProxyTrust: which address a request really came from, when it came through
 * proxies that record the hops in X-Forwarded-For or Forwarded (RFC 7239).
 */
import { invalid, quote } from './errors.js';
import { IpSet, matcherOf } from './ipset.js';
import { RESULT_HOP, Reason } from './layout.js';
import { Matcher } from './matcher.js';
import { instantiate } from './wasm.js';

/** Options for ProxyTrust. */
export interface ProxyTrustOptions {
  /** Rules for the proxies you run, or an IpSet of them. Default: none. */
  trusted?: Iterable<string> | IpSet;
  /**
   * Trust every hop, so the leftmost entry is the client. Anyone can then
   * choose their address unless the nearest proxy overwrites the header
   * instead of appending to it. Default: false.
   */
  all?: boolean;
  /** The header to read: `'x-forwarded-for'` (default) or `'forwarded'`. */
  header?: 'x-forwarded-for' | 'forwarded';
  /** How many header entries a walk may examine, the peer not counted. Default: 32. */
  maxHops?: number;
}

/** How `resolve` found its answer. */
export type ResolveReason =
  | 'peer'
  | 'forwarded'
  | 'all-trusted'
  | 'no-peer'
  | 'malformed-hop'
  | 'too-many-hops';

/** The answer of `resolve`. */
export interface Resolution {
  /** The client's address as canonical text, or null. */
  clientIp: string | null;
  /** 0 for the socket peer, k for the k-th header entry from the right; null with no address. */
  hop: number | null;
  /** Why this address, or why none. */
  reason: ResolveReason;
}

/** Node's `req.headers`: lower-case names, a string or an array of lines. */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** DEFAULT_MAX_HOPS is how many header entries a walk examines by default. */
export const DEFAULT_MAX_HOPS = 32;

// Module-local copies of the layout: V8 reads imported bindings afresh at
// every use, which shows on a path this hot (see Matcher.find).
const HOP_WORD = RESULT_HOP >> 2;

const TRUST_ALL = 1;
const FORWARDED = 2;
// The codes the walk returns with an address are PEER to ALL_TRUSTED.
const PEER: number = Reason.REASON_PEER;
const ALL_TRUSTED: number = Reason.REASON_ALL_TRUSTED;
const REASONS: readonly ResolveReason[] = (() => {
  const names: ResolveReason[] = [];
  names[Reason.REASON_PEER] = 'peer';
  names[Reason.REASON_FORWARDED] = 'forwarded';
  names[Reason.REASON_ALL_TRUSTED] = 'all-trusted';
  names[Reason.REASON_NO_PEER] = 'no-peer';
  names[Reason.REASON_MALFORMED] = 'malformed-hop';
  names[Reason.REASON_TOO_MANY_HOPS] = 'too-many-hops';
  return names;
})();
const OPTION_NAMES = new Set(['trusted', 'all', 'header', 'maxHops']);
const WHERE = 'new ProxyTrust';

function checkOptions(options: ProxyTrustOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalid('ERR_INVALID_OPTION', `${WHERE}: options must be an object`);
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw invalid('ERR_INVALID_OPTION', `${WHERE}: unknown option ${quote(name)}`);
    }
  }
  const { all, header, maxHops } = options;
  if (all !== undefined && typeof all !== 'boolean') {
    throw invalid('ERR_INVALID_OPTION', `${WHERE}: all must be a boolean, not ${quote(all)}`);
  }
  if (header !== undefined && header !== 'x-forwarded-for' && header !== 'forwarded') {
    throw invalid(
      'ERR_INVALID_OPTION',
      `${WHERE}: header must be "x-forwarded-for" or "forwarded", not ${quote(header)}`,
    );
  }
  if (maxHops !== undefined && !(Number.isInteger(maxHops) && maxHops >= 1 && maxHops < 2 ** 31)) {
    throw invalid(
      'ERR_INVALID_OPTION',
      `${WHERE}: maxHops must be a positive integer, not ${quote(maxHops)}`,
      RangeError,
    );
  }
}

function headerText(value: string | string[] | undefined): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(',');
  return '';
}

/**
 * Walk is how a ProxyTrust walks a request, for a gate that walks the same
 * way in an instance of its own; not public.
 */
export interface Walk {
  /** set holds the trusted proxies; undefined when none are given. */
  set: IpSet | undefined;
  flags: number;
  maxHops: number;
  header: 'x-forwarded-for' | 'forwarded';
  isConfigured: boolean;
}

/**
 * forwardingText returns the forwarding header `walk` reads from `headers`,
 * its lines joined, or '' when it reads none.
 */
export function forwardingText(walk: Walk, headers: HeaderBag | undefined): string {
  return walk.isConfigured ? headerText(headers?.[walk.header]) : '';
}

const walks = new WeakMap<ProxyTrust, Walk>();

/** walkOf returns how `trust` walks. */
export function walkOf(trust: ProxyTrust): Walk {
  return walks.get(trust)!;
}

/** peerText returns the socket peer a walk starts from, '' for none. */
export function peerText(remoteAddress: unknown): string {
  return typeof remoteAddress === 'string' ? remoteAddress : '';
}

/**
 * walkRequest walks one request's `peer` (from peerText) and `header` (from
 * forwardingText) in `matcher` the way `walk` says and returns the core's
 * code; `hasAddress` tells whether it chose an address, which
 * `matcher.walked(peer, header)` then returns.
 */
export function walkRequest(matcher: Matcher, walk: Walk, peer: string, header: string): number {
  return matcher.walk(peer, header, walk.flags, walk.maxHops);
}

/** hasAddress reports whether a walk's code comes with an address. */
export function hasAddress(code: number): boolean {
  return code >= PEER && code <= ALL_TRUSTED;
}

/**
 * ProxyTrust finds the client address of a request. With no trusted proxies
 * and not `all`, the client is the socket peer and headers are ignored.
 * Otherwise the walk starts at the peer and moves left through the header
 * while the current hop is a trusted proxy; the first untrusted hop is the
 * client, and when every hop is trusted the leftmost one is. A malformed
 * entry the walk reaches, or more than `maxHops` entries, gives no address.
 *
 * The whole walk is one call into WebAssembly; only the chosen address is
 * turned into a string.
 */
export class ProxyTrust {
  readonly #matcher: Matcher;
  readonly #walk: Walk;

  /**
   * Throws a TypeError or RangeError with code `ERR_INVALID_OPTION` for a bad
   * option, or `ERR_INVALID_RULE` (from IpSet.from) for a bad trusted rule.
   */
  constructor(options: ProxyTrustOptions = {}) {
    checkOptions(options);
    const all = options.all === true;
    const trusted = options.trusted;
    const set = trusted instanceof IpSet || trusted === undefined ? trusted : IpSet.from(trusted);

    this.#matcher = set === undefined ? new Matcher(instantiate()) : matcherOf(set);
    const isConfigured = all || (set !== undefined && set.size > 0);
    const flags = (all ? TRUST_ALL : 0) | (options.header === 'forwarded' ? FORWARDED : 0);
    this.#walk = {
      set,
      // Unconfigured, the walk reads no header, so flags cannot matter.
      flags: isConfigured ? flags : 0,
      maxHops: options.maxHops ?? DEFAULT_MAX_HOPS,
      header: options.header ?? 'x-forwarded-for',
      isConfigured,
    };
    walks.set(this, this.#walk);
  }

  /** isConfigured reports whether any proxy is trusted, so headers are read at all. */
  get isConfigured(): boolean {
    return this.#walk.isConfigured;
  }

  /**
   * isTrusted reports whether `addr` is a trusted proxy's address: any
   * address when `all` is set. Never throws.
   */
  isTrusted(addr: unknown): boolean {
    const value = this.#matcher.find(addr);
    return (this.#walk.flags & TRUST_ALL) !== 0 ? value >= 0 : value > 0;
  }

  /** clientIp returns the client's address as canonical text, or null. Never throws. */
  clientIp(remoteAddress: string | undefined, headers: HeaderBag): string | null {
    const peer = peerText(remoteAddress);
    const header = forwardingText(this.#walk, headers);
    const code = walkRequest(this.#matcher, this.#walk, peer, header);
    return hasAddress(code) ? this.#matcher.walked(peer, header) : null;
  }

  /**
   * resolve returns the client's address with the hop it came from and the
   * reason. Never throws, whatever the peer and headers hold.
   */
  resolve(remoteAddress: string | undefined, headers: HeaderBag): Resolution {
    const peer = peerText(remoteAddress);
    const header = forwardingText(this.#walk, headers);
    const code = walkRequest(this.#matcher, this.#walk, peer, header);
    const reason = REASONS[code] ?? 'no-peer';
    if (!hasAddress(code)) return { clientIp: null, hop: null, reason };
    const clientIp = this.#matcher.walked(peer, header);
    return { clientIp, hop: this.#matcher.words[HOP_WORD]!, reason };
  }
}
