// A Poptrie-style multibit trie: every node consumes six address bits and
// finds its child or its value by counting bits in two 64-bit maps, so a
// lookup costs at most 6 node visits for IPv4 and 22 for IPv6, however many
// prefixes the set holds.
//
// The image and node layouts are drawn in layout.ts with the memory map.

import { addrHi, addrLo } from './address';
import {
  DIRECT_LARGE,
  DIRECT_LARGE_FROM,
  DIRECT_SMALL,
  DIRECT_SMALL_FROM,
  IMAGE_HEADER,
  LIST_ENTRY,
  LIST_MAX,
  MAGIC,
  NODE_SIZE,
  PAGE,
  VERSION,
} from './layout';
import { ERR_IMAGE, ERR_NO_MEMORY, ERR_STATE, OK } from './status';

export const STAGED_SIZE: usize = 24;
/** MAX_DEPTH is the most nodes a lookup visits: ceil(128 / 6). */
export const MAX_DEPTH: i32 = 22;

const FAMILY6: u64 = <u64>1 << 56;
const KEY_MASK: u64 = FAMILY6 - 1;

// Per-depth work arrays of the build, one set for each of MAX_DEPTH levels:
// the 64 slot values, then the first and past-the-last staged index of each
// slot's child.
const LEVEL_SIZE: usize = 64 * 4 * 3;
const LEVELS_SIZE: usize = LEVEL_SIZE * <usize>MAX_DEPTH + STAGED_SIZE;

// Building state. `levels` holds per-depth work arrays, `staged` the prefixes
// added so far, `top` the next free byte; `image` is 0 until built.
let levels: usize = 0;
let staged: usize = 0;
let stagedCount: usize = 0;
let top: usize = 0;

// The image being built or attached; 0 until there is one.
export let image: usize = 0;
/**
 * attachments counts the images attached so far, so that an answer found
 * in one image is not reused with the next.
 */
export let attachments: u32 = 0;

// What a lookup needs of an attached image, nine u32s at a view: +0 the
// image, then for IPv4 and IPv6 in turn: +4, +8 the roots; +12, +16 the
// direct tables; +20, +24 the address bits they resolve; +28, +32 the
// lists. Addresses are absolute, 0 for none; a view whose image is 0 finds
// nothing. One view is the attached set's, one the client set's.
const VIEW_SIZE: i32 = 36;
const ATTACHED: usize = memory.data(VIEW_SIZE, 4);
const CLIENT: usize = memory.data(VIEW_SIZE, 4);

/**
 * reserve makes [top, top + bytes) addressable; false when memory is full.
 * Memory grows by at least half again, so that staging a million prefixes
 * grows it a few dozen times rather than once a page.
 */
export function reserve(bytes: usize): bool {
  const needed = top + bytes;
  const have = <usize>memory.size() * PAGE;
  if (needed <= have) return true;
  const least = <i32>((needed - have + PAGE - 1) / PAGE);
  const more = max(least, memory.size() >> 1);
  if (memory.grow(more) >= 0) return true;
  return memory.grow(least) >= 0;
}

/** heapTop returns the first free byte, where long input may be written. */
export function heapTop(): usize {
  if (top == 0) top = (__heap_base + 15) & ~15;
  return top;
}

/** start clears the builder: no prefixes, no image. */
export function start(): bool {
  levels = (__heap_base + 15) & ~15;
  top = levels;
  if (!reserve(LEVELS_SIZE)) return false;
  top += LEVELS_SIZE;
  staged = top;
  stagedCount = 0;
  image = 0;
  // The build writes over the heap, where attached images were copied.
  store<u32>(ATTACHED, 0);
  store<u32>(CLIENT, 0);
  attachments++;
  return true;
}

/**
 * stage appends a prefix: `hi`/`lo` the address with host bits cleared, `bits`
 * its length counted from the top (IPv4 lives in the top 32 bits), `value`
 * what lookups inside it return. Later values win for the same prefix.
 */
export function stage(family6: bool, hi: u64, lo: u64, bits: i32, value: u32): i32 {
  if (image != 0) return ERR_STATE;
  if (!reserve(STAGED_SIZE)) return ERR_NO_MEMORY;
  const p = staged + stagedCount * STAGED_SIZE;
  store<u64>(p, hi);
  store<u64>(p, lo, 8);
  store<u64>(p, (family6 ? FAMILY6 : 0) | (<u64>bits << 32) | value, 16);
  stagedCount++;
  top += STAGED_SIZE;
  return OK;
}

