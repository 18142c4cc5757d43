// Strict address parsing. Only the forms every parser agrees on are
// addresses; anything a parser somewhere reads differently (127.1, 010.0.0.1,
// 0x7f.1) is not, because such disagreements are how allowlists get bypassed.

import { fastHi, fastIPv6, fastLo, joinAtGap } from './fast';

/** The upper 64 bits of the last parsed address (IPv4: value << 32). */
export let addrHi: u64 = 0;
/** The lower 64 bits of the last parsed address (IPv4: 0). */
export let addrLo: u64 = 0;
/** Whether parseClientAddress unwrapped the last address from IPv4-mapped text. */
export let wasMapped: bool = false;

// Where the last parseIPv4 stopped reading.
let ipv4Stop: usize = 0;

/** ipv4End returns where the last parseIPv4 stopped reading. */
@inline
export function ipv4End(): usize {
  return ipv4Stop;
}

/** setAddress replaces the last parsed address with one not IPv4-mapped. */
@inline
export function setAddress(hi: u64, lo: u64): void {
  setParsed(hi, lo, false);
}

/** setParsed replaces the last parsed address and whether its text was IPv4-mapped. */
@inline
export function setParsed(hi: u64, lo: u64, mapped: bool): void {
  addrHi = hi;
  addrLo = lo;
  wasMapped = mapped;
}

const MAPPED_TAG: u64 = 0xffff;
// "::ffff:" read as a little-endian u64, its letters lower-cased by MAPPED_CASE.
const MAPPED_PREFIX: u64 = 0x3a666666663a3a;
const MAPPED_MASK: u64 = 0xffffffffffffff;
const MAPPED_CASE: u64 = 0x202020200000;
const NOT_HEX: u32 = 0xff;

// The value of each byte as a hex digit, or NOT_HEX: one load instead of a
// chain of range checks that random digits would mispredict.
const HEX: usize = memory.data<u8>([
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 255, 255, 255, 255, 255,
  255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
]);

@inline
function hexValue(c: u32): u32 {
  return <u32>load<u8>(HEX + c);
}

/**
 * parseIPv4 reads four decimal fields 0-255 separated by dots from [p, end),
 * with no leading zeros (RFC 6943 section 3.1.1 explains why the looser forms
 * are ambiguous), stopping after the fourth field; ipv4End says where. Returns
 * the value, or -1.
 */
export function parseIPv4(p: usize, end: usize): i64 {
  let value: u32 = 0;
  for (let field = 0; field < 4; field++) {
    if (field > 0) {
      if (p >= end || load<u8>(p) != 0x2e) return -1;
      p++;
    }
    if (p >= end) return -1;
    let n = <u32>load<u8>(p) - 0x30;
    if (n > 9) return -1;
    p++;
    while (p < end) {
      const d = <u32>load<u8>(p) - 0x30;
      if (d > 9) break;
      if (n == 0) return -1;
      n = n * 10 + d;
      if (n > 255) return -1;
      p++;
    }
    value = (value << 8) | n;
  }
  ipv4Stop = p;
  return <i64>value;
}

/** parseIPv4Exact is parseIPv4 that must consume all of [p, end). */
export function parseIPv4Exact(p: usize, end: usize): i64 {
  const value = parseIPv4(p, end);
  return value >= 0 && ipv4Stop == end ? value : -1;
}

/**
 * isZone reports whether [p, end) is a non-empty zone id (RFC 4007 section
 * 11): interface names and numbers, so letters, digits, "-", "_" and ".".
 */
function isZone(p: usize, end: usize): bool {
  if (p >= end) return false;
  for (; p < end; p++) {
    const c = <u32>load<u8>(p);
    const ok = c - 0x30 <= 9 || (c | 0x20) - 0x61 < 26 || c == 0x2d || c == 0x5f || c == 0x2e;
    if (!ok) return false;
  }
  return true;
}

/**
 * parseIPv6 reads an RFC 4291 section 2.2 text address from [p, end): one to
 * four hex digits a group, at most one "::" standing for one or more zero
 * groups, optionally a dotted IPv4 address as the last 32 bits, and
 * optionally "%zone", checked and then ignored. Sets addrHi and addrLo and
 * reports whether the text was an address.
 *
 * Groups are shifted into a 128-bit register as they come; at "::" the
 * register is set aside as the head and restarted for the tail, and the two
 * are joined at the end with the gap between them.
 */
export function parseIPv6(p: usize, end: usize): bool {
  let hi: u64 = 0;
  let lo: u64 = 0;
  let headHi: u64 = 0;
  let headLo: u64 = 0;
  let n = 0;
  let gap = -1;

  // A leading colon is only allowed as part of "::".
  if (p < end && load<u8>(p) == 0x3a) {
    if (p + 1 >= end || load<u8>(p + 1) != 0x3a) return false;
    gap = 0;
    p += 2;
    if (p < end && load<u8>(p) == 0x25) {
      if (!isZone(p + 1, end)) return false;
      p = end;
    }
  }

  // Groups, each followed by ":", "::", "%zone" or the end.
  while (p < end) {
    const start = p;
    let value: u64 = 0;
    while (p < end) {
      const d = hexValue(load<u8>(p));
      if (d == NOT_HEX) break;
      value = (value << 4) | <u64>d;
      p++;
    }
    if (p < end && load<u8>(p) == 0x2e) {
      if (n > 6) return false;
      const v4 = parseIPv4(start, end);
      if (v4 < 0) return false;
      hi = (hi << 32) | (lo >> 32);
      lo = (lo << 32) | <u64>v4;
      n += 2;
      p = ipv4Stop;
      if (p != end && (load<u8>(p) != 0x25 || !isZone(p + 1, end))) return false;
      break;
    }
    const digits = p - start;
    if (digits == 0 || digits > 4 || n == 8) return false;
    hi = (hi << 16) | (lo >> 48);
    lo = (lo << 16) | value;
    n++;
    if (p == end) break;
    const c = load<u8>(p);
    if (c == 0x25) {
      if (!isZone(p + 1, end)) return false;
      break;
    }
    if (c != 0x3a) return false;
    p++;
    if (p < end && load<u8>(p) == 0x3a) {
      if (gap >= 0) return false;
      gap = n;
      headHi = hi;
      headLo = lo;
      hi = 0;
      lo = 0;
      p++;
      if (p < end && load<u8>(p) == 0x25) {
        if (!isZone(p + 1, end)) return false;
        break;
      }
    } else if (p == end) {
      return false;
    }
  }

  // Without "::" all eight groups are spelled; with it, at least one is not.
  if (gap < 0) {
    if (n != 8) return false;
    addrHi = hi;
    addrLo = lo;
    return true;
  }
  if (n > 7) return false;
  joinAtGap(headHi, headLo, gap, hi, lo);
  addrHi = fastHi;
  addrLo = fastLo;
  return true;
}

