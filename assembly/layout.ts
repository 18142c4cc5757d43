// The memory map of one ipgate instance, the only place it is written down.
// src/layout.ts mirrors these numbers; test/layout.test.ts checks the mirror
// against the values the module exports.
//
//   0          64         96         160       256                32768
//   +----------+----------+----------+---------+------------------+--------...
//   |  RESULT  |  unused  |   TEXT   | unused  |     SCRATCH      | static
//   | 64 bytes |          | 64 bytes |         |   32512 bytes    | data,
//   +----------+----------+----------+---------+------------------+ heap...
//
// RESULT   what `parse` and `walk` report besides their return value:
//            +0  u64  hi: upper 64 bits of the address (IPv4: value << 32)
//            +8  u64  lo: lower 64 bits of the address (IPv4: 0)
//            +16 u32  family: 4 or 6, after IPv4-mapped addresses are unwrapped
//            +20 u32  start: offset of the address text that was read
//            +24 u32  end: offset just past it
//            +28 u32  hop: 0 for the peer, k for the k-th entry from the right
// TEXT     canonical address text written by `format`, at most 39 bytes.
// SCRATCH  where JavaScript writes the bytes of an address or a header before
//          a call. Every entry point takes (pointer, length), so input longer
//          than SCRATCH is written at the heap's end instead (see `reserve`).
//
// The heap, from `__heap_base` upwards, holds while a set is built:
//
//   +--------------+-----------------+----------------------------+
//   | LEVELS       | staged prefixes | image (written by `build`) |
//   | 22 x 768 B   | 24 B each       |                            |
//   +--------------+-----------------+----------------------------+
//
// and in an instance that only answers lookups, just the image, copied in
// from the instance that built it (see `attach`). The image layout is
// described in trie.ts.

/** RESULT is the offset of the result record. */
export const RESULT: usize = 0;
/** TEXT is where `format` writes canonical address text. */
export const TEXT: usize = 96;
/** SCRATCH is the offset of the input region JavaScript writes into. */
export const SCRATCH: usize = 256;
/** SCRATCH_SIZE is the length of the input region in bytes. */
export const SCRATCH_SIZE: usize = 32512;
/** STATIC_BASE is where the compiler's static data and the heap begin. */
export const STATIC_BASE: usize = SCRATCH + SCRATCH_SIZE;

export const RESULT_HI: usize = RESULT;
export const RESULT_LO: usize = RESULT + 8;
export const RESULT_FAMILY: usize = RESULT + 16;
export const RESULT_START: usize = RESULT + 20;
export const RESULT_END: usize = RESULT + 24;
export const RESULT_HOP: usize = RESULT + 28;

/** PAGE is the WebAssembly page size. */
export const PAGE: usize = 65536;
