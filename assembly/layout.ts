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
//            +32 u32  textStart, +36 u32 textEnd: where the address's
//                     canonical text is, either inside the text that was
//                     read (already canonical, or the dotted quad of an
//                     IPv4-mapped address) or at TEXT, written there
//            +40 u32  value: what the client set gives the address `walk`
//                     chose (0 without a client set; see attachClientSet)
// TEXT     canonical address text written by `format`, at most 39 bytes.
// SCRATCH  where JavaScript writes the bytes of an address or a header before
//          a call. Every entry point takes (pointer, length), so input longer
//          than SCRATCH is written at the heap's end instead (see `spare`).
// static   the parser's tables, the views of the two attached images
//          (trie.ts), the walk's last peer and trusted tail
//          (forwarded.ts); nothing outside the module writes there.
//
// The heap, from `__heap_base` upwards, holds while a set is built:
//
//   +--------------+-----------------+----------------------------+
//   | LEVELS       | staged prefixes | image (written by `build`) |
//   | 22 x 768 B   | 24 B each       |                            |
//   +--------------+-----------------+----------------------------+
//
// and in an instance that only answers lookups, just the image, copied in
// from the instance that built it (see `attach`).
//
// Image layout (offsets relative to the image's first byte, all little-endian):
//
//   +0   u32  MAGIC ("IPGT")
//   +4   u32  VERSION
//   +8   u32  size of the whole image in bytes
//   +12  u32  offset of the IPv4 root node
//   +16  u32  offset of the IPv6 root node
//   +20  u32  number of prefixes after ranges were split and duplicates merged
//   +24  u32  bits of an IPv4 address the IPv4 direct table resolves: 0 (no
//             table), DIRECT_SMALL or DIRECT_LARGE
//   +28  u32  offset of the IPv4 direct table
//   +32  u32  the same for IPv6: bits,
//   +36  u32  and offset of its table
//   +40  u32  offset of the IPv4 list, 0 when the family has none
//   +44  u32  offset of the IPv6 list
//   +48       nodes, leaf blocks, direct tables and lists, in the order the
//             build allocated them
//
// Node, 24 bytes, 8-byte aligned:
//
//   +0   u64  children: bit i set when slot i (the next six address bits,
//             read as a number 0-63) leads to a child node
//   +8   u64  runs: bit i set when slot i is a leaf slot whose value differs
//             from the previous leaf slot's, so equal neighbours share a leaf
//   +16  u32  offset of the first child; children are contiguous, in slot
//             order, so slot i's child is popcount(children below i) further
//   +20  u32  offset of the first leaf (u32 values, one per run)
//
// A leaf value is what `lookup` returns: 0 for no match, else the value given
// with the longest prefix that covers the address.
//
// Direct table (as in Poptrie), 4 << bits bytes: u32 entry i stands for the
// first `bits` levels of a lookup whose leading address bits are i. An odd
// entry is 1 + the offset of the node the lookup continues from; an even one
// is the offset of the leaf value it ends at. A family gets a DIRECT_SMALL
// table from DIRECT_SMALL_FROM prefixes and a DIRECT_LARGE one from
// DIRECT_LARGE_FROM, where the table is small beside the trie.
//
// List, for a family of at most LIST_MAX prefixes, which a few masked
// compares search faster than a trie of up to 22 levels (a trusted proxy
// given as one IPv6 address is a /128):
//
//   +0   u32  number of entries
//   +8        entries of LIST_ENTRY bytes, longest prefix first, so that the
//             first entry that holds an address is its longest match:
//             +0 u64 hi, +8 u64 lo, +16 u64 mask of hi, +24 u64 mask of lo,
//             +32 u32 value, +36 u32 prefix length (for the build's sort)
//
// The trie is built for such a family as well, but lookups do not visit it.
//
// Capacity: offsets are u32, and memory is 32-bit, so an image is at most
// 4 GiB; measured at 9 to 130 bytes a prefix (bench/match.bench.ts), so tens
// of millions of prefixes.

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
export const RESULT_TEXT_START: usize = RESULT + 32;
export const RESULT_TEXT_END: usize = RESULT + 36;
export const RESULT_VALUE: usize = RESULT + 40;

/** The image header's magic number ("IPGT" read little-endian) and version. */
export const MAGIC: u32 = 0x54475049;
export const VERSION: u32 = 3;
/** IMAGE_HEADER is the size of the image header; nodes start after it. */
export const IMAGE_HEADER: usize = 48;
/** NODE_SIZE is the size of one trie node. */
export const NODE_SIZE: usize = 24;
/** The direct tables' sizes in address bits, and the family size each is built from. */
export const DIRECT_SMALL: u32 = 12;
export const DIRECT_SMALL_FROM: i32 = 32;
export const DIRECT_LARGE: u32 = 18;
export const DIRECT_LARGE_FROM: i32 = 16_384;

/** LIST_MAX is the most prefixes of a family searched as a list; LIST_ENTRY its entry size. */
export const LIST_MAX: i32 = 8;
export const LIST_ENTRY: usize = 40;

/** PAGE is the WebAssembly page size. */
export const PAGE: usize = 65536;
