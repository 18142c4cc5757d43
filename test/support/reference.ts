/**
 * The slow, obviously correct twin of ipgate's WebAssembly core. Oracle tests
 * compare `IpSet`, `IpMap` and `ProxyTrust` with the functions here on random
 * and adversarial input, so this file favours plain string handling and
 * BigInt arithmetic over speed: each step should be checkable by reading it
 * next to issue 2 (addresses and rules) and issue 3 (the proxy walk).
 *
 * Decisions taken where the issues are silent are marked `DECISION:` and are
 * listed in the oracle tests' reports.
 */

/** Addr is a parsed address; IPv4-mapped IPv6 addresses are family 4. */
export interface Addr {
  family: 4 | 6;
  value: bigint;
}

/** Prefix is a parsed block: the address with its host bits cleared. */
export interface Prefix extends Addr {
  bits: number;
}

/** RuleResult is what parseRule gives: the prefixes, or why it failed. */
export type RuleResult = { ok: true; prefixes: Prefix[] } | { ok: false; reason: string };

const V4_BITS = 32;
const V6_BITS = 128;
const MAPPED_HIGH = 0xffffn; // bits 32-127 of ::ffff:0:0/96
const PORT_MAX = 65535;

/** widthOf returns the number of bits in an address of `family`. */
export function widthOf(family: 4 | 6): number {
  return family === 4 ? V4_BITS : V6_BITS;
}

// ---------------------------------------------------------------------------
// Addresses

/**
 * parseIPv4 reads exactly four decimal fields 0-255 without leading zeros
 * (issue 2: `010.0.0.1`, `127.1`, hex and octal are not addresses). The
 * character class is ASCII only, so other scripts' digits never pass.
 */
export function parseIPv4(text: string): bigint | null {
  const fields = text.split('.');
  if (fields.length !== 4) return null;

  let value = 0n;
  for (const field of fields) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(field)) return null;
    const octet = Number(field);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/**
 * isZone reports whether `zone` is an acceptable zone id (the text after
 * `%`). DECISION: one or more ASCII letters, digits, `-`, `_` and `.`, the
 * characters of interface names (`eth0`, `br-1a2b`, `wlan0.5`) and numeric
 * ids (RFC 4007 section 11). Commas, spaces, brackets, slashes and colons
 * stay out, so `fe80::1%a,fe80::2` is not one address.
 */
export function isZone(zone: string): boolean {
  return /^[0-9A-Za-z._-]+$/.test(zone);
}

/**
 * parseIPv6 reads every RFC 4291 section 2.2 text form: eight groups of 1-4
 * hex digits, one `::` standing for one or more zero groups, a dotted IPv4
 * tail in the last 32 bits, and an optional zone id, which is dropped. It
 * returns the 128-bit value without unwrapping IPv4-mapped addresses.
 */
export function parseIPv6(text: string): bigint | null {
  let body = text;
  const percent = text.indexOf('%');
  if (percent !== -1) {
    if (!isZone(text.slice(percent + 1))) return null;
    body = text.slice(0, percent);
  }

  // RFC 4291 2.2 (3): a dotted quad may stand for the last two groups.
  if (body.includes('.')) {
    const colon = body.lastIndexOf(':');
    if (colon === -1) return null;
    const v4 = parseIPv4(body.slice(colon + 1));
    if (v4 === null) return null;
    const high = ((v4 >> 16n) & 0xffffn).toString(16);
    const low = (v4 & 0xffffn).toString(16);
    body = `${body.slice(0, colon + 1)}${high}:${low}`;
  }

  // RFC 4291 2.2 (2): at most one `::`, standing for at least one group.
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const head = splitGroups(halves[0]!);
  const tail = halves.length === 2 ? splitGroups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const given = head.length + tail.length;
  if (halves.length === 1 && given !== 8) return null;
  if (halves.length === 2 && given > 7) return null;
  const zeros = new Array<string>(8 - given).fill('0');
  const groups = [...head, ...zeros, ...tail];

  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(`0x${group}`);
  return value;
}