/** stagedAt returns the address of staged prefix i. */
@inline
function stagedAt(i: i32): usize {
  return staged + <usize>i * STAGED_SIZE;
}

/** before reports whether staged record a sorts before b. */
@inline
function before(a: usize, b: usize): bool {
  const ma = load<u64>(a, 16);
  const mb = load<u64>(b, 16);
  const fa = ma >> 56;
  const fb = mb >> 56;
  if (fa != fb) return fa < fb;
  const ha = load<u64>(a);
  const hb = load<u64>(b);
  if (ha != hb) return ha < hb;
  const la = load<u64>(a, 8);
  const lb = load<u64>(b, 8);
  if (la != lb) return la < lb;
  return (ma & KEY_MASK) < (mb & KEY_MASK);
}

@inline
function swap(a: usize, b: usize): void {
  const h = load<u64>(a);
  const l = load<u64>(a, 8);
  const m = load<u64>(a, 16);
  store<u64>(a, load<u64>(b));
  store<u64>(a, load<u64>(b, 8), 8);
  store<u64>(a, load<u64>(b, 16), 16);
  store<u64>(b, h);
  store<u64>(b, l, 8);
  store<u64>(b, m, 16);
}

@inline
function copy(to: usize, from: usize): void {
  store<u64>(to, load<u64>(from));
  store<u64>(to, load<u64>(from, 8), 8);
  store<u64>(to, load<u64>(from, 16), 16);
}

function siftDown(base: i32, root: i32, count: i32): void {
  while (true) {
    let child = 2 * root + 1;
    if (child >= count) return;
    if (child + 1 < count && before(stagedAt(base + child), stagedAt(base + child + 1))) {
      child++;
    }
    if (!before(stagedAt(base + root), stagedAt(base + child))) return;
    swap(stagedAt(base + root), stagedAt(base + child));
    root = child;
  }
}

function heapSort(lo: i32, hi: i32): void {
  const count = hi - lo;
  for (let i = count / 2 - 1; i >= 0; i--) siftDown(lo, i, count);
  for (let end = count - 1; end > 0; end--) {
    swap(stagedAt(lo), stagedAt(lo + end));
    siftDown(lo, 0, end);
  }
}

/**
 * sortStaged sorts [lo, hi) by family, address, length and value: quicksort
 * with a median-of-three pivot, insertion sort for short runs, and heapsort
 * once the depth budget is spent, so no input order makes it quadratic.
 */
function sortStaged(lo: i32, hi: i32, budget: i32): void {
  const pivot = levels + LEVELS_SIZE - STAGED_SIZE;
  while (hi - lo > 16) {
    if (budget == 0) {
      heapSort(lo, hi);
      return;
    }
    budget--;

    // Order lo, mid and last so the pivot is their median.
    const mid = lo + ((hi - lo) >> 1);
    if (before(stagedAt(mid), stagedAt(lo))) swap(stagedAt(mid), stagedAt(lo));
    if (before(stagedAt(hi - 1), stagedAt(mid))) {
      swap(stagedAt(hi - 1), stagedAt(mid));
      if (before(stagedAt(mid), stagedAt(lo))) swap(stagedAt(mid), stagedAt(lo));
    }
    copy(pivot, stagedAt(mid));

    // Hoare partition: [lo, j] <= pivot <= [j + 1, hi).
    let i = lo - 1;
    let j = hi;
    while (true) {
      do i++;
      while (before(stagedAt(i), pivot));
      do j--;
      while (before(pivot, stagedAt(j)));
      if (i >= j) break;
      swap(stagedAt(i), stagedAt(j));
    }

    // Recurse into the smaller side so the stack stays logarithmic.
    if (j + 1 - lo < hi - j - 1) {
      sortStaged(lo, j + 1, budget);
      lo = j + 1;
    } else {
      sortStaged(j + 1, hi, budget);
      hi = j + 1;
    }
  }

  for (let i = lo + 1; i < hi; i++) {
    for (let k = i; k > lo && before(stagedAt(k), stagedAt(k - 1)); k--) {
      swap(stagedAt(k), stagedAt(k - 1));
    }
  }
}

