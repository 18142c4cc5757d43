// The fast path of IPv6 parsing: SIMD character classes and bit tricks
// instead of a branch per character. It takes only text it is sure is a
// well-formed address of hex groups with at most one "::" (no dotted tail,
// no zone); for anything else, malformed text included, it declines and the
// strict parser in address.ts decides. So it can make parsing faster but
// never change an answer.
//
// A digit-by-digit parser mispredicts the end of almost every group of a
// random address. Here the groups' bounds come from a bit mask of the
// colons, and the commonest form, all eight groups spelled out, is read
// without a data-dependent branch.

/** FAST_MAX is the longest text the fast path reads: three 16-byte loads. */
export const FAST_MAX: usize = 48;

// FAST_LAST is the highest start - 4 of text the fast path takes. It reads 4
// bytes before the text and FAST_MAX from its start, all within the first
// page, which every instance has and none gives back; text further up
// (a header too long for SCRATCH) goes the strict parser's way.
const FAST_LAST: usize = 65536 - FAST_MAX - 4;

/** The upper and lower 64 bits of the address fastIPv6 last read. */
export let fastHi: u64 = 0;
export let fastLo: u64 = 0;

/** bits returns one bit per byte of a comparison, bit i for byte i. */
@inline
function bits(is: v128): u64 {
  return <u64>(<u32>i8x16.bitmask(is));
}

/** isHex marks the bytes of `v` that are hex digits, in either case. */
@inline
function isHex(v: v128): v128 {
  // x <u k as min(x, k - 1) == x: SSE has no unsigned byte compare.
  const digit = i8x16.sub(v, i8x16.splat(0x30));
  const letter = i8x16.sub(v128.or(v, i8x16.splat(0x20)), i8x16.splat(0x61));
  return v128.or(
    i8x16.eq(i8x16.min_u(digit, i8x16.splat(9)), digit),
    i8x16.eq(i8x16.min_u(letter, i8x16.splat(5)), letter),
  );
}

/** isLowerHex marks the bytes of `v` that are digits or a-f. */
@inline
function isLowerHex(v: v128): v128 {
  const digit = i8x16.sub(v, i8x16.splat(0x30));
  const letter = i8x16.sub(v, i8x16.splat(0x61));
  return v128.or(
    i8x16.eq(i8x16.min_u(digit, i8x16.splat(9)), digit),
    i8x16.eq(i8x16.min_u(letter, i8x16.splat(5)), letter),
  );
}

/** below returns the bits below bit n (n at most 63). */
@inline
function below(n: usize): u64 {
  return (<u64>1 << <u64>n) - 1;
}

/**
 * hexGroup returns the value of the `length` hex digits that end at e. The
 * caller has checked that they are hex digits and rejects a length outside
 * 1-4 itself; the 4 bytes before e must be in memory.
 */
@inline
function hexGroup(e: usize, length: usize): u64 {
  const x = load<u32>(e - 4);
  // Each byte to its digit value: the low nibble, plus 9 for a letter (bit 6).
  const nibbles = (x & 0x0f0f0f0f) + ((x >> 6) & 0x01010101) * 9;
  // Keep the last `length` bytes; the first of them is the most significant.
  const t = nibbles & <u32>(<u64>0xffffffff << ((<u64>(32 - 8 * length)) & 63));
  return <u64>(((t & 0xf) << 12) | (t & 0xf00) | ((t >> 12) & 0xf0) | (t >> 24));
}

// What the last readGroups read: the groups as a 128-bit register, the
// last group in the lowest 16 bits; how many; whether one was empty or
// longer than four digits.
let groupHi: u64 = 0;
let groupLo: u64 = 0;
let groupCount: i32 = 0;
let groupsBad: bool = false;

/**
 * readGroups reads [s, e) as hex groups separated by single colons, the
 * colons being the bits of `marks` counted from `base`.
 */
@inline
function readGroups(base: usize, s: usize, e: usize, marks: u64): void {
  let hi: u64 = 0;
  let lo: u64 = 0;
  let count = 0;
  let lengths: usize = 0;
  let start = s;
  while (true) {
    const stop = marks != 0 ? base + <usize>ctz(marks) : e;
    const length = stop - start;
    lengths |= length - 1;
    hi = (hi << 16) | (lo >> 48);
    lo = (lo << 16) | hexGroup(stop, length);
    count++;
    if (marks == 0) break;
    marks &= marks - 1;
    start = stop + 1;
  }
  groupHi = hi;
  groupLo = lo;
  groupCount = count;
  // Every length - 1 is at most 3 exactly when their bitwise or is.
  groupsBad = lengths > 3;
}

/**
 * fastIPv6 reads [p, end) as an IPv6 address of hex groups, setting fastHi
 * and fastLo, and reports whether it could; false means the strict parser
 * must decide, not that the text is no address.
 */