/** splitGroups splits `a:b:c` into 1-4 digit hex groups; '' gives []. */
function splitGroups(text: string): string[] | null {
  if (text === '') return [];
  const groups = text.split(':');
  for (const group of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return null;
  }
  return groups;
}

/** isMappedValue reports whether a 128-bit value lies in ::ffff:0:0/96. */
export function isMappedValue(value: bigint): boolean {
  return value >> 32n === MAPPED_HIGH;
}

/**
 * parseAddress parses an address as issue 2 defines it: strict IPv4, any
 * RFC 4291 IPv6 text (zone ignored), and an IPv4-mapped IPv6 address in any
 * spelling unwrapped to family 4. Anything else, including non-strings,
 * gives null.
 */
export function parseAddress(text: unknown): Addr | null {
  if (typeof text !== 'string') return null;

  const v4 = parseIPv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  if (!text.includes(':')) return null;
  const v6 = parseIPv6(text);
  if (v6 === null) return null;
  if (isMappedValue(v6)) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/**
 * formatAddress gives the canonical text: a dotted quad for family 4, and
 * RFC 5952 section 4 for family 6 (lower case, no leading zeros, the longest
 * run of two or more zero groups as `::`, the first such run on a tie).
 * DECISION: IPv6 is always written in hex, never with a dotted tail.
 */
export function formatAddress(addr: Addr): string {
  if (addr.family === 4) {
    const octets = [24n, 16n, 8n, 0n].map((shift) => (addr.value >> shift) & 0xffn);
    return octets.join('.');
  }

  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(Number((addr.value >> shift) & 0xffffn));
  }

  // RFC 5952 4.2.1-4.2.3: find the longest zero run (first one on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }

  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** canonicalAddress is formatAddress(parseAddress(text)), or null. */
export function canonicalAddress(text: unknown): string | null {
  const addr = parseAddress(text);
  return addr === null ? null : formatAddress(addr);
}

// ---------------------------------------------------------------------------
// Rules

/**
 * parseRule parses one rule of issue 2 into the prefixes it stands for:
 *   - `addr`: one /32 or /128 prefix;
 *   - `addr/len`: host bits cleared; `len` is ASCII digits, zero padding
 *     allowed (`/08`), at most the family's width;
 *   - `v4/netmask` or `v4/hostmask` as Python's ip_network: the mask is
 *     first read as a netmask, then as a hostmask;
 *   - `first-last`: an inclusive range of one family, cut into prefixes.
 * An IPv6 prefix of length 96 or more inside ::ffff:0:0/96 becomes the
 * IPv4 prefix it maps; a shorter one stays IPv6 and so never holds an IPv4
 * address.
 */
export function parseRule(rule: unknown): RuleResult {
  if (typeof rule !== 'string') return fail('not a string');
  if (rule === '') return fail('empty rule');

  if (rule.includes('/')) return parsePrefixRule(rule);
  if (parseAddressText(rule) === null && rule.includes('-')) return parseRangeRule(rule);
  const addr = parseAddressText(rule);
  if (addr === null) return fail('not an address');
  return ok([toPrefix(addr.width, addr.value, addr.width)]);
}

/** AddressText is an address as written: its text's width, not unwrapped. */
interface AddressText {
  width: number;
  value: bigint;
}

/** parseAddressText parses strict IPv4 or IPv6 text without unwrapping. */
function parseAddressText(text: string): AddressText | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { width: V4_BITS, value: v4 };
  if (!text.includes(':')) return null;
  const v6 = parseIPv6(text);
  return v6 === null ? null : { width: V6_BITS, value: v6 };
}