/**
 * mergeDuplicates keeps, of staged prefixes equal in family, address and
 * length, only the one with the highest value (the one given last), and
 * returns how many remain.
 */
function mergeDuplicates(count: i32): i32 {
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const p = stagedAt(i);
    if (i + 1 < count) {
      const q = stagedAt(i + 1);
      const sameKey =
        load<u64>(p) == load<u64>(q) &&
        load<u64>(p, 8) == load<u64>(q, 8) &&
        load<u64>(p, 16) >> 32 == load<u64>(q, 16) >> 32;
      if (sameKey) continue;
    }
    if (kept != i) copy(stagedAt(kept), p);
    kept++;
  }
  return kept;
}

/** slotAt returns the six address bits that follow the first `depth` bits. */
@inline
function slotAt(hi: u64, lo: u64, depth: i32): i32 {
  let bits = hi;
  if (depth >= 64) bits = lo << (<u64>(depth - 64));
  else if (depth > 0) bits = (hi << <u64>depth) | (lo >> <u64>(64 - depth));
  return <i32>(bits >> 58);
}

@inline
function bitsOf(p: usize): i32 {
  return <i32>((load<u64>(p, 16) >> 32) & 0xff);
}

/**
 * buildNode fills the node at `node` for the staged prefixes [s, e), which
 * all lie inside the node's region and are sorted, given the value `def` of
 * the longest prefix that covers the whole region. Prefixes that end within
 * the next six bits set slot values; longer ones go to child nodes. Returns
 * false when memory runs out.
 */
function buildNode(depth: i32, s: i32, e: i32, def: u32, node: usize, level: i32): bool {
  const values = levels + <usize>level * LEVEL_SIZE;
  const firsts = values + 256;
  const lasts = values + 512;
  for (let k: usize = 0; k < 64; k++) store<u32>(values + (k << 2), def);

  // Sorted order puts every prefix after those that contain it, so writing
  // slot values in order leaves the longest match in each slot.
  let children: u64 = 0;
  let i = s;
  while (i < e) {
    const p = stagedAt(i);
    const bits = bitsOf(p);
    if (bits <= depth) {
      i++;
      continue;
    }
    const slot = slotAt(load<u64>(p), load<u64>(p, 8), depth);
    if (bits <= depth + 6) {
      const value = <u32>load<u64>(p, 16);
      const last = slot + (1 << (depth + 6 - bits));
      for (let k = slot; k < last; k++) store<u32>(values + (<usize>k << 2), value);
      i++;
      continue;
    }
    let j = i + 1;
    while (j < e) {
      const q = stagedAt(j);
      if (slotAt(load<u64>(q), load<u64>(q, 8), depth) != slot) break;
      j++;
    }
    children |= <u64>1 << <u64>slot;
    store<i32>(firsts + (<usize>slot << 2), i);
    store<i32>(lasts + (<usize>slot << 2), j);
    i = j;
  }

  // Leaf runs: one leaf per change of value among the leaf slots.
  let runs: u64 = 0;
  let leafCount: usize = 0;
  let previous: u32 = 0;
  for (let k = 0; k < 64; k++) {
    if ((children >> <u64>k) & 1) continue;
    const value = load<u32>(values + (<usize>k << 2));
    if (leafCount == 0 || value != previous) {
      runs |= <u64>1 << <u64>k;
      leafCount++;
      previous = value;
    }
  }
  const leafBytes = (leafCount * 4 + 7) & ~7;
  const childCount = <usize>popcnt(children);
  if (!reserve(leafBytes + childCount * NODE_SIZE)) return false;
  const leaves = top;
  const first = top + leafBytes;
  top = first + childCount * NODE_SIZE;

  let leaf = leaves;
  for (let k = 0; k < 64; k++) {
    if ((runs >> <u64>k) & 1) {
      store<u32>(leaf, load<u32>(values + (<usize>k << 2)));
      leaf += 4;
    }
  }
  store<u64>(node, children);
  store<u64>(node, runs, 8);
  store<u32>(node, <u32>(first - image), 16);
  store<u32>(node, <u32>(leaves - image), 20);

  let child = first;
  for (let k = 0; k < 64; k++) {
    if (!((children >> <u64>k) & 1)) continue;
    const slotValue = load<u32>(values + (<usize>k << 2));
    const cs = load<i32>(firsts + (<usize>k << 2));
    const ce = load<i32>(lasts + (<usize>k << 2));
    if (!buildNode(depth + 6, cs, ce, slotValue, child, level + 1)) return false;
    child += NODE_SIZE;
  }
  return true;
}

