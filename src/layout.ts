/**
 * The TypeScript mirror of the memory map drawn in assembly/layout.ts, of
 * the status codes in assembly/status.ts and of the walk's reason codes in
 * assembly/forwarded.ts. test/layout.test.ts checks every
 * number here against the value the compiled module exports.
 */

/** RESULT is the offset of the record `parse` and `walk` fill in. */
export const RESULT = 0;
export const RESULT_HI = RESULT;
export const RESULT_LO = RESULT + 8;
export const RESULT_FAMILY = RESULT + 16;
export const RESULT_START = RESULT + 20;
export const RESULT_END = RESULT + 24;
export const RESULT_HOP = RESULT + 28;
/** RESULT_TEXT_START and RESULT_TEXT_END bound the address's canonical text in memory. */
export const RESULT_TEXT_START = RESULT + 32;
export const RESULT_TEXT_END = RESULT + 36;
/** RESULT_VALUE is the client set's value for the address `walk` chose. */
export const RESULT_VALUE = RESULT + 40;

/** TEXT is where `format` writes canonical address text (at most 39 bytes). */
export const TEXT = 96;

/** SCRATCH is where input bytes are written before a call. */
export const SCRATCH = 256;
/** SCRATCH_SIZE is how many bytes of input fit in SCRATCH. */
export const SCRATCH_SIZE = 32512;

/** Status codes returned by `reset`, `addRule`, `build`, `attach` and `attachClientSet`. */
export const Status = {
  OK: 0,
  ERR_EMPTY: 1,
  ERR_ADDRESS: 2,
  ERR_PREFIX_SYNTAX: 3,
  ERR_PREFIX_RANGE: 4,
  ERR_NETMASK: 5,
  ERR_NETMASK_FAMILY: 6,
  ERR_RANGE_ORDER: 7,
  ERR_RANGE_FAMILY: 8,
  ERR_NO_MEMORY: 9,
  ERR_STATE: 10,
  ERR_IMAGE: 11,
  NOT_ADDRESS: -1,
} as const;

/** The image header's magic number ("IPGT" little-endian) and version. */
export const MAGIC = 0x54475049;
export const VERSION = 3;

/** Reason codes returned by `walk`: why it chose its address, or why none. */
export const Reason = {
  REASON_PEER: 1,
  REASON_FORWARDED: 2,
  REASON_ALL_TRUSTED: 3,
  REASON_NO_PEER: 4,
  REASON_MALFORMED: 5,
  REASON_TOO_MANY_HOPS: 6,
} as const;