function parsePrefixRule(rule: string): RuleResult {
  const parts = rule.split('/');
  if (parts.length !== 2) return fail('more than one "/"');
  const [addrText, maskText] = parts as [string, string];
  const addr = parseAddressText(addrText);
  if (addr === null) return fail('not an address before "/"');

  let bits: number;
  if (/^[0-9]+$/.test(maskText)) {
    const length = BigInt(maskText);
    if (length > BigInt(addr.width)) return fail(`prefix length exceeds ${addr.width}`);
    bits = Number(length);
  } else if (addr.width === V4_BITS) {
    const mask = parseIPv4(maskText);
    if (mask === null) return fail('not a prefix length or netmask');
    const fromNetmask = prefixLengthOfMask(mask);
    const fromHostmask = prefixLengthOfMask(mask ^ 0xffffffffn);
    if (fromNetmask === null && fromHostmask === null) return fail('non-contiguous netmask');
    bits = fromNetmask ?? (fromHostmask as number);
  } else {
    return fail('not a prefix length');
  }

  return ok([toPrefix(addr.width, addr.value, bits)]);
}

/**
 * prefixLengthOfMask returns n when `mask` is n one bits followed by zero
 * bits in 32 bits, else null.
 */
function prefixLengthOfMask(mask: bigint): number | null {
  for (let bits = 0; bits <= V4_BITS; bits++) {
    if (maskOf(V4_BITS, bits) === mask) return bits;
  }
  return null;
}

/**
 * parseRangeRule reads `first-last`. DECISION: both ends are parsed as
 * addresses (so IPv4-mapped ends count as IPv4 and a zone is ignored), the
 * split is at the first `-` that leaves two addresses, and both ends must
 * then be of one family.
 */
function parseRangeRule(rule: string): RuleResult {
  for (let dash = rule.indexOf('-'); dash !== -1; dash = rule.indexOf('-', dash + 1)) {
    const first = parseAddress(rule.slice(0, dash));
    const last = parseAddress(rule.slice(dash + 1));
    if (first === null || last === null) continue;
    if (first.family !== last.family) return fail('range ends of different families');
    if (last.value < first.value) return fail('range end is below its start');
    return ok(rangeToPrefixes(first.family, first.value, last.value));
  }
  return fail('not an address range');
}

/**
 * rangeToPrefixes cuts [first, last] into the fewest aligned blocks: from
 * the start, take the largest block that starts there and does not pass the
 * end. DECISION: a range holds the addresses of its family between its ends,
 * so an IPv6 range that spans ::ffff:0:0/96 holds no IPv4 address (those are
 * family 4), just as an IPv6 rule shorter than /96 holds none.
 */
export function rangeToPrefixes(family: 4 | 6, first: bigint, last: bigint): Prefix[] {
  const width = widthOf(family);
  const prefixes: Prefix[] = [];
  let start = first;
  while (start <= last) {
    let size = 0;
    while (
      size < width &&
      start % (1n << BigInt(size + 1)) === 0n &&
      start + (1n << BigInt(size + 1)) - 1n <= last
    ) {
      size++;
    }
    prefixes.push({ family, value: start, bits: width - size });
    start += 1n << BigInt(size);
  }
  return prefixes;
}

/** toPrefix masks `value` to `bits` and unwraps an IPv4-mapped block. */
function toPrefix(width: number, value: bigint, bits: number): Prefix {
  const masked = value & maskOf(width, bits);
  if (width === V6_BITS && bits >= 96 && isMappedValue(masked)) {
    return { family: 4, value: masked & 0xffffffffn, bits: bits - 96 };
  }
  return { family: width === V4_BITS ? 4 : 6, value: masked, bits };
}

/** maskOf returns `bits` one bits followed by zero bits, `width` wide. */
export function maskOf(width: number, bits: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return all ^ ((1n << BigInt(width - bits)) - 1n);
}

function ok(prefixes: Prefix[]): RuleResult {
  return { ok: true, prefixes };
}

function fail(reason: string): RuleResult {
  return { ok: false, reason };
}

// ---------------------------------------------------------------------------
// Matching

/** Winner is the entry that a lookup chose. */
export interface Winner<V> {
  rule: string;
  value: V;
  index: number;
  prefix: Prefix;
}