/**
 * parseAddress reads one address from [p, end): an IPv4 dotted quad, or IPv6
 * with an optional zone. The first byte that is not a hex digit decides the
 * family: "." for IPv4, ":" for IPv6. Returns 4 or 6, the family as written
 * (an IPv4-mapped IPv6 address is 6 here; see isMapped), or 0 when the text
 * is not an address. Sets addrHi and addrLo.
 */
export function parseAddress(p: usize, end: usize): i32 {
  let q = p;
  while (q < end && hexValue(load<u8>(q)) != NOT_HEX) q++;
  if (q == end) return 0;
  const c = load<u8>(q);
  if (c == 0x3a) {
    // The mapped form a dual-stack socket reports, "::ffff:" and a dotted quad.
    if (end - p > 7 && ((load<u64>(p) | MAPPED_CASE) & MAPPED_MASK) == MAPPED_PREFIX) {
      const v4 = parseIPv4Exact(p + 7, end);
      if (v4 >= 0) {
        addrHi = 0;
        addrLo = (MAPPED_TAG << 32) | <u64>v4;
        return 6;
      }
    }
    if (fastIPv6(p, end)) {
      addrHi = fastHi;
      addrLo = fastLo;
      return 6;
    }
    return parseIPv6(p, end) ? 6 : 0;
  }
  if (c != 0x2e) return 0;
  const v4 = parseIPv4Exact(p, end);
  if (v4 < 0) return 0;
  addrHi = <u64>v4 << 32;
  addrLo = 0;
  return 4;
}

/**
 * isMapped reports whether the last parsed IPv6 address is IPv4-mapped,
 * ::ffff:0:0/96 (RFC 4291 section 2.5.5.2).
 */
@inline
export function isMapped(): bool {
  return addrHi == 0 && addrLo >> 32 == MAPPED_TAG;
}

/** unmap turns the last parsed IPv4-mapped address into its IPv4 form. */
@inline
export function unmap(): void {
  addrHi = addrLo << 32;
  addrLo = 0;
}

/**
 * parseClientAddress is parseAddress followed by unmapping: the family a
 * lookup should use (4 or 6), or 0. Sets wasMapped.
 */
@inline
export function parseClientAddress(p: usize, end: usize): i32 {
  const family = parseAddress(p, end);
  wasMapped = family == 6 && isMapped();
  if (wasMapped) {
    unmap();
    return 4;
  }
  return family;
}

/**
 * formatAddress writes (hi, lo) of `family` at `out` as RFC 5952 text: a
 * dotted quad for 4; for 6, lower-case hex groups without leading zeros and
 * the longest run of two or more zero groups (the first of equals) written
 * "::" (section 4.2). Returns the length, at most 39.
 */
export function formatAddress(family: i32, hi: u64, lo: u64, out: usize): i32 {
  let p = out;
  if (family == 4) {
    const v = <u32>(hi >> 32);
    for (let shift = 24; shift >= 0; shift -= 8) {
      p = writeDecimal(p, (v >> <u32>shift) & 255);
      if (shift > 0) store<u8>(p++, 0x2e);
    }
    return <i32>(p - out);
  }

  // The longest run of zero groups, if it is at least two long.
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let i = 0; i < 9; i++) {
    const isZero = i < 8 && groupAt(hi, lo, i) == 0;
    if (isZero && runStart < 0) runStart = i;
    if (!isZero && runStart >= 0) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }

  for (let i = 0; i < 8; i++) {
    if (i == bestStart) {
      store<u8>(p++, 0x3a);
      if (i == 0) store<u8>(p++, 0x3a);
      i += bestLength - 1;
      continue;
    }
    p = writeHex(p, groupAt(hi, lo, i));
    if (i < 7) store<u8>(p++, 0x3a);
  }
  return <i32>(p - out);
}

@inline
function groupAt(hi: u64, lo: u64, i: i32): u32 {
  const word = i < 4 ? hi : lo;
  return <u32>((word >> <u64>(48 - 16 * (i & 3))) & 0xffff);
}

function writeDecimal(p: usize, n: u32): usize {
  if (n >= 100) store<u8>(p++, 0x30 + n / 100);
  if (n >= 10) store<u8>(p++, 0x30 + (n / 10) % 10);
  store<u8>(p++, 0x30 + n % 10);
  return p;
}

function writeHex(p: usize, n: u32): usize {
  let shift = 12;
  while (shift > 0 && n >> <u32>shift == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) {
    const d = (n >> <u32>shift) & 15;
    store<u8>(p++, d < 10 ? 0x30 + d : 0x57 + d);
  }
  return p;
}
