/**
 * Compiling rules into a trie image, and explaining a rule that does not
 * parse. The core only returns a status code; the words live here.
 */
import { invalid, RuleError } from './errors.js';
import {
  RESULT_END,
  RESULT_FAMILY,
  RESULT_HI,
  RESULT_LO,
  RESULT_START,
  SCRATCH,
  SCRATCH_SIZE,
  Status,
  TEXT,
} from './layout.js';
import { type CoreExports, instantiate, writeAscii } from './wasm.js';

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
    if (length < 0 && offset >= 0) {
      const start = this.words[START_WORD]! - offset;
      return source.slice(start, start - length);
    }
    const from = TEXT_AT;
    return this.latin1.toString('latin1', from, from + Math.abs(length));
  }
}

/**
 * compileRules builds a matcher in which `lookup` returns i + 1 for the rule
 * at index i that is the longest match (the last such rule when several name
 * the same prefix), or 0. Throws RuleError naming `where` for a bad rule.
 */
export function compileRules(where: string, rules: readonly unknown[]): Matcher {
  const builder = instantiate();
  if (builder.reset() !== Status.OK) throw outOfMemory(where);

  let scratch = new Uint8Array(builder.memory.buffer, SCRATCH, SCRATCH_SIZE);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (typeof rule !== 'string') {
      throw new RuleError(where, String(rule), `a rule must be a string, not ${typeName(rule)}`);
    }
    if (rule.length > SCRATCH_SIZE) {
      throw new RuleError(where, rule, `rule is ${rule.length} characters long`);
    }
    // Growing memory detaches the old buffer, which leaves the view empty.
    if (scratch.length === 0)
      scratch = new Uint8Array(builder.memory.buffer, SCRATCH, SCRATCH_SIZE);
    // encodeInto, unlike a charCodeAt loop, reads a string built by
    // concatenation without walking its pieces per character; anything
    // beyond ASCII becomes bytes above 0x7f, which no parser accepts.
    const { read, written } = encoder.encodeInto(rule, scratch);
    const length = read === rule.length ? written : SCRATCH_SIZE;
    const status = builder.addRule(SCRATCH, length, i + 1);
    if (status === Status.ERR_NO_MEMORY) throw outOfMemory(where);
    if (status !== Status.OK) throw new RuleError(where, rule, explainRule(rule, status));
  }
  if (builder.build() !== Status.OK) throw outOfMemory(where);

  return relocate(builder, where);
}

/**
 * relocate copies the built image into a fresh instance sized to fit it,
 * so that the memory used while building (the staged prefixes) is not kept
 * alive with the set.
 */
function relocate(builder: CoreExports, where: string): Matcher {
  const core = instantiate();
  const size = builder.imageSize();
  const at = core.heapBase();
  const needed = at + size - core.memory.buffer.byteLength;
  if (needed > 0) core.memory.grow(Math.ceil(needed / 65536));

  const from = builder.imageOffset();
  new Uint8Array(core.memory.buffer).set(new Uint8Array(builder.memory.buffer, from, size), at);
  if (core.attach(at) !== Status.OK) throw outOfMemory(where);
  return new Matcher(core);
}

function outOfMemory(where: string): RangeError {
  return invalid('ERR_INVALID_RULE', `${where}: out of memory`, RangeError);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

/** explainRule turns a status from `addRule` into a reason. */
export function explainRule(rule: string, status: number): string {
  const slash = rule.indexOf('/');
  const suffix = slash < 0 ? '' : rule.slice(slash + 1);
  switch (status) {
    case Status.ERR_EMPTY:
      return 'empty rule';
    case Status.ERR_PREFIX_SYNTAX:
      return suffix === ''
        ? 'prefix length is missing after "/"'
        : `prefix length "${suffix}" is neither a number nor an IPv4 netmask`;
    case Status.ERR_PREFIX_RANGE:
      return `prefix length ${Number(suffix)} exceeds ${rule.includes(':') ? 128 : 32}`;
    case Status.ERR_NETMASK:
      return `netmask ${suffix} is not contiguous`;
    case Status.ERR_NETMASK_FAMILY:
      return 'an IPv6 rule takes a prefix length, not a netmask';
    case Status.ERR_RANGE_ORDER:
      return 'range ends before it starts';
    case Status.ERR_RANGE_FAMILY:
      return 'range mixes IPv4 and IPv6';
    default:
      return explainAddress(rule, slash);
  }
}

/** explainAddress says why the address part of a rule is not an address. */
function explainAddress(rule: string, slash: number): string {
  if (/\s/.test(rule)) return 'contains whitespace';
  if (rule.includes(',')) return 'two rules joined by a comma; give each rule separately';
  if (/[[\]]/.test(rule)) return 'brackets are not part of an address';
  if (rule.includes('*')) return 'wildcards are not supported; write a prefix such as 10.0.0.0/8';

  const parts =
    slash < 0 && rule.includes('-')
      ? rule.split('-')
      : [rule.slice(0, slash < 0 ? undefined : slash)];
  for (const part of parts) {
    const reason = explainPart(part);
    if (reason !== undefined) return reason;
  }
  return 'not an IPv4 or IPv6 address';
}

function explainPart(part: string): string | undefined {
  if (part === '') return 'address is missing';
  if (part.includes(':')) return undefined;
  if (/^[0-9.]+$/.test(part)) {
    const fields = part.split('.');
    if (fields.length !== 4) return `IPv4 address needs 4 decimal fields, not ${fields.length}`;
    for (const field of fields) {
      if (field === '') return 'IPv4 address has an empty field';
      if (field.length > 1 && field.startsWith('0')) {
        return `IPv4 field "${field}" has a leading zero, which parsers read differently`;
      }
      if (Number(field) > 255) return `IPv4 field ${field} exceeds 255`;
    }
    return undefined;
  }
  if (/^[0-9]+$|^0x/i.test(part)) return 'IPv4 address needs 4 decimal fields';
  if (/^[a-z0-9.-]+$/i.test(part)) return 'hostnames are not supported; give an address';
  return undefined;
}