/**
 * ReferenceMap is the brute-force longest-prefix matcher: it keeps every
 * prefix of every entry in a list and, per lookup, checks them all. The
 * longest matching prefix wins; between equal prefixes the later entry wins,
 * as in a Map.
 */
export class ReferenceMap<V> {
  readonly size: number;
  private readonly entries: { prefix: Prefix; index: number; rule: string; value: V }[] = [];

  /** Throws an Error naming the rule when a rule does not parse. */
  constructor(entries: Iterable<readonly [string, V]>) {
    let index = 0;
    for (const [rule, value] of entries) {
      const parsed = parseRule(rule);
      if (!parsed.ok) throw new Error(`reference: bad rule ${JSON.stringify(rule)}`);
      for (const prefix of parsed.prefixes) {
        this.entries.push({ prefix, index, rule, value });
      }
      index++;
    }
    this.size = index;
  }

  /** lookup returns the winning entry for `addr`, or undefined. */
  lookup(addr: unknown): Winner<V> | undefined {
    const parsed = typeof addr === 'string' ? parseAddress(addr) : null;
    if (parsed === null) return undefined;
    return this.lookupAddr(parsed);
  }

  /** lookupAddr is lookup for an address already parsed. */
  lookupAddr(addr: Addr): Winner<V> | undefined {
    let best: Winner<V> | undefined;
    for (const entry of this.entries) {
      if (!contains(entry.prefix, addr)) continue;
      const isLonger = best === undefined || entry.prefix.bits > best.prefix.bits;
      const isLaterTie = best !== undefined && entry.prefix.bits === best.prefix.bits;
      if (isLonger || (isLaterTie && entry.index >= best!.index)) {
        best = { rule: entry.rule, value: entry.value, index: entry.index, prefix: entry.prefix };
      }
    }
    return best;
  }
}

/** contains reports whether `prefix` holds `addr` (same family only). */
export function contains(prefix: Prefix, addr: Addr): boolean {
  if (prefix.family !== addr.family) return false;
  const mask = maskOf(widthOf(prefix.family), prefix.bits);
  return (addr.value & mask) === prefix.value;
}

// ---------------------------------------------------------------------------
// The proxy walk (issue 3)

/** The reasons a walk ends with, as in src/proxy-trust.ts. */
export type ReferenceReason =
  | 'peer'
  | 'forwarded'
  | 'all-trusted'
  | 'no-peer'
  | 'malformed-hop'
  | 'too-many-hops';

/** ReferenceResolution mirrors ProxyTrust's Resolution. */
export interface ReferenceResolution {
  clientIp: string | null;
  hop: number | null;
  reason: ReferenceReason;
}

/** ReferenceTrustOptions mirrors ProxyTrustOptions with rules as text. */
export interface ReferenceTrustOptions {
  trusted?: readonly string[];
  all?: boolean;
  header?: 'x-forwarded-for' | 'forwarded';
  maxHops?: number;
}

/** DEFAULT_MAX_HOPS is issue 3's default for `maxHops`. */
export const DEFAULT_MAX_HOPS = 32;

/**
 * ReferenceTrust walks a forwarding chain as issue 3 describes:
 *   - no trust configured: the peer is the client, headers are ignored;
 *   - the peer must be an address (else `no-peer`); an untrusted peer is
 *     the client;
 *   - then, from the right, the first untrusted entry is the client; when
 *     all are trusted the leftmost one is; an empty header leaves the peer;
 *   - a malformed entry reached, or more than `maxHops` entries examined,
 *     gives null.
 * DECISION: `hop` is null whenever `clientIp` is null, since it names where
 * the address came from; the reason is `peer` whenever the peer is chosen,
 * including a trusted peer with no entries; `all-trusted` is used only for
 * a header entry.
 */