/** buildRoot builds one family's root at `node` from staged [s, e). */
function buildRoot(s: i32, e: i32, node: usize): bool {
  // A /0 sorts first; it is the value of every address without a longer match.
  let def: u32 = 0;
  if (s < e && bitsOf(stagedAt(s)) == 0) def = <u32>load<u64>(stagedAt(s), 16);
  return buildNode(0, s, e, def, node, 0);
}

/**
 * build sorts and merges the staged prefixes and writes the image after
 * them, then attaches it. Returns OK, ERR_STATE when already built, or
 * ERR_NO_MEMORY.
 */
export function build(): i32 {
  if (image != 0 || levels == 0) return ERR_STATE;
  const count = mergeDuplicates(sortStagedAll());

  let split = 0;
  while (split < count && load<u64>(stagedAt(split), 16) < FAMILY6) split++;

  top = (top + 7) & ~7;
  if (!reserve(IMAGE_HEADER + 2 * NODE_SIZE)) return ERR_NO_MEMORY;
  image = top;
  top += IMAGE_HEADER + 2 * NODE_SIZE;
  const r4 = image + IMAGE_HEADER;
  const r6 = r4 + NODE_SIZE;
  if (!buildRoot(0, split, r4) || !buildRoot(split, count, r6)) {
    image = 0;
    return ERR_NO_MEMORY;
  }
  const bits4 = directBits(split);
  const bits6 = directBits(count - split);
  const t4 = buildTable(r4, bits4);
  const t6 = buildTable(r6, bits6);
  if ((bits4 != 0 && t4 == 0) || (bits6 != 0 && t6 == 0)) {
    image = 0;
    return ERR_NO_MEMORY;
  }
  const l4 = buildList(0, split);
  const l6 = buildList(split, count);
  if ((split <= LIST_MAX && l4 == 0) || (count - split <= LIST_MAX && l6 == 0)) {
    image = 0;
    return ERR_NO_MEMORY;
  }

  store<u32>(image, MAGIC);
  store<u32>(image, VERSION, 4);
  store<u32>(image, <u32>(top - image), 8);
  store<u32>(image, <u32>(r4 - image), 12);
  store<u32>(image, <u32>(r6 - image), 16);
  store<u32>(image, <u32>count, 20);
  store<u32>(image, bits4, 24);
  store<u32>(image, t4 == 0 ? 0 : <u32>(t4 - image), 28);
  store<u32>(image, bits6, 32);
  store<u32>(image, t6 == 0 ? 0 : <u32>(t6 - image), 36);
  store<u32>(image, l4 == 0 ? 0 : <u32>(l4 - image), 40);
  store<u32>(image, l6 == 0 ? 0 : <u32>(l6 - image), 44);
  return attach(image);
}

/** maskAbove returns a u64 whose top `bits` bits are set, for bits from 0 to 64. */
@inline
function maskAbove(bits: i32): u64 {
  return bits <= 0 ? 0 : <u64>-1 << <u64>(64 - min(bits, 64));
}

/**
 * buildList writes the list of the staged prefixes [s, e) of one family and
 * returns its address: 0 when there are more than LIST_MAX of them (the trie
 * alone answers) or memory is full.
 */
function buildList(s: i32, e: i32): usize {
  const count = e - s;
  if (count > LIST_MAX) return 0;
  const bytes: usize = 8 + <usize>count * LIST_ENTRY;
  if (!reserve(bytes)) return 0;
  const list = top;
  top += bytes;
  store<u32>(list, <u32>count);

  // Longest first: a handful of entries, so insertion sort on the lengths.
  const entries = list + 8;
  for (let i = 0; i < count; i++) {
    const p = stagedAt(s + i);
    let k = i;
    while (k > 0 && load<u32>(entries + <usize>(k - 1) * LIST_ENTRY, 36) < <u32>bitsOf(p)) {
      const at = entries + <usize>k * LIST_ENTRY;
      memory.copy(at, at - LIST_ENTRY, LIST_ENTRY);
      k--;
    }
    const entry = entries + <usize>k * LIST_ENTRY;
    const bits = bitsOf(p);
    store<u64>(entry, load<u64>(p));
    store<u64>(entry, load<u64>(p, 8), 8);
    store<u64>(entry, maskAbove(bits), 16);
    store<u64>(entry, maskAbove(bits - 64), 24);
    store<u32>(entry, <u32>load<u64>(p, 16), 32);
    store<u32>(entry, <u32>bits, 36);
  }
  return list;
}

