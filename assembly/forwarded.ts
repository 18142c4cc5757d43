// Walking a forwarding header from the nearest hop outwards. Every entry left
// of the nearest proxy's own can be written by the client, so the walk starts
// at the socket's peer, steps left only past trusted proxies, and stops at the
// first hop it cannot trust. A malformed hop that the walk reaches ends it
// with no client address: guessing past it would let a client pick its own.

import {
  addrHi,
  addrLo,
  ipv4End,
  parseAddress,
  parseClientAddress,
  parseIPv4,
  setAddress,
  setParsed,
  wasMapped,
} from './address';
import { PAGE, RESULT_VALUE } from './layout';
import { report } from './result';
import { attachments, find, findClient } from './trie';

/** Flags for `walk`. */
export const TRUST_ALL: i32 = 1;
export const FORWARDED: i32 = 2;

/** Reasons `walk` returns; src/proxy-trust.ts names them. */
export const REASON_PEER: i32 = 1;
export const REASON_FORWARDED: i32 = 2;
export const REASON_ALL_TRUSTED: i32 = 3;
export const REASON_NO_PEER: i32 = 4;
export const REASON_MALFORMED: i32 = 5;
export const REASON_TOO_MANY_HOPS: i32 = 6;

// The hop found by the last parse: its family and address text.
let hopFamily: i32 = 0;
let hopStart: usize = 0;
let hopEnd: usize = 0;

@inline
function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09;
}

/**
 * parsePort accepts 1 to 5 digits up to 65535 in [p, end) (RFC 3986 section
 * 3.2.3 allows more digits; no real port needs them).
 */
function parsePort(p: usize, end: usize): bool {
  if (p == end || end - p > 5) return false;
  let n: u32 = 0;
  for (; p < end; p++) {
    const d = <u32>load<u8>(p) - 0x30;
    if (d > 9) return false;
    n = n * 10 + d;
  }
  return n <= 65535;
}

/**
 * parseNode reads a hop's address from [p, end): "address", "ipv4:port",
 * "[ipv6]" or "[ipv6]:port". `bareIPv6` allows an IPv6 address without
 * brackets (X-Forwarded-For); `decorated` allows brackets and ports at all
 * (false for an unquoted RFC 7239 value, where ":" and "[" are not token
 * characters). Sets hopFamily, hopStart and hopEnd; false when the text is
 * none of these.
 */
function parseNode(p: usize, end: usize, bareIPv6: bool, decorated: bool): bool {
  if (p == end) return false;

  // Brackets hold an IPv6 address, optionally followed by a port.
  if (load<u8>(p) == 0x5b) {
    if (!decorated) return false;
    let close = p + 1;
    while (close < end && load<u8>(close) != 0x5d) close++;
    if (close == end) return false;
    if (close + 1 != end) {
      if (load<u8>(close + 1) != 0x3a) return false;
      if (!parsePort(close + 2, end)) return false;
    }
    if (parseAddress(p + 1, close) != 6) return false;
    return found(p + 1, close);
  }

  // Without brackets: IPv4 with an optional port, read in one pass as the
  // common case, or else a bare IPv6 address.
  const v4 = parseIPv4(p, end);
  if (v4 >= 0) {
    const stop = ipv4End();
    if (stop != end && (!decorated || load<u8>(stop) != 0x3a || !parsePort(stop + 1, end))) {
      return false;
    }
    setAddress(<u64>v4 << 32, 0);
    hopFamily = 4;
    hopStart = p;
    hopEnd = stop;
    return true;
  }
  if (!bareIPv6) return false;
  return found(p, end);
}

/** found parses the address in [p, end) for the walk and records it. */
function found(p: usize, end: usize): bool {
  hopFamily = parseClientAddress(p, end);
  hopStart = p;
  hopEnd = end;
  return hopFamily != 0;
}

/**
 * parseForwardedElement finds the `for` parameter of one RFC 7239 element in
 * [p, end) and parses its node. Pairs are `token=value` separated by ";",
 * values tokens or quoted strings; an element without exactly one `for`, or
 * whose `for` is `unknown` or an obfuscated identifier, is malformed.
 */