export class ReferenceTrust {
  readonly isConfigured: boolean;
  private readonly trusted: ReferenceMap<true>;
  private readonly all: boolean;
  private readonly header: 'x-forwarded-for' | 'forwarded';
  private readonly maxHops: number;

  constructor(options: ReferenceTrustOptions = {}) {
    const rules = options.trusted ?? [];
    this.trusted = new ReferenceMap(rules.map((rule) => [rule, true] as const));
    this.all = options.all === true;
    this.header = options.header ?? 'x-forwarded-for';
    this.maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
    this.isConfigured = this.all || this.trusted.size > 0;
  }

  /** isTrusted reports whether `addr` is a trusted proxy's address. */
  isTrusted(addr: unknown): boolean {
    const parsed = typeof addr === 'string' ? parseAddress(addr) : null;
    if (parsed === null) return false;
    return this.isTrustedAddr(parsed);
  }

  private isTrustedAddr(addr: Addr): boolean {
    return this.all || this.trusted.lookupAddr(addr) !== undefined;
  }

  /** resolve returns the client address, its hop and the reason. */
  resolve(remoteAddress: unknown, headers: unknown): ReferenceResolution {
    const peer = parseAddress(remoteAddress);
    if (peer === null) return { clientIp: null, hop: null, reason: 'no-peer' };
    const peerAnswer = { clientIp: formatAddress(peer), hop: 0, reason: 'peer' } as const;
    if (!this.isConfigured || !this.isTrustedAddr(peer)) return peerAnswer;

    const hops = splitHops(readHeader(headers, this.header), this.header);
    if (hops.length === 0) return peerAnswer;

    let last: Addr | null = null;
    for (let hop = 1; hop <= hops.length; hop++) {
      if (hop > this.maxHops) return { clientIp: null, hop: null, reason: 'too-many-hops' };
      const text = hops[hops.length - hop]!;
      const addr = this.header === 'forwarded' ? parseForwardedElement(text) : parseHop(text);
      if (addr === null) return { clientIp: null, hop: null, reason: 'malformed-hop' };
      if (!this.isTrustedAddr(addr)) {
        return { clientIp: formatAddress(addr), hop, reason: 'forwarded' };
      }
      last = addr;
    }
    return { clientIp: formatAddress(last!), hop: hops.length, reason: 'all-trusted' };
  }
}

/**
 * readHeader returns the lines of header `name` in the order they came.
 * DECISION: only the lower-case name is read, as Node's req.headers holds
 * it; array items that are not strings are skipped.
 */
export function readHeader(headers: unknown, name: string): string[] {
  if (headers === null || typeof headers !== 'object') return [];
  const value = (headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((line) => typeof line === 'string');
  return [];
}

/**
 * splitHops joins the lines with commas (issue 3: every line, in order) and
 * splits the result into entries (X-Forwarded-For) or elements (Forwarded),
 * trimming optional whitespace (RFC 7230 OWS: space and tab only) and
 * dropping empty ones. In a Forwarded header a comma inside a quoted string
 * does not separate (RFC 7239 section 4). Quotes are paired from the right,
 * as issue 3 asks the walk to parse: a stray quote then spoils only the
 * elements to its left, which a walk from the right reaches last.
 */
export function splitHops(lines: readonly string[], header: string): string[] {
  const text = lines.join(',');
  const hops: string[] = [];
  let end = text.length;
  let isQuoted = false;
  for (let i = text.length - 1; i >= -1; i--) {
    if (i >= 0) {
      const char = text[i];
      if (header === 'forwarded' && char === '"') isQuoted = !isQuoted;
      if (char !== ',' || isQuoted) continue;
    }
    hops.push(text.slice(i + 1, end));
    end = i;
  }
  return hops
    .reverse()
    .map(trimOws)
    .filter((hop) => hop !== '');
}

function trimOws(text: string): string {
  return text.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
}

/**
 * parseHop reads one X-Forwarded-For entry: an address, `v4:port`,
 * `[v6]` or `[v6]:port`. Brackets hold IPv6 text only (an IPv4-mapped
 * spelling is IPv6 text); a port is 1 to 5 ASCII digits up to 65535.
 */
export function parseHop(text: string): Addr | null {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return null;
    const rest = text.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && isPort(rest.slice(1)))) return null;
    const inner = text.slice(1, close);
    if (!inner.includes(':')) return null;
    return parseAddress(inner);
  }

  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = text.split(':') as [string, string];
    if (!isPort(port)) return null;
    const v4 = parseIPv4(host);
    return v4 === null ? null : { family: 4, value: v4 };
  }
  return parseAddress(text);
}

