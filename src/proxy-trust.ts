/**
 * ProxyTrust: which address a request really came from, when it came through
 * proxies that record the hops in X-Forwarded-For or Forwarded (RFC 7239).
 */
import { invalid, quote } from './errors.js';
import { IpSet, matcherOf } from './ipset.js';
import { RESULT_HOP, RESULT_START, Reason, SCRATCH, SCRATCH_SIZE } from './layout.js';
import { Matcher } from './matcher.js';
import { instantiate, writeAscii } from './wasm.js';

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
const AT = SCRATCH;
const LIMIT = SCRATCH_SIZE;
const START_WORD = RESULT_START >> 2;
const HOP_WORD = RESULT_HOP >> 2;

const TRUST_ALL = 1;
const FORWARDED = 2;
// The codes the walk returns with an address are PEER to ALL_TRUSTED.
const PEER: number = Reason.REASON_PEER;
const ALL_TRUSTED: number = Reason.REASON_ALL_TRUSTED;
const TOO_MANY_HOPS: number = Reason.REASON_TOO_MANY_HOPS;
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
const encoder = new TextEncoder();

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

// The matcher behind each ProxyTrust, for the gate; not public.
const trustMatchers = new WeakMap<ProxyTrust, Matcher>();

/**
 * matcherOfTrust returns the instance `trust` walks in, whose RESULT holds
 * the client address after each `resolve`.
 */
export function matcherOfTrust(trust: ProxyTrust): Matcher {
  return trustMatchers.get(trust)!;
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
  readonly #flags: number;
  readonly #maxHops: number;
  readonly #header: string;
  readonly #configured: boolean;

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
    trustMatchers.set(this, this.#matcher);
    this.#flags = (all ? TRUST_ALL : 0) | (options.header === 'forwarded' ? FORWARDED : 0);
    this.#maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
    this.#header = options.header ?? 'x-forwarded-for';
    this.#configured = all || (set !== undefined && set.size > 0);
  }

  /** isConfigured reports whether any proxy is trusted, so headers are read at all. */
  get isConfigured(): boolean {
    return this.#configured;
  }

  /**
   * isTrusted reports whether `addr` is a trusted proxy's address: any
   * address when `all` is set. Never throws.
   */
  isTrusted(addr: unknown): boolean {
    const value = this.#matcher.find(addr);
    return (this.#flags & TRUST_ALL) !== 0 ? value >= 0 : value > 0;
  }

  /** clientIp returns the client's address as canonical text, or null. Never throws. */
  clientIp(remoteAddress: string | undefined, headers: HeaderBag): string | null {
    const code = this.#walk(remoteAddress, headers);
    return code >= PEER && code <= ALL_TRUSTED ? this.#text() : null;
  }

  /**
   * resolve returns the client's address with the hop it came from and the
   * reason. Never throws, whatever the peer and headers hold.
   */
  resolve(remoteAddress: string | undefined, headers: HeaderBag): Resolution {
    const code = this.#walk(remoteAddress, headers);
    const reason = REASONS[code] ?? 'no-peer';
    if (code < PEER || code > ALL_TRUSTED) return { clientIp: null, hop: null, reason };
    return { clientIp: this.#text(), hop: this.#matcher.words[HOP_WORD]!, reason };
  }

  // The text the last walk read and where it put it, for #text.
  #peer = '';
  #peerAt = 0;
  #headerText = '';
  #headerAt = 0;

  /** #walk writes the request's peer and header into memory, walks them and returns the core's code. */
  #walk(remoteAddress: string | undefined, headers: HeaderBag): number {
    const peer = typeof remoteAddress === 'string' ? remoteAddress : '';
    const header = this.#configured ? headerText(headers?.[this.#header]) : '';
    const flags = this.#configured ? this.#flags : 0;

    // The header goes at SCRATCH and the peer right after it, or both past
    // the heap when they might not fit (UTF-8 takes up to 3 bytes a unit).
    // When both are ASCII, as they nearly always are, one copy writes both.
    const matcher = this.#matcher;
    const length = header.length + peer.length;
    if (header.length > 0 && 3 * length <= LIMIT && matcher.encode(header + peer) === length) {
      return this.#walkAt(peer, header, AT, header.length, flags);
    }
    let written: number;
    let at = AT;
    if (3 * header.length + peer.length <= LIMIT) {
      written = matcher.encode(header);
    } else {
      const room = 3 * header.length + peer.length;
      at = matcher.core.spare(room);
      // Growing memory detaches the old buffer, which leaves the view empty.
      if (matcher.bytes.length === 0) matcher.renew();
      if (at === 0) return TOO_MANY_HOPS;
      const view = new Uint8Array(matcher.core.memory.buffer, at, room);
      written = encoder.encodeInto(header, view).written;
    }
    writeAscii(matcher.bytes, at + written, peer);
    return this.#walkAt(peer, header, at, written, flags);
  }

  /** #walkAt walks the header's `written` bytes at `at` and the peer right after them. */
  #walkAt(peer: string, header: string, at: number, written: number, flags: number): number {
    const peerAt = at + written;
    this.#peer = peer;
    this.#peerAt = peerAt;
    this.#headerText = header;
    this.#headerAt = written === header.length ? at : -1;
    return this.#matcher.core.walk(peerAt, peer.length, at, written, flags, this.#maxHops);
  }

  /**
   * #text returns the address the last walk chose: sliced from the string
   * it came from when it is already canonical there (a dotted quad always
   * is), else formatted by the core. Byte offsets are string offsets only
   * for ASCII, which the peer is whenever it parsed; the header's offset is
   * -1 when it was not.
   */
  #text(): string {
    const matcher = this.#matcher;
    return matcher.words[START_WORD]! >= this.#peerAt
      ? matcher.text(this.#peer, this.#peerAt)
      : matcher.text(this.#headerText, this.#headerAt);
  }
}