/** directBits returns how many leading bits a family of `count` prefixes resolves by table. */
function directBits(count: i32): u32 {
  if (count >= DIRECT_LARGE_FROM) return DIRECT_LARGE;
  if (count >= DIRECT_SMALL_FROM) return DIRECT_SMALL;
  return 0;
}

/**
 * buildTable writes the direct table of the trie under `root` for its first
 * `bits` address bits (a multiple of 6) and returns its address, or 0 when
 * `bits` is 0 or memory is full. Entry i is where a lookup whose first bits
 * are i goes next: the node it reaches after them, as its offset + 1, or the
 * leaf it ends at before then, as the (even) offset of the leaf's value.
 */
function buildTable(root: usize, bits: u32): usize {
  if (bits == 0) return 0;
  const entries: usize = <usize>1 << bits;
  if (!reserve(entries << 2)) return 0;
  const table = top;
  top += entries << 2;
  for (let i: usize = 0; i < entries; i++) {
    let node = root;
    let entry: u32 = 0;
    for (let shift = <i32>bits - 6; shift >= 0; shift -= 6) {
      const bit: u64 = <u64>1 << <u64>((i >> <usize>shift) & 63);
      const children = load<u64>(node);
      if (children & bit) {
        node = image + <usize>load<u32>(node, 16) + <usize>popcnt(children & (bit - 1)) * NODE_SIZE;
        if (shift == 0) entry = <u32>(node - image) + 1;
        continue;
      }
      const rank = <u32>popcnt(load<u64>(node, 8) & ((bit << 1) - 1));
      entry = load<u32>(node, 20) + ((rank - 1) << 2);
      break;
    }
    store<u32>(table + (i << 2), entry);
  }
  return table;
}

function sortStagedAll(): i32 {
  const count = <i32>stagedCount;
  let budget = 2;
  for (let n = count; n > 1; n >>= 1) budget += 2;
  sortStaged(0, count, budget);
  return count;
}

/** imageSize returns the size of the attached image, 0 when there is none. */
export function imageSize(): u32 {
  return image == 0 ? 0 : load<u32>(image, 8);
}

/**
 * isImage reports whether `at` holds an image whose header agrees with the
 * memory that holds it: magic, version, size, roots, tables and lists.
 */
function isImage(at: usize): bool {
  const have = <usize>memory.size() * PAGE;
  if (at < __heap_base || at + IMAGE_HEADER > have) return false;
  const size = <usize>load<u32>(at, 8);
  return (
    load<u32>(at) == MAGIC &&
    load<u32>(at, 4) == VERSION &&
    at + size <= have &&
    <usize>load<u32>(at, 12) + NODE_SIZE <= size &&
    <usize>load<u32>(at, 16) + NODE_SIZE <= size &&
    isTable(load<u32>(at, 24), load<u32>(at, 28), size) &&
    isTable(load<u32>(at, 32), load<u32>(at, 36), size) &&
    isList(at, load<u32>(at, 40), size) &&
    isList(at, load<u32>(at, 44), size)
  );
}

/**
 * attach makes the image at `at` the one lookups use, after checking its
 * header against the memory that holds it. Returns OK or ERR_IMAGE.
 */
export function attach(at: usize): i32 {
  if (!isImage(at)) return ERR_IMAGE;
  image = at;
  fillView(ATTACHED, at);
  attachments++;
  return OK;
}

/**
 * attachClientSet makes the image at `at` the client set, in which `walk`
 * looks up the address it chooses; 0 detaches it. Returns OK or ERR_IMAGE.
 */