export function fastIPv6(p: usize, end: usize): bool {
  const n = end - p;
  if (n - 1 >= FAST_MAX || p - 4 > FAST_LAST) return false;
  const a = v128.load(p);
  const b = v128.load(p, 16);
  const c = v128.load(p, 32);
  const all = below(n);
  const colonByte = i8x16.splat(0x3a);
  const colons =
    all &
    (bits(i8x16.eq(a, colonByte)) | (bits(i8x16.eq(b, colonByte)) << 16) | (bits(i8x16.eq(c, colonByte)) << 32));
  const hexes = bits(isHex(a)) | (bits(isHex(b)) << 16) | (bits(isHex(c)) << 32);
  if (((hexes | colons) & all) != all) return false;

  // At most one "::"; a third colon in a row counts as a second.
  const gaps = colons & (colons >> 1);
  if (gaps == 0) {
    if (popcnt(colons) != 7) return false;
    // All eight groups spelled: straight-line code.
    let marks = colons;
    const c0 = p + <usize>ctz(marks);
    marks &= marks - 1;
    const c1 = p + <usize>ctz(marks);
    marks &= marks - 1;
    const c2 = p + <usize>ctz(marks);
    marks &= marks - 1;
    const c3 = p + <usize>ctz(marks);
    marks &= marks - 1;
    const c4 = p + <usize>ctz(marks);
    marks &= marks - 1;
    const c5 = p + <usize>ctz(marks);
    marks &= marks - 1;
    const c6 = p + <usize>ctz(marks);
    const lengths =
      (c0 - p - 1) | (c1 - c0 - 2) | (c2 - c1 - 2) | (c3 - c2 - 2) |
      (c4 - c3 - 2) | (c5 - c4 - 2) | (c6 - c5 - 2) | (end - c6 - 2);
    if (lengths > 3) return false;
    fastHi =
      (hexGroup(c0, c0 - p) << 48) |
      (hexGroup(c1, c1 - c0 - 1) << 32) |
      (hexGroup(c2, c2 - c1 - 1) << 16) |
      hexGroup(c3, c3 - c2 - 1);
    fastLo =
      (hexGroup(c4, c4 - c3 - 1) << 48) |
      (hexGroup(c5, c5 - c4 - 1) << 32) |
      (hexGroup(c6, c6 - c5 - 1) << 16) |
      hexGroup(end, end - c6 - 1);
    return true;
  }
  if ((gaps & (gaps - 1)) != 0) return false;

  // The groups before the gap and those after it, each read on its own.
  const gap = <usize>ctz(gaps);
  let headHi: u64 = 0;
  let headLo: u64 = 0;
  let headCount = 0;
  if (gap > 0) {
    readGroups(p, p, p + gap, colons & below(gap));
    if (groupsBad) return false;
    headHi = groupHi;
    headLo = groupLo;
    headCount = groupCount;
  }
  let hi: u64 = 0;
  let lo: u64 = 0;
  let tailCount = 0;
  if (gap + 2 < n) {
    readGroups(p, p + gap + 2, end, colons & ~below(gap + 2));
    if (groupsBad) return false;
    hi = groupHi;
    lo = groupLo;
    tailCount = groupCount;
  }
  if (headCount + tailCount > 7) return false;
  joinAtGap(headHi, headLo, headCount, hi, lo);
  return true;
}

/**
 * joinAtGap sets fastHi and fastLo to the address written with "::": the
 * `headCount` groups before the gap, in the bottom of (headHi, headLo), move
 * to the top of the address over the groups after it, (hi, lo).
 */
export function joinAtGap(headHi: u64, headLo: u64, headCount: i32, hi: u64, lo: u64): void {
  if (headCount > 0) {
    const shift = <u64>(16 * (8 - headCount));
    if (shift >= 64) {
      hi |= headLo << (shift - 64);
    } else {
      hi |= (headHi << shift) | (headLo >> (64 - shift));
      lo |= headLo << shift;
    }
  }
  fastHi = hi;
  fastLo = lo;
}

/**
 * isCanonicalIPv6 reports whether the text [p, end), which parsed as the
 * IPv6 address (hi, lo), is already that address's RFC 5952 text: lower
 * case, no leading zeros, and "::" exactly where section 4.2 puts it, for
 * the longest run of two or more zero groups, the first of equal ones. So
 * the caller can keep the text it has. False also when unsure (text outside
 * the first page), never when the text is not canonical.
 */
export function isCanonicalIPv6(p: usize, end: usize, hi: u64, lo: u64): bool {
  const n = end - p;
  if (n - 1 >= 39 || p - 4 > FAST_LAST) return false;
  const a = v128.load(p);
  const b = v128.load(p, 16);
  const c = v128.load(p, 32);
  const all = below(n);
  const colonByte = i8x16.splat(0x3a);
  const zeroByte = i8x16.splat(0x30);
  const colons =
    all &
    (bits(i8x16.eq(a, colonByte)) | (bits(i8x16.eq(b, colonByte)) << 16) | (bits(i8x16.eq(c, colonByte)) << 32));
  const zeros =
    all & (bits(i8x16.eq(a, zeroByte)) | (bits(i8x16.eq(b, zeroByte)) << 16) | (bits(i8x16.eq(c, zeroByte)) << 32));
  const digits = all & (bits(isLowerHex(a)) | (bits(isLowerHex(b)) << 16) | (bits(isLowerHex(c)) << 32));
  if ((colons | digits) != all) return false;
  // A group may start with 0 only if it is just "0".
  const starts = ((colons << 1) | 1) & digits;
  if ((starts & zeros & (digits >> 1)) != 0) return false;

  // The longest run of zero groups, bit k standing for group k.
  let run: u32 = 0;
  for (let k = 0; k < 8; k++) {
    const group = ((k < 4 ? hi : lo) >> <u64>(48 - 16 * (k & 3))) & 0xffff;
    run |= <u32>(group == 0) << k;
  }
  let longest = 0;
  let first: u32 = 0;
  while (run != 0) {
    first = run;
    run &= run >> 1;
    longest++;
  }
  const gaps = colons & (colons >> 1);
  if (longest < 2) return gaps == 0;
  if (gaps == 0) return false;

  // The groups spelled before and after "::" place it.
  const gap = <usize>ctz(gaps);
  const head = gap == 0 ? 0 : <i32>popcnt(colons & below(gap)) + 1;
  const tail = gap + 2 == n ? 0 : <i32>popcnt(colons >> <u64>(gap + 2)) + 1;
  return head == <i32>ctz(first) && 8 - head - tail == longest;
}
