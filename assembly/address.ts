// Strict address parsing. Only the forms every parser agrees on are
// addresses; anything a parser somewhere reads differently (127.1, 010.0.0.1,
// 0x7f.1) is not, because such disagreements are how allowlists get bypassed.

import { GROUPS } from './layout';

/** The upper 64 bits of the last parsed address (IPv4: value << 32). */
export let addrHi: u64 = 0;
/** The lower 64 bits of the last parsed address (IPv4: 0). */
export let addrLo: u64 = 0;

const MAPPED_TAG: u64 = 0xffff;

@inline
function digit(c: u32): u32 {
  return c - 0x30;
}

@inline
function hexDigit(c: u32): u32 {
  const d = c - 0x30;
  if (d <= 9) return d;
  const l = (c | 0x20) - 0x61;
  return l <= 5 ? l + 10 : 16;
}

/**
 * parseIPv4 reads exactly four decimal fields 0-255 separated by dots from
 * [p, end), with no leading zeros (RFC 6943 section 3.1.1 discusses why the
 * looser forms are ambiguous). Returns the value, or -1.
 */
export function parseIPv4(p: usize, end: usize): i64 {
  let value: u32 = 0;
  for (let field = 0; field < 4; field++) {
    if (field > 0) {
      if (p >= end || load<u8>(p) != 0x2e) return -1;
      p++;
    }
    if (p >= end) return -1;
    let n = digit(load<u8>(p));
    if (n > 9) return -1;
    p++;
    while (p < end) {
      const d = digit(load<u8>(p));
      if (d > 9) break;
      if (n == 0) return -1;
      n = n * 10 + d;
      if (n > 255) return -1;
      p++;
    }
    value = (value << 8) | n;
  }
  return p == end ? <i64>value : -1;
}

/**
 * parseIPv6 reads an RFC 4291 section 2.2 text address from [p, end): one to
 * four hex digits a group, at most one "::" standing for one or more zero
 * groups, and optionally a dotted IPv4 address as the last 32 bits. Sets
 * addrHi and addrLo and reports whether the text was an address.
 */
export function parseIPv6(p: usize, end: usize): bool {
  let n = 0;
  let gap = -1;

  // A leading colon is only allowed as part of "::".
  if (p < end && load<u8>(p) == 0x3a) {
    if (p + 1 >= end || load<u8>(p + 1) != 0x3a) return false;
    gap = 0;
    p += 2;
  }

  // Groups, each followed by ":" or "::" unless it ends the text.
  while (p < end) {
    const start = p;
    let value: u32 = 0;
    while (p < end) {
      const d = hexDigit(load<u8>(p));
      if (d > 15) break;
      if (p - start == 4) return false;
      value = (value << 4) | d;
      p++;
    }
    if (p < end && load<u8>(p) == 0x2e) {
      if (n > 6) return false;
      const v4 = parseIPv4(start, end);
      if (v4 < 0) return false;
      store<u16>(GROUPS + (<usize>n << 1), <u16>(v4 >> 16));
      store<u16>(GROUPS + (<usize>n << 1) + 2, <u16>v4);
      n += 2;
      p = end;
      break;
    }
    if (p == start || n == 8) return false;
    store<u16>(GROUPS + (<usize>n << 1), <u16>value);
    n++;
    if (p == end) break;
    if (load<u8>(p) != 0x3a) return false;
    p++;
    if (p < end && load<u8>(p) == 0x3a) {
      if (gap >= 0) return false;
      gap = n;
      p++;
    } else if (p == end) {
      return false;
    }
  }

  // Without "::" all eight groups are spelled; with it, at least one is not.
  if (gap < 0 ? n != 8 : n > 7) return false;
  const tail = gap < 0 ? 0 : n - gap;
  const head = gap < 0 ? 8 : gap;
  let hi: u64 = 0;
  let lo: u64 = 0;
  for (let i = 0; i < 8; i++) {
    let g: u64 = 0;
    if (i < head) g = <u64>load<u16>(GROUPS + (<usize>i << 1));
    else if (i >= 8 - tail) g = <u64>load<u16>(GROUPS + (<usize>(i - 8 + n) << 1));
    if (i < 4) hi = (hi << 16) | g;
    else lo = (lo << 16) | g;
  }
  addrHi = hi;
  addrLo = lo;
  return true;
}

/**
 * isZoneByte reports whether c may appear in an IPv6 zone id (RFC 4007
 * section 11): interface names and numbers, so letters, digits, "-", "_", ".".
 */
@inline
function isZoneByte(c: u32): bool {
  return digit(c) <= 9 || (c | 0x20) - 0x61 < 26 || c == 0x2d || c == 0x5f || c == 0x2e;
}

/**
 * parseAddress reads one address from [p, end): IPv4 dotted quad, or IPv6
 * with an optional "%zone" that is checked and then ignored. Returns 4 or 6,
 * the family as written (an IPv4-mapped IPv6 address is 6 here; see
 * isMapped), or 0 when the text is not an address. Sets addrHi and addrLo.
 */
export function parseAddress(p: usize, end: usize): i32 {
  // The family is decided by the first colon, before any zone.
  let colon = false;
  let zone = end;
  for (let q = p; q < end; q++) {
    const c = load<u8>(q);
    if (c == 0x3a) colon = true;
    else if (c == 0x25) {
      zone = q;
      break;
    }
  }

  if (!colon) {
    if (zone != end) return 0;
    const v4 = parseIPv4(p, end);
    if (v4 < 0) return 0;
    addrHi = <u64>v4 << 32;
    addrLo = 0;
    return 4;
  }

  if (zone != end) {
    if (zone + 1 == end) return 0;
    for (let q = zone + 1; q < end; q++) {
      if (!isZoneByte(load<u8>(q))) return 0;
    }
  }
  return parseIPv6(p, zone) ? 6 : 0;
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
 * lookup should use (4 or 6), or 0.
 */
@inline
export function parseClientAddress(p: usize, end: usize): i32 {
  const family = parseAddress(p, end);
  if (family == 6 && isMapped()) {
    unmap();
    return 4;
  }
  return family;
}