function parseForwardedElement(p: usize, end: usize): bool {
  let valueStart: usize = 0;
  let valueEnd: usize = 0;
  let quoted = false;
  let seen = false;

  while (p < end) {
    // One pair: trim, then "name=value".
    while (p < end && isSpace(load<u8>(p))) p++;
    if (p == end) break;
    if (load<u8>(p) == 0x3b) {
      p++;
      continue;
    }
    const nameStart = p;
    while (p < end && load<u8>(p) != 0x3d && load<u8>(p) != 0x3b) p++;
    if (p == end || load<u8>(p) != 0x3d || p == nameStart) return false;
    const isFor =
      p - nameStart == 3 &&
      (load<u8>(nameStart) | 0x20) == 0x66 &&
      (load<u8>(nameStart + 1) | 0x20) == 0x6f &&
      (load<u8>(nameStart + 2) | 0x20) == 0x72;
    p++;

    let start = p;
    let stop = p;
    let isQuoted = false;
    if (p < end && load<u8>(p) == 0x22) {
      // RFC 7230 section 3.2.6: a quoted string; a backslash escape can never
      // be part of an address, so one makes the element malformed.
      start = p + 1;
      p = start;
      while (p < end && load<u8>(p) != 0x22) {
        if (load<u8>(p) == 0x5c) return false;
        p++;
      }
      if (p == end) return false;
      stop = p;
      p++;
      isQuoted = true;
    } else {
      while (p < end && load<u8>(p) != 0x3b && !isSpace(load<u8>(p))) p++;
      stop = p;
    }
    while (p < end && isSpace(load<u8>(p))) p++;
    if (p < end && load<u8>(p) != 0x3b) return false;

    if (isFor) {
      if (seen) return false;
      seen = true;
      valueStart = start;
      valueEnd = stop;
      quoted = isQuoted;
    }
  }
  if (!seen) return false;
  return parseNode(valueStart, valueEnd, false, quoted);
}

// The entry found by the last previousEntry, trimmed.
let entryStart: usize = 0;
let entryEnd: usize = 0;

/**
 * lastComma returns the offset of the last comma in [base, end), or base - 1
 * when there is none, reading 16 bytes a step.
 */
function lastComma(base: usize, end: usize): isize {
  let q = end;
  while (q - base >= 16) {
    const commas = <u32>i8x16.bitmask(i8x16.eq(v128.load(q - 16), i8x16.splat(0x2c)));
    if (commas != 0) return <isize>(q - 1 - clz(commas << 16));
    q -= 16;
  }
  while (q > base) {
    q--;
    if (load<u8>(q) == 0x2c) return <isize>q;
  }
  return <isize>base - 1;
}

/**
 * previousEntry finds the entry that ends before `end` in [base, end): the
 * text after the last separating comma, trimmed. For RFC 7239 a comma inside
 * a quoted string does not separate, so quotes are matched from the right,
 * which keeps a malformed element from spoiling those to its right. Sets
 * entryStart and entryEnd and returns the offset of the separating comma
 * (or base - 1 when none is left).
 */
function previousEntry(base: usize, end: usize, quotes: bool): isize {
  let q: isize;
  if (quotes) {
    q = <isize>end - 1;
    let inQuote = false;
    while (q >= <isize>base) {
      const c = load<u8>(<usize>q);
      if (c == 0x22) inQuote = !inQuote;
      else if (c == 0x2c && !inQuote) break;
      q--;
    }
  } else {
    q = lastComma(base, end);
  }
  let s = <usize>(q + 1);
  let e = end;
  while (s < e && isSpace(load<u8>(s))) s++;
  while (e > s && isSpace(load<u8>(e - 1))) e--;
  entryStart = s;
  entryEnd = e;
  return q;
}

// The last peer a walk parsed: behind a proxy every request comes from the
// same few peers, so a walk from the peer before need not parse it and look
// it up again. Its text (when at most PEER_TEXT_MAX bytes), its address,
// whether it was IPv4-mapped, and the trusted set's value for it, valid
// while `attachments` is unchanged. Only a peer written in the first page,
// in SCRATCH as JavaScript puts it, is kept: it is read 16 bytes at a time.
const PEER_TEXT_MAX: usize = 48;
const PEER_TEXT: usize = memory.data(<i32>PEER_TEXT_MAX, 16);
let peerTextLength: usize = 0;
let peerCachedFamily: i32 = 0;
let peerCachedHi: u64 = 0;
let peerCachedLo: u64 = 0;
let peerCachedMapped: bool = false;
let peerCachedTrust: u32 = 0;
let peerAttachments: u32 = 0;
// The trusted set's value for the peer of the walk under way.
let peerTrust: u32 = 0;

