/**
 * Matcher: one instance of the core and the views JavaScript writes input
 * and reads results through. IpSet, IpMap, ProxyTrust and canonicalAddress
 * all work through one.
 */
import {
  RESULT_END,
  RESULT_FAMILY,
  RESULT_HI,
  RESULT_LO,
  RESULT_START,
  SCRATCH,
  SCRATCH_SIZE,
  TEXT,
} from './layout.js';
import { type CoreExports, writeAscii } from './wasm.js';

// NOTE: V8 reads an imported binding afresh at every use, even a constant, and
// in the lookup loop that tripled its cost; module-local copies fold away.
const SCRATCH_AT: number = SCRATCH;
const SCRATCH_LIMIT: number = SCRATCH_SIZE;
const TEXT_AT: number = TEXT;
const START_WORD: number = RESULT_START >> 2;
const END_WORD: number = RESULT_END >> 2;
const FAMILY_WORD: number = RESULT_FAMILY >> 2;
// Each u64 of RESULT is two little-endian u32s: the low half first.
const HI_WORD: number = RESULT_HI >> 2;
const LO_WORD: number = RESULT_LO >> 2;

// SHORT_TEXT is the longest text the lookup copies with a loop.
const SHORT_TEXT = 16;
const encoder = new TextEncoder();

/**
 * Matcher is one instance of the core with one attached trie (or none), and
 * a byte view of its memory for writing input.
 */
export class Matcher {
  readonly core: CoreExports;
  /** bytes views the instance's memory; renew it after the memory grows. */
  bytes: Uint8Array;
  /** words views the RESULT record as u32s; renewed with bytes. */
  words: Uint32Array;
  /** latin1 views memory as a Buffer, to read TEXT; renewed with bytes. */
  latin1: Buffer;
  /** scratch views SCRATCH alone; renewed with bytes. */
  scratch: Uint8Array;
  readonly #lookup: CoreExports['lookup'];

  constructor(core: CoreExports) {
    this.core = core;
    this.bytes = new Uint8Array(core.memory.buffer);
    this.words = new Uint32Array(core.memory.buffer, 0, 16);
    this.latin1 = Buffer.from(core.memory.buffer);
    this.scratch = new Uint8Array(core.memory.buffer, SCRATCH, SCRATCH_SIZE);
    this.#lookup = core.lookup;
  }

  /**
   * find returns the value `lookup` gives for `addr`: the winning rule's
   * index + 1, 0 for no match, -1 when `addr` is not an address (including
   * anything that is not a string). Never throws.
   */
  find(addr: unknown): number {
    if (typeof addr !== 'string') return -1;
    const length = addr.length;
    if (length === 0 || length > SCRATCH_LIMIT) return -1;

    // Copying the text in is most of the cost of a lookup: a loop is
    // quickest for a dotted quad, encodeInto for anything longer (about
    // 35 ns flat, against 1.7 ns a character for the loop).
    if (length <= SHORT_TEXT) {
      const bytes = this.bytes;
      for (let i = 0; i < length; i++) {
        const unit = addr.charCodeAt(i);
        bytes[SCRATCH_AT + i] = unit < 0x80 ? unit : 0xff;
      }
      return this.#lookup(SCRATCH_AT, length);
    }
    return this.#lookup(SCRATCH_AT, this.encode(addr));
  }

  /**
   * findParsed is find for the address that `other` last parsed or walked
   * to, read from its RESULT record instead of from text.
   */
  findParsed(other: Matcher): number {
    const w = other.words;
    return this.core.lookupParsed(
      w[FAMILY_WORD]!,
      w[HI_WORD + 1]!,
      w[HI_WORD]!,
      w[LO_WORD + 1]!,
      w[LO_WORD]!,
    );
  }

  /**
   * encode writes `text` at SCRATCH as UTF-8 and returns its length in
   * bytes. Anything beyond ASCII becomes bytes above 0x7f, which no parser
   * accepts; text that does not fit returns SCRATCH_SIZE, which no address
   * fills either.
   */
  encode(text: string): number {
    const { read, written } = encoder.encodeInto(text, this.scratch);
    return read === text.length ? written : SCRATCH_LIMIT;
  }

  /**
   * renew replaces the views of memory after it grew. A matcher may be shared
   * (an IpSet passed to ProxyTrust), so views live here, not with its users.
   */
  renew(): void {
    this.bytes = new Uint8Array(this.core.memory.buffer);
    this.words = new Uint32Array(this.core.memory.buffer, 0, 16);
    this.latin1 = Buffer.from(this.core.memory.buffer);
    this.scratch = new Uint8Array(this.core.memory.buffer, SCRATCH, SCRATCH_SIZE);
  }

  /**
   * parse reads `addr` into RESULT and returns its family (IPv4-mapped
   * addresses unwrapped), or 0 when it is not an address. Never throws.
   */
  parse(addr: unknown): number {
    if (typeof addr !== 'string') return 0;
    const length = addr.length;
    if (length === 0 || length > SCRATCH_LIMIT) return 0;
    if (length <= SHORT_TEXT) {
      writeAscii(this.bytes, SCRATCH_AT, addr);
      return this.core.parse(SCRATCH_AT, length);
    }
    return this.core.parse(SCRATCH_AT, this.encode(addr));
  }

  /**
   * text returns the address in RESULT as canonical text. `source` is the
   * string it was read from and `offset` where that string starts in
   * memory, or -1 when its bytes do not line up with its characters (it was
   * not ASCII); when the source already is canonical it is sliced rather
   * than copied out of memory.
   */
  text(source: string, offset: number): string {
    // A dotted quad is canonical as the parser takes it; only a mapped one,
    // spelt with colons, needs formatting.
    const words = this.words;
    if (words[FAMILY_WORD] === 4 && offset >= 0) {
      const start = words[START_WORD]! - offset;
      const text = source.slice(start, words[END_WORD]! - offset);
      if (!text.includes(':')) return text;
    }
    const length = this.core.format();
    if (length >= 0) return this.latin1.toString('latin1', TEXT_AT, TEXT_AT + length);
    // The source is canonical: take it from the string, or else from memory.
    const start = this.words[START_WORD]!;
    if (offset >= 0) return source.slice(start - offset, start - offset - length);
    return this.latin1.toString('latin1', start, start - length);
  }
}
