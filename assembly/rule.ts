// Rules: the forms Python's ipaddress.ip_network(rule, strict=False) accepts
// (an address, address/length with host bits cleared, an IPv4 netmask or
// hostmask), plus inclusive ranges "first-last" split into prefixes.

import { addrHi, addrLo, isMapped, parseAddress, parseIPv4Exact, unmap } from './address';
import {
  ERR_ADDRESS,
  ERR_EMPTY,
  ERR_NETMASK,
  ERR_NETMASK_FAMILY,
  ERR_PREFIX_RANGE,
  ERR_PREFIX_SYNTAX,
  ERR_RANGE_FAMILY,
  ERR_RANGE_ORDER,
  OK,
} from './status';
import { stage } from './trie';

const ONES: u64 = 0xffffffffffffffff;

/** maskHi returns the upper 64 bits of a `bits`-long network mask. */
@inline
function maskHi(bits: i32): u64 {
  if (bits >= 64) return ONES;
  return bits == 0 ? 0 : ONES << <u64>(64 - bits);
}

/** maskLo returns the lower 64 bits of a `bits`-long network mask. */
@inline
function maskLo(bits: i32): u64 {
  if (bits <= 64) return 0;
  return bits == 128 ? ONES : ONES << <u64>(128 - bits);
}

/** stagePrefix stages the last parsed address as a prefix of `bits`. */
function stagePrefix(family: i32, bits: i32, value: u32): i32 {
  // RFC 4291 section 2.5.5.2: ::ffff:0:0/96 holds IPv4 addresses, so a
  // mapped rule at least that long is the IPv4 rule it spells.
  if (family == 6 && bits >= 96 && isMapped()) {
    unmap();
    family = 4;
    bits -= 96;
  }
  return stage(family == 6, addrHi & maskHi(bits), addrLo & maskLo(bits), bits, value);
}

/**
 * parseLength reads a decimal prefix length from [p, end): digits only,
 * leading zeros allowed as Python allows them. Returns it (capped at 999),
 * or -1.
 */
function parseLength(p: usize, end: usize): i32 {
  if (p == end) return -1;
  let n = 0;
  for (; p < end; p++) {
    const d = <u32>load<u8>(p) - 0x30;
    if (d > 9) return -1;
    n = min(n * 10 + <i32>d, 999);
  }
  return n;
}

/**
 * parseMask reads an IPv4 netmask (leading ones) or, failing that, a hostmask
 * (trailing ones), in that order as Python does, and returns its prefix
 * length; -1 when not dotted IPv4, -2 when the ones are not contiguous.
 */
function parseMask(p: usize, end: usize): i32 {
  const v = parseIPv4Exact(p, end);
  if (v < 0) return -1;
  const mask = <u32>v;
  const inverse = ~mask;
  if ((inverse & (inverse + 1)) == 0) return <i32>popcnt(mask);
  if ((mask & (mask + 1)) == 0) return 32 - <i32>popcnt(mask);
  return -2;
}

/** stageCidr handles "address/length", "address/netmask" and "address". */
function stageCidr(p: usize, slash: usize, end: usize, value: u32): i32 {
  const family = parseAddress(p, slash);
  if (family == 0) return ERR_ADDRESS;
  const max = family == 4 ? 32 : 128;
  if (slash == end) return stagePrefix(family, max, value);

  let bits = parseLength(slash + 1, end);
  if (bits < 0) {
    if (family == 6) return parseIPv4Exact(slash + 1, end) < 0 ? ERR_PREFIX_SYNTAX : ERR_NETMASK_FAMILY;
    // parseMask clobbers nothing: parseIPv4 leaves addrHi and addrLo alone.
    bits = parseMask(slash + 1, end);
    if (bits == -1) return ERR_PREFIX_SYNTAX;
    if (bits == -2) return ERR_NETMASK;
  }
  if (bits > max) return ERR_PREFIX_RANGE;
  return stagePrefix(family, bits, value);
}

/**
 * stageRange splits the inclusive range [first, last] into the fewest
 * prefixes that cover it exactly: at each step the longest block that starts
 * at `first`, is aligned to its own size and does not pass `last`.
 */
function stageRange(p: usize, dash: usize, end: usize, value: u32): i32 {
  let family = parseAddress(p, dash);
  if (family == 0) return ERR_ADDRESS;
  if (family == 6 && isMapped()) {
    unmap();
    family = 4;
  }
  let hi = addrHi;
  let lo = addrLo;

  let lastFamily = parseAddress(dash + 1, end);
  if (lastFamily == 0) return ERR_ADDRESS;
  if (lastFamily == 6 && isMapped()) {
    unmap();
    lastFamily = 4;
  }
  if (family != lastFamily) return ERR_RANGE_FAMILY;
  const endHi = addrHi;
  const endLo = addrLo;
  if (hi > endHi || (hi == endHi && lo > endLo)) return ERR_RANGE_ORDER;

  const width = family == 4 ? 32 : 128;
  while (true) {
    // The shortest prefix allowed by the alignment of the start...
    let bits = lo != 0 ? 128 - <i32>ctz(lo) : hi != 0 ? 64 - <i32>ctz(hi) : 0;
    // ...made longer until its last address is within the range.
    let blockHi: u64 = 0;
    let blockLo: u64 = 0;
    while (true) {
      blockHi = hi | ~maskHi(bits);
      blockLo = lo | ~maskLo(bits);
      if (family == 4) {
        blockHi &= ONES << 32;
        blockLo = 0;
      }
      if (bits >= width || blockHi < endHi || (blockHi == endHi && blockLo <= endLo)) break;
      bits++;
    }
    const status = stage(family == 6, hi, lo, bits, value);
    if (status != OK) return status;
    if (blockHi == endHi && blockLo == endLo) return OK;

    // The next block starts right after this one.
    if (family == 4) {
      hi = blockHi + (<u64>1 << 32);
    } else {
      lo = blockLo + 1;
      hi = lo == 0 ? blockHi + 1 : blockHi;
    }
  }
}

/**
 * addRule parses the rule text in [p, p + len) and stages its prefixes with
 * `value`. Returns OK or a status from status.ts.
 */
export function addRule(p: usize, len: usize, value: u32): i32 {
  if (len == 0) return ERR_EMPTY;
  const end = p + len;
  let slash = end;
  for (let q = p; q < end; q++) {
    if (load<u8>(q) == 0x2f) {
      slash = q;
      break;
    }
  }
  if (slash != end || parseAddress(p, end) != 0) return stageCidr(p, slash, end, value);

  // A zone id may hold a dash too, so a range is split at the first dash
  // with an address on either side.
  for (let dash = p; dash < end; dash++) {
    if (load<u8>(dash) != 0x2d) continue;
    if (parseAddress(p, dash) != 0 && parseAddress(dash + 1, end) != 0) {
      return stageRange(p, dash, end, value);
    }
  }
  return ERR_ADDRESS;
}