/**
 * parsePeer parses the peer at [p, p + n) as parseClientAddress does and
 * sets peerTrust, reusing the last peer's answers when the text is the
 * same. Returns the family, or 0 when the peer is not an address.
 */
function parsePeer(p: usize, n: usize): i32 {
  if (n == peerTextLength && n != 0 && peerAttachments == attachments && isCachedPeer(p, n)) {
    setParsed(peerCachedHi, peerCachedLo, peerCachedMapped);
    peerTrust = peerCachedTrust;
    return peerCachedFamily;
  }
  const family = parseClientAddress(p, p + n);
  if (family == 0) return 0;
  peerTrust = find(family);
  if (n <= PEER_TEXT_MAX && p + PEER_TEXT_MAX <= PAGE) {
    keepText(PEER_TEXT, p);
    peerTextLength = n;
    peerCachedFamily = family;
    peerCachedHi = addrHi;
    peerCachedLo = addrLo;
    peerCachedMapped = wasMapped;
    peerCachedTrust = peerTrust;
    peerAttachments = attachments;
  }
  return family;
}

/**
 * isCachedPeer reports whether the n bytes at p (n at most PEER_TEXT_MAX)
 * are the cached peer's text.
 */
function isCachedPeer(p: usize, n: usize): bool {
  return p + PEER_TEXT_MAX <= PAGE && isSameText(p, PEER_TEXT, n);
}

/**
 * keepText copies the 48 bytes at p (at least 48 bytes before the end of
 * the first page) to `text`: three 16-byte moves, whatever the text's length.
 */
@inline
function keepText(text: usize, p: usize): void {
  v128.store(text, v128.load(p));
  v128.store(text, v128.load(p, 16), 16);
  v128.store(text, v128.load(p, 32), 32);
}

/**
 * isSameText reports whether the n bytes at p (n at most 48, and p at
 * least 48 bytes before the end of the first page) are those at `text`.
 */
@inline
function isSameText(p: usize, text: usize, n: usize): bool {
  const same =
    <u64>(<u32>i8x16.bitmask(i8x16.eq(v128.load(p), v128.load(text)))) |
    (<u64>(<u32>i8x16.bitmask(i8x16.eq(v128.load(p, 16), v128.load(text, 16)))) << 16) |
    (<u64>(<u32>i8x16.bitmask(i8x16.eq(v128.load(p, 32), v128.load(text, 32)))) << 32);
  const all = (<u64>1 << <u64>n) - 1;
  return (same & all) == all;
}

// The trusted tail of the last X-Forwarded-For header walked: its text from
// the comma left of a trusted hop to the header's end (at most TAIL_TEXT_MAX
// bytes), and how many entries it holds, valid while `attachments` is
// unchanged. Behind a fixed chain of proxies every header ends the same way,
// so a walk whose header ends in this text starts left of it: those hops
// were all parsed and trusted before, and would be again. The hop limit
// needs no check: a walk under a lower one stops at the entry left of the
// tail, as it would inside it. Like the peer, only a tail in the first page
// is kept.
const TAIL_TEXT_MAX: usize = 48;
const TAIL_TEXT: usize = memory.data(<i32>TAIL_TEXT_MAX, 16);
let tailLength: usize = 0;
let tailHops: i32 = 0;
let tailAttachments: u32 = 0;

/**
 * tailEnd returns where the walk of the header ending at `end` may start:
 * left of the cached tail when the header ends in it, else `end`.
 */
function tailEnd(header: usize, end: usize): usize {
  if (tailLength == 0 || tailAttachments != attachments) return end;
  if (end - header <= tailLength) return end;
  const at = end - tailLength;
  if (at + TAIL_TEXT_MAX > PAGE || !isSameText(at, TAIL_TEXT, tailLength)) return end;
  return at;
}

/**
 * keepTail remembers the header's text from `comma` to `end` (at most
 * TAIL_TEXT_MAX bytes) as the cached tail of `hops` trusted entries, when
 * it lies in the first page.
 */
function keepTail(comma: usize, end: usize, hops: i32): void {
  if (comma + TAIL_TEXT_MAX > PAGE) return;
  keepText(TAIL_TEXT, comma);
  tailLength = end - comma;
  tailHops = hops;
  tailAttachments = attachments;
}

