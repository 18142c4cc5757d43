// The module's exports: the interface embedders use. Every function takes
// byte offsets and lengths into this instance's memory and returns an
// integer; nothing allocates per call and nothing traps on input.
//
// Building a set:        reset(), addRule(p, n, value) per rule, build()
// Moving it elsewhere:   copy imageSize() bytes from imageOffset() into
//                        another instance at heapBase(), then attach(offset)
// Querying:              lookup(p, n), parse(p, n), walk(...), format();
//                        input longer than SCRATCH_SIZE goes at spare(n)
// Walk and look up:      attachClientSet(offset) of a second image copied in

import { parseAddress, parseClientAddress, setAddress } from './address';
import { RESULT_END, RESULT_START, RESULT_TEXT_END, RESULT_TEXT_START, TEXT } from './layout';
import { report } from './result';
import { addRule as stageRule } from './rule';
import { ERR_NO_MEMORY, NOT_ADDRESS, OK } from './status';
import { find, heapTop, image, imageSize as sizeOfImage, reserve, start } from './trie';

export {
  RESULT,
  RESULT_END,
  RESULT_FAMILY,
  RESULT_HI,
  RESULT_HOP,
  RESULT_LO,
  RESULT_START,
  RESULT_TEXT_END,
  RESULT_TEXT_START,
  RESULT_VALUE,
  SCRATCH,
  SCRATCH_SIZE,
  TEXT,
} from './layout';
export {
  ERR_ADDRESS,
  ERR_EMPTY,
  ERR_IMAGE,
  ERR_NETMASK,
  ERR_NETMASK_FAMILY,
  ERR_NO_MEMORY,
  ERR_PREFIX_RANGE,
  ERR_PREFIX_SYNTAX,
  ERR_RANGE_FAMILY,
  ERR_RANGE_ORDER,
  ERR_STATE,
  NOT_ADDRESS,
  OK,
} from './status';
export { MAGIC, VERSION } from './layout';
export { attach, attachClientSet, build } from './trie';
export {
  FORWARDED,
  REASON_ALL_TRUSTED,
  REASON_FORWARDED,
  REASON_MALFORMED,
  REASON_NO_PEER,
  REASON_PEER,
  REASON_TOO_MANY_HOPS,
  TRUST_ALL,
  walk,
} from './forwarded';

/** reset starts a new set: no rules, no image. Returns OK or ERR_NO_MEMORY. */
export function reset(): i32 {
  return start() ? OK : ERR_NO_MEMORY;
}

/**
 * addRule parses the rule text at [p, p + n) and stages it with `value`
 * (returned by lookups the rule wins; use 1 for a plain set, and values that
 * grow with the rule's position so that a later duplicate wins). Returns OK
 * or a status code.
 */
export function addRule(p: usize, n: usize, value: u32): i32 {
  return stageRule(p, n, value);
}

/**
 * lookup parses the address text at [p, p + n) and returns the value of the
 * longest matching prefix, 0 when none matches, or NOT_ADDRESS (-1) when the
 * text is not an address. IPv4-mapped IPv6 addresses are looked up as IPv4.
 */
export function lookup(p: usize, n: usize): i32 {
  const family = parseClientAddress(p, p + n);
  if (family == 0) return NOT_ADDRESS;
  return <i32>find(family);
}

/**
 * lookupParsed is lookup for an address already parsed, given as its family
 * and four 32-bit words from the most significant (IPv4: the value, then
 * zeros), as RESULT holds them after parse or walk in any instance.
 */
export function lookupParsed(family: i32, w0: u32, w1: u32, w2: u32, w3: u32): i32 {
  if (family != 4 && family != 6) return NOT_ADDRESS;
  setAddress((<u64>w0 << 32) | w1, (<u64>w2 << 32) | w3);
  return <i32>find(family);
}

/**
 * parse reads the address text at [p, p + n) into RESULT (hi, lo, family,
 * with IPv4-mapped addresses unwrapped; start and end are p and p + n; the
 * bounds of its canonical text) and returns the family, 4 or 6, or 0 when
 * the text is not an address.
 */
export function parse(p: usize, n: usize): i32 {
  return parsed(parseClientAddress(p, p + n), p, n);
}

/** parseRaw is parse without unwrapping IPv4-mapped addresses. */
export function parseRaw(p: usize, n: usize): i32 {
  return parsed(parseAddress(p, p + n), p, n);
}

function parsed(family: i32, p: usize, n: usize): i32 {
  if (family != 0) report(family, p, p + n, 0);
  return family;
}

/**
 * format gives the address in RESULT (as left by parse or walk) as canonical
 * text, RFC 5952 for IPv6. When the text it was read from, at RESULT_START
 * to RESULT_END, is already exactly that, it returns the length negated and
 * writes nothing, so the caller keeps its own copy; otherwise it writes the
 * text at TEXT and returns its length. parse and walk have found where the
 * canonical text is (RESULT_TEXT_START and RESULT_TEXT_END); this reads it.
 */
export function format(): i32 {
  const start = <usize>load<u32>(RESULT_START);
  const end = <usize>load<u32>(RESULT_END);
  const textStart = <usize>load<u32>(RESULT_TEXT_START);
  const length = <usize>load<u32>(RESULT_TEXT_END) - textStart;
  if (textStart == start && length == end - start) return -<i32>length;
  // The dotted quad a mapped address ends with is canonical but not all of it.
  if (textStart != TEXT) memory.copy(TEXT, textStart, length);
  return <i32>length;
}

/** imageOffset returns where the attached image starts, 0 when none is. */
export function imageOffset(): usize {
  return image;
}

/** imageSize returns the attached image's length in bytes, 0 when none is. */
export function imageSize(): u32 {
  return sizeOfImage();
}

/** heapBase returns where an image copied in from elsewhere should go. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * spare returns an offset past everything in use with at least `n` bytes
 * after it, growing memory if needed, for input longer than SCRATCH_SIZE;
 * 0 when memory cannot grow. Views of memory must be renewed afterwards.
 */
export function spare(n: usize): usize {
  const at = (heapTop() + 15) & ~15;
  return reserveAt(at, n) ? at : 0;
}

function reserveAt(at: usize, n: usize): bool {
  return reserve(at - heapTop() + n);
}
