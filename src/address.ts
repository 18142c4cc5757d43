/**
 * Address text: strict parsing through the core and canonical output.
 */
import { RESULT_HI, SCRATCH, SCRATCH_SIZE } from './layout.js';
import { type CoreExports, instantiate, writeAscii } from './wasm.js';

let parser: { core: CoreExports; bytes: Uint8Array; words: Uint32Array } | undefined;

function shared() {
  if (parser === undefined) {
    const core = instantiate();
    parser = {
      core,
      bytes: new Uint8Array(core.memory.buffer),
      words: new Uint32Array(core.memory.buffer, 0, 16),
    };
  }
  return parser;
}

/**
 * formatAddress writes the address held in `words` (the RESULT record read as
 * u32s) as text: a dotted quad for family 4, RFC 5952 text for family 6
 * (lower-case hex, leading zeros dropped, the longest run of two or more zero
 * groups, the first of equals, written "::").
 */
export function formatAddress(family: number, words: Uint32Array): string {
  const base = RESULT_HI >> 2;
  if (family === 4) {
    const v = words[base + 1]!;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }

  // hi is words[base + 1] then words[base]; lo is words[base + 3], words[base + 2].
  const order = [base + 1, base, base + 3, base + 2];
  const groups: number[] = [];
  for (const index of order) {
    const word = words[index]!;
    groups.push(word >>> 16, word & 0xffff);
  }

  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }

  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/**
 * canonicalAddress returns `text` as canonical address text, or null when it
 * is not a strict address (see IpSet for what that means). IPv4-mapped
 * addresses come back as IPv4, zones are dropped, IPv6 follows RFC 5952.
 * Never throws.
 */
export function canonicalAddress(text: unknown): string | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > SCRATCH_SIZE) return null;
  const { core, bytes, words } = shared();
  writeAscii(bytes, SCRATCH, text);
  const family = core.parse(SCRATCH, text.length);
  return family === 0 ? null : formatAddress(family, words);
}

/** isAddress reports whether `text` is a strict IPv4 or IPv6 address. */
export function isAddress(text: unknown): boolean {
  if (typeof text !== 'string' || text.length === 0 || text.length > SCRATCH_SIZE) return false;
  const { core, bytes } = shared();
  writeAscii(bytes, SCRATCH, text);
  return core.parse(SCRATCH, text.length) !== 0;
}