/**
 * walk finds the client address for a request whose socket peer is the text
 * at [peer, peer + peerLength) and whose forwarding header (all lines joined
 * with commas) is at [header, header + headerLength). `flags` holds TRUST_ALL
 * and FORWARDED (RFC 7239 syntax instead of X-Forwarded-For); trusted proxies
 * are the attached set. At most `maxHops` header entries are examined.
 * Returns a REASON_* code; for PEER, FORWARDED and ALL_TRUSTED the chosen
 * address is in RESULT (start and end are offsets into memory), with its
 * canonical text and its value in the client set.
 */
export function walk(
  peer: usize,
  peerLength: usize,
  header: usize,
  headerLength: usize,
  flags: i32,
  maxHops: i32,
): i32 {
  const trustAll = (flags & TRUST_ALL) != 0;
  const forwarded = (flags & FORWARDED) != 0;

  const peerFamily = parsePeer(peer, peerLength);
  if (peerFamily == 0) return REASON_NO_PEER;
  if (!trustAll && peerTrust == 0) {
    return chosen(REASON_PEER, peerFamily, peer, peer + peerLength, 0);
  }

  // Behind the proxies of the last request, start left of the hops it
  // trusted. With nothing left of that tail its leftmost hop is the one
  // chosen, and the walk goes over the whole header instead.
  // NOTE: a loop, not two calls, so that walkHops has one call site and
  // stays inlined.
  const headerEnd = header + headerLength;
  let end = !trustAll && !forwarded ? tailEnd(header, headerEnd) : headerEnd;
  while (true) {
    const passed = end == headerEnd ? 0 : tailHops;
    const reason = walkHops(header, end, headerEnd, passed, flags, maxHops);
    if (reason != NO_HOP) return reason;
    if (end == headerEnd) return chosen(REASON_PEER, peerFamily, peer, peer + peerLength, 0);
    end = headerEnd;
  }
}

// walkHops returns NO_HOP when it found no entry to read.
const NO_HOP: i32 = 0;

/**
 * walkHops walks the entries of the header [header, headerEnd) that lie
 * left of `end`, counting from `hop` entries already passed, as `walk`
 * describes. Returns a REASON_* code, or NO_HOP when no entry was left.
 * An X-Forwarded-For walk without TRUST_ALL renews the cached tail.
 */
@inline
function walkHops(
  header: usize,
  end: usize,
  headerEnd: usize,
  hop: i32,
  flags: i32,
  maxHops: i32,
): i32 {
  const trustAll = (flags & TRUST_ALL) != 0;
  const forwarded = (flags & FORWARDED) != 0;
  const isCaching = !trustAll && !forwarded;

  // The hop last parsed is the one chosen when every hop is trusted.
  const passed = hop;
  let family = 0;
  let start: usize = 0;
  let stop: usize = 0;
  // The comma that starts the longest trusted tail seen that fits the cache.
  let tailComma: isize = -1;
  let tailCount = 0;
  let reason = NO_HOP;
  while (<isize>end > <isize>header) {
    const comma = previousEntry(header, end, forwarded);
    end = comma < <isize>header ? header : <usize>comma;
    if (entryStart == entryEnd) continue;

    hop++;
    if (hop > maxHops) {
      reason = REASON_TOO_MANY_HOPS;
      break;
    }
    const ok = forwarded
      ? parseForwardedElement(entryStart, entryEnd)
      : parseNode(entryStart, entryEnd, true, true);
    if (!ok) {
      reason = REASON_MALFORMED;
      break;
    }
    family = hopFamily;
    start = hopStart;
    stop = hopEnd;
    if (!trustAll && find(family) == 0) {
      reason = chosen(REASON_FORWARDED, family, start, stop, hop);
      break;
    }
    if (isCaching && comma >= <isize>header && headerEnd - <usize>comma <= TAIL_TEXT_MAX) {
      tailComma = comma;
      tailCount = hop;
    }
  }
  if (tailComma >= 0) keepTail(<usize>tailComma, headerEnd, tailCount);
  if (reason != NO_HOP || hop == passed) return reason;
  return chosen(REASON_ALL_TRUSTED, family, start, stop, hop);
}

/**
 * chosen reports the address the walk settled on, and what the client set
 * gives it, and returns `reason`.
 */
function chosen(reason: i32, family: i32, start: usize, end: usize, hop: i32): i32 {
  report(family, start, end, hop);
  store<u32>(RESULT_VALUE, findClient(family));
  return reason;
}