export function attachClientSet(at: usize): i32 {
  if (at == 0) {
    store<u32>(CLIENT, 0);
    return OK;
  }
  if (!isImage(at)) return ERR_IMAGE;
  fillView(CLIENT, at);
  return OK;
}

/** fillView describes the image at `at`, which isImage accepted, in `view`. */
function fillView(view: usize, at: usize): void {
  store<u32>(view, <u32>at);
  for (let v6: usize = 0; v6 <= 4; v6 += 4) {
    const bits = load<u32>(at + 24 + 2 * v6);
    store<u32>(view + v6, <u32>at + load<u32>(at + 12 + v6), 4);
    store<u32>(view + v6, bits == 0 ? 0 : <u32>at + load<u32>(at + 28 + 2 * v6), 12);
    store<u32>(view + v6, bits, 20);
    const list = load<u32>(at + 40 + v6);
    store<u32>(view + v6, list == 0 ? 0 : <u32>at + list, 28);
  }
  // Input longer than SCRATCH goes past everything attached.
  const end = at + <usize>load<u32>(at, 8);
  if (top < end) top = end;
}

/** isTable reports whether a header's table fields describe a table inside the image. */
function isTable(bits: u32, offset: u32, size: usize): bool {
  if (bits == 0) return true;
  if (bits != DIRECT_SMALL && bits != DIRECT_LARGE) return false;
  return offset >= <u32>IMAGE_HEADER && <usize>offset + (<usize>4 << bits) <= size;
}

/** isList reports whether a header's list offset is none or a list inside the image at `at`. */
function isList(at: usize, offset: u32, size: usize): bool {
  if (offset == 0) return true;
  if (offset < <u32>IMAGE_HEADER || (offset & 7) != 0 || <usize>offset + 8 > size) return false;
  const count = load<u32>(at + <usize>offset);
  return count <= <u32>LIST_MAX && <usize>offset + 8 + <usize>count * LIST_ENTRY <= size;
}

/**
 * find returns the value of the longest prefix of the attached image that
 * holds the last parsed address (addrHi, addrLo) in `family` (4 or 6), or 0.
 */
export function find(family: i32): u32 {
  return search(ATTACHED, family);
}

/** findClient is find in the client set; 0 when none is attached. */
export function findClient(family: i32): u32 {
  return search(CLIENT, family);
}

/**
 * search looks the last parsed address up in `family` (4 or 6) of the image
 * that `view` describes.
 */
@inline
function search(view: usize, family: i32): u32 {
  const at = <usize>load<u32>(view);
  if (at == 0) return 0;
  const part = view + (<usize>(family != 4) << 2);
  let hi = addrHi;
  let lo = addrLo;

  // A short family is a list, longest prefix first.
  const list = <usize>load<u32>(part, 28);
  if (list != 0) {
    const end = list + 8 + <usize>load<u32>(list) * LIST_ENTRY;
    for (let e = list + 8; e < end; e += LIST_ENTRY) {
      const outsideHi = (hi ^ load<u64>(e)) & load<u64>(e, 16);
      const outsideLo = (lo ^ load<u64>(e, 8)) & load<u64>(e, 24);
      if ((outsideHi | outsideLo) == 0) return load<u32>(e, 32);
    }
    return 0;
  }

  // The direct table stands for the first levels: one load instead of two or three.
  let node = <usize>load<u32>(part, 4);
  const table = <usize>load<u32>(part, 12);
  if (table != 0) {
    const bits = <u64>load<u32>(part, 20);
    const entry = load<u32>(table + (<usize>(hi >> (64 - bits)) << 2));
    if ((entry & 1) == 0) return load<u32>(at + <usize>entry);
    node = at + <usize>entry - 1;
    hi = (hi << bits) | (lo >> (64 - bits));
    lo <<= bits;
  }

  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const bit: u64 = <u64>1 << (hi >> 58);
    const children = load<u64>(node);
    if (children & bit) {
      node = at + <usize>load<u32>(node, 16) + <usize>popcnt(children & (bit - 1)) * NODE_SIZE;
      hi = (hi << 6) | (lo >> 58);
      lo <<= 6;
      continue;
    }
    const rank = <usize>popcnt(load<u64>(node, 8) & ((bit << 1) - 1));
    return load<u32>(at + <usize>load<u32>(node, 20) + ((rank - 1) << 2));
  }
  return 0;
}