/** isPort reports whether `text` is 1 to 5 ASCII digits, at most 65535. */
export function isPort(text: string): boolean {
  return /^[0-9]{1,5}$/.test(text) && Number(text) <= PORT_MAX;
}

/**
 * parseForwardedElement reads the `for=` node of one RFC 7239 element,
 * `pair *( ";" pair )`, scanning left to right:
 *   - optional whitespace around pairs is skipped and empty pairs allowed;
 *   - a pair is `name "=" value`: the name is the text before `=` (not
 *     empty), the value a quoted string (any characters but `"` and `\`) or
 *     a bare run of characters other than `;`, space and tab;
 *   - a pair must be followed by `;` or the end of the element.
 * Anything else, no `for` pair (names are case-insensitive) or two of them
 * (section 4: once per element), makes the element malformed. The node
 * (section 6) is `IPv4` or, quoted, `IPv4:port`, `"[IPv6]"` or
 * `"[IPv6]:port"`; section 4 makes ports, brackets and IPv6 need quotes, so
 * an unquoted value may only be plain IPv4. `unknown` and `_obfuscated`
 * names are malformed hops. DECISION: other parameters are not validated
 * beyond this structure; a backslash anywhere in a quoted value makes the
 * element malformed, since no valid node needs an escape.
 */
export function parseForwardedElement(element: string): Addr | null {
  let node: { value: string; isQuoted: boolean } | null = null;
  let i = 0;
  const isOws = (at: number) => element[at] === ' ' || element[at] === '\t';

  while (i < element.length) {
    while (isOws(i)) i++;
    if (i === element.length) break;
    if (element[i] === ';') {
      i++;
      continue;
    }

    // The name runs to "="; a ";" or the end first means no value.
    const nameEnd = indexOfAny(element, '=;', i);
    if (nameEnd === i || element[nameEnd] !== '=') return null;
    const name = element.slice(i, nameEnd);
    i = nameEnd + 1;

    // The value: a quoted string, or a bare run up to ";" or whitespace.
    let value: string;
    const isQuoted = element[i] === '"';
    if (isQuoted) {
      const close = element.indexOf('"', i + 1);
      if (close === -1) return null;
      value = element.slice(i + 1, close);
      if (value.includes('\\')) return null;
      i = close + 1;
    } else {
      const stop = indexOfAny(element, '; \t', i);
      value = element.slice(i, stop);
      i = stop;
    }
    while (isOws(i)) i++;
    if (i < element.length && element[i] !== ';') return null;

    if (!/^[fF][oO][rR]$/.test(name)) continue;
    if (node !== null) return null;
    node = { value, isQuoted };
  }
  if (node === null) return null;

  if (!node.isQuoted) {
    const v4 = parseIPv4(node.value);
    return v4 === null ? null : { family: 4, value: v4 };
  }
  if (node.value.startsWith('[')) return parseHop(node.value);
  const parts = node.value.split(':');
  if (parts.length > 2) return null;
  if (parts.length === 2 && !isPort(parts[1]!)) return null;
  const v4 = parseIPv4(parts[0]!);
  return v4 === null ? null : { family: 4, value: v4 };
}

/** indexOfAny returns the first index at or after `from` of any of `chars`. */
function indexOfAny(text: string, chars: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (chars.includes(text[i]!)) return i;
  }
  return text.length;
}
