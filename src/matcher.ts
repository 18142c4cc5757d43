/**
 * Matcher: one instance of the core and the views JavaScript writes input
 * and reads results through. IpSet, IpMap, ProxyTrust, the gate and
 * canonicalAddress all work through one.
 */
import {
  RESULT_START,
  RESULT_TEXT_END,
  RESULT_TEXT_START,
  Reason,
  SCRATCH,
  SCRATCH_SIZE,
} from './layout.js';
import { type CoreExports, writeAscii } from './wasm.js';

// NOTE: V8 reads an imported binding afresh at every use, even a constant, and
// in the lookup loop that tripled its cost; module-local copies fold away.
const SCRATCH_AT: number = SCRATCH;
const SCRATCH_LIMIT: number = SCRATCH_SIZE;
const START_WORD: number = RESULT_START >> 2;
const TEXT_START_WORD: number = RESULT_TEXT_START >> 2;
const TEXT_END_WORD: number = RESULT_TEXT_END >> 2;
const TOO_MANY_HOPS: number = Reason.REASON_TOO_MANY_HOPS;

// SHORT_TEXT is the longest text the lookup copies with a loop, and
// SHORT_PEER the longest peer a walk does: an IPv6 address with a zone.
const SHORT_TEXT = 16;
const SHORT_PEER = 64;
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
    const written = this.encode(addr);
    return written < 0 ? -1 : this.#lookup(SCRATCH_AT, written);
  }

  /**
   * encode writes `text` at SCRATCH as UTF-8 and returns its length in
   * bytes. Anything beyond ASCII becomes bytes above 0x7f, which no parser
   * accepts. Text that does not fit returns -1: it is no address, and what
   * it left in SCRATCH must not be read with bytes of an earlier call.
   */
  encode(text: string): number {
    const { read, written } = encoder.encodeInto(text, this.scratch);
    return read === text.length ? written : -1;
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
    const written = this.encode(addr);
    return written < 0 ? 0 : this.core.parse(SCRATCH_AT, written);
  }

  /**
   * text returns the canonical text of the address in RESULT. `source` is
   * the string it was read from and `offset` where that string starts in
   * memory, or -1 when its bytes do not line up with its characters (it was
   * not ASCII); canonical text inside the source is sliced from the string
   * rather than copied out of memory.
   */
  text(source: string, offset: number): string {
    const words = this.words;
    const start = words[TEXT_START_WORD]!;
    const end = words[TEXT_END_WORD]!;
    if (offset >= 0 && start >= offset && end - offset <= source.length) {
      return source.slice(start - offset, end - offset);
    }
    return this.latin1.toString('latin1', start, end);
  }

  // Where the last walk's peer and header lie in memory, for walked; the
  // strings themselves are handed back to walked, since storing them here
  // would cost a write barrier per request.
  #peerAt = 0;
  #headerAt = 0;

  /**
   * walk writes a request's socket peer and forwarding header (its lines
   * joined) into memory, walks them with `flags` and `maxHops`, and returns
   * the core's reason code. Never throws.
   */
  walk(peer: string, header: string, flags: number, maxHops: number): number {
    // The header goes at SCRATCH and the peer right after it, or both past
    // the heap when they might not fit (UTF-8 takes up to 3 bytes a unit).
    // When both are ASCII, as they nearly always are, encodeInto writes the
    // header and a loop the peer: joining them for one encodeInto would
    // build and flatten a new string per request: up to 15% of the gate's
    // time in a server under load, though nothing in a tight loop.
    const length = header.length + peer.length;
    if (header.length > 0 && 3 * length <= SCRATCH_LIMIT && peer.length <= SHORT_PEER) {
      if (this.encode(header) === header.length && this.#writePeer(peer, header.length)) {
        return this.#walkAt(peer, header, SCRATCH_AT, header.length, flags, maxHops);
      }
    }
    let written: number;
    let at = SCRATCH_AT;
    if (3 * header.length + peer.length <= SCRATCH_LIMIT) {
      written = this.encode(header);
    } else {
      const room = 3 * header.length + peer.length;
      at = this.core.spare(room);
      // Growing memory detaches the old buffer, which leaves the view empty.
      if (this.bytes.length === 0) this.renew();
      if (at === 0) return TOO_MANY_HOPS;
      const view = new Uint8Array(this.core.memory.buffer, at, room);
      written = encoder.encodeInto(header, view).written;
    }
    writeAscii(this.bytes, at + written, peer);
    return this.#walkAt(peer, header, at, written, flags, maxHops);
  }

  /**
   * #writePeer copies an ASCII peer into SCRATCH `offset` bytes in and
   * reports whether it was ASCII (if not, the caller writes it again).
   */
  #writePeer(peer: string, offset: number): boolean {
    const bytes = this.bytes;
    const at = SCRATCH_AT + offset;
    let units = 0;
    for (let i = 0; i < peer.length; i++) {
      const unit = peer.charCodeAt(i);
      units |= unit;
      bytes[at + i] = unit;
    }
    return units < 0x80;
  }

  /** #walkAt walks the header's `written` bytes at `at` and the peer right after them. */
  #walkAt(
    peer: string,
    header: string,
    at: number,
    written: number,
    flags: number,
    maxHops: number,
  ): number {
    const peerAt = at + written;
    this.#peerAt = peerAt;
    this.#headerAt = written === header.length ? at : -1;
    return this.core.walk(peerAt, peer.length, at, written, flags, maxHops);
  }

  /**
   * walked returns the canonical text of the address the last walk chose,
   * given the `peer` and `header` that walk was given. Byte offsets are
   * string offsets only for ASCII, which the peer is whenever it parsed;
   * the header's offset is -1 when it was not.
   */
  walked(peer: string, header: string): string {
    return this.words[START_WORD]! >= this.#peerAt
      ? this.text(peer, this.#peerAt)
      : this.text(header, this.#headerAt);
  }
}
