/**
 * Compiling rules into a trie image, and explaining a rule that does not
 * parse. The core only returns a status code; the words live here.
 */
import { invalid, RuleError } from './errors.js';
import { SCRATCH, SCRATCH_SIZE, Status } from './layout.js';
import { Matcher } from './matcher.js';
import { type CoreExports, instantiate } from './wasm.js';

const encoder = new TextEncoder();

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
      throw new RuleError(where, String(rule), i, `a rule must be a string, not ${typeName(rule)}`);
    }
    if (rule.length > SCRATCH_SIZE) {
      throw new RuleError(where, rule, i, `rule is ${rule.length} characters long`);
    }
    // Growing memory detaches the old buffer, which leaves the view empty.
    if (scratch.length === 0)
      scratch = new Uint8Array(builder.memory.buffer, SCRATCH, SCRATCH_SIZE);
    // encodeInto, unlike a charCodeAt loop, reads a string built by
    // concatenation without walking its pieces per character; anything
    // beyond ASCII becomes bytes above 0x7f, which no parser accepts.
    // A rule that fits in characters but not in bytes is not ASCII, and
    // the core must not read it together with an earlier rule's bytes.
    const { read, written } = encoder.encodeInto(rule, scratch);
    if (read !== rule.length) throw new RuleError(where, rule, i, 'not an IPv4 or IPv6 address');
    const status = builder.addRule(SCRATCH, written, i + 1);
    if (status === Status.ERR_NO_MEMORY) throw outOfMemory(where);
    if (status !== Status.OK) throw new RuleError(where, rule, i, explainRule(rule, status));
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
  const [at] = placeImages(core, [builder]);
  if (core.attach(at!) !== Status.OK) throw outOfMemory(where);
  return new Matcher(core);
}

/**
 * combineSets returns a fresh instance that holds copies of two sets'
 * images: `trusted` attached, so that walks trust it, and `client` as the
 * client set, so that a walk also looks up the address it chooses. Either
 * may be null, for none. Throws a RangeError naming `where` when memory
 * runs out.
 */
export function combineSets(
  where: string,
  trusted: Matcher | null,
  client: Matcher | null,
): Matcher {
  const core = instantiate();
  const sources = [trusted, client].filter((m) => m !== null).map((m) => m.core);
  const offsets = placeImages(core, sources);
  if (trusted !== null && core.attach(offsets[0]!) !== Status.OK) throw outOfMemory(where);
  if (client !== null && core.attachClientSet(offsets.at(-1)!) !== Status.OK) {
    throw outOfMemory(where);
  }
  return new Matcher(core);
}

/**
 * placeImages copies the attached image of each source into `core`, one
 * after another from its heap base, growing its memory to fit, and returns
 * where each copy starts.
 */
function placeImages(core: CoreExports, sources: readonly CoreExports[]): number[] {
  const offsets: number[] = [];
  let end = core.heapBase();
  for (const source of sources) {
    offsets.push(end);
    // Images start 16-byte aligned; arithmetic, not `& ~15`, past 2 GiB.
    end = Math.ceil((end + source.imageSize()) / 16) * 16;
  }
  const needed = end - core.memory.buffer.byteLength;
  if (needed > 0) core.memory.grow(Math.ceil(needed / 65536));

  const bytes = new Uint8Array(core.memory.buffer);
  sources.forEach((source, i) => {
    const image = new Uint8Array(source.memory.buffer, source.imageOffset(), source.imageSize());
    bytes.set(image, offsets[i]);
  });
  return offsets;
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
