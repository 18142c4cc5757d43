// Turns the IPFire location database, as Debian ships it in the tor-geoipdb
// package, into the prefix data the benchmarks run on.
//
// Upstream lists inclusive address ranges (IPv4 as integers, IPv6 as text),
// one per line with a country code. The benchmarks need prefixes, so each
// range is covered by the fewest aligned prefixes that hold exactly its
// addresses. The repository keeps the ranges, not the prefixes: written as
// gaps and lengths in hex and gzipped they take about 370 KB for the whole
// database, and the prefixes are derived again on every run.
//
//   node --import tsx scripts/geoip.ts            fetch with apt-get, rewrite
//   node --import tsx scripts/geoip.ts --from DIR  read DIR/geoip, DIR/geoip6
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

/** RANGES_FILE is the committed, compact form of the upstream ranges. */
export const RANGES_FILE = fileURLToPath(
  new URL('../bench/data/geoip-ranges.txt.gz', import.meta.url),
);

const CACHE_DIR = fileURLToPath(new URL('../bench/.cache/', import.meta.url));
const PACKAGE = 'tor-geoipdb';

export type Family = 4 | 6;

/** Range is an inclusive run of addresses, first to last, of one family. */
export interface Range {
  first: bigint;
  last: bigint;
}

/** Prefix is an aligned block: its first address and its length in bits. */
export interface Prefix {
  addr: bigint;
  bits: number;
}

/** Ranges holds the ranges of both families, each sorted and disjoint. */
export interface Ranges {
  v4: Range[];
  v6: Range[];
  /** Comment lines from the data file's header, without the leading '#'. */
  notes: string[];
}

/** widthOf reports the number of bits in an address of the family. */
export function widthOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** bitLength reports how many bits n needs (0 for 0); n must not be negative. */
export function bitLength(n: bigint): number {
  let length = 0;
  while (n >= 0x1_0000_0000n) {
    n >>= 32n;
    length += 32;
  }
  return length + 32 - Math.clz32(Number(n));
}

/**
 * rangeToPrefixes returns the fewest prefixes whose union is exactly the
 * addresses first..last (inclusive), in address order. It throws a
 * RangeError when first is above last or either lies outside the family.
 *
 * Walking up from first, each step takes the largest block that starts at
 * the current address (its alignment, from the lowest set bit) and does not
 * pass last. Greedy is optimal here because any cover must contain a block
 * starting at the current address, and a larger one never hurts later steps.
 */
export function rangeToPrefixes(family: Family, first: bigint, last: bigint): Prefix[] {
  const width = widthOf(family);
  const max = (1n << BigInt(width)) - 1n;
  if (first < 0n || last > max || first > last) {
    throw new RangeError(
      `rangeToPrefixes(${family}, ${first}, ${last}): not a range of IPv${family}`,
    );
  }

  const prefixes: Prefix[] = [];
  let addr = first;
  for (;;) {
    // The alignment of addr bounds the block from above; zero is aligned to all.
    const alignBits = addr === 0n ? width : bitLength(addr & -addr) - 1;
    const spanBits = bitLength(last - addr + 1n) - 1;
    const sizeBits = Math.min(alignBits, spanBits);
    prefixes.push({ addr, bits: width - sizeBits });

    const end = addr + (1n << BigInt(sizeBits)) - 1n;
    if (end === last) break;
    addr = end + 1n;
  }

  return prefixes;
}

/** formatAddress writes an address as a dotted quad or in RFC 5952 form. */
export function formatAddress(family: Family, addr: bigint): string {
  if (family === 4) {
    const n = Number(addr);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }

  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(Number((addr >> shift) & 0xffffn));
  }

  // RFC 5952 section 4.2: compress the longest run of two or more zero
  // groups, the first such run on a tie.
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }

  const hex = groups.map((group) => group.toString(16));
  if (bestAt < 0) return hex.join(':');
  const head = hex.slice(0, bestAt).join(':');
  const tail = hex.slice(bestAt + bestLength).join(':');
  return `${head}::${tail}`;
}

/** formatPrefix writes a prefix as rule text, such as "10.0.0.0/8". */
export function formatPrefix(family: Family, prefix: Prefix): string {
  return `${formatAddress(family, prefix.addr)}/${prefix.bits}`;
}

/**
 * parseIpv6 reads the IPv6 text that upstream writes (hex groups with at most
 * one "::", no embedded IPv4). It throws a RangeError on anything else.
 */
export function parseIpv6(text: string): bigint {
  const halves = text.split('::');
  if (halves.length > 2) throw new RangeError(`parseIpv6(${JSON.stringify(text)}): two "::"`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) {
    throw new RangeError(`parseIpv6(${JSON.stringify(text)}): wrong number of groups`);
  }

  let addr = 0n;
  for (const group of [
    ...head,
    ...Array<string>(halves.length === 2 ? missing : 0).fill('0'),
    ...tail,
  ]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) {
      throw new RangeError(
        `parseIpv6(${JSON.stringify(text)}): bad group ${JSON.stringify(group)}`,
      );
    }
    addr = (addr << 16n) | BigInt(Number.parseInt(group, 16));
  }
  return addr;
}

/**
 * parseTorGeoip reads one of tor's geoip files ("first,last,CC" per line,
 * '#' comments). IPv4 files give integers, IPv6 files give text. It throws a
 * RangeError naming the line on anything it cannot read.
 */
export function parseTorGeoip(family: Family, text: string): Range[] {
  const ranges: Range[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(',');
    if (fields.length !== 3) throw new RangeError(`line ${i + 1}: expected 3 fields`);

    const first = family === 4 ? BigInt(fields[0]!) : parseIpv6(fields[0]!);
    const last = family === 4 ? BigInt(fields[1]!) : parseIpv6(fields[1]!);
    ranges.push({ first, last });
  }

  return ranges;
}

/**
 * encodeRanges writes ranges in the committed text form: '#' header lines,
 * then a line "4" or "6" opening each family, then one line per range with
 * two hex numbers: the gap since the end of the previous range (counted from
 * address 0 for the first) and the number of addresses. It throws a
 * RangeError if the ranges are unsorted or overlap.
 */
export function encodeRanges(ranges: Ranges): string {
  const lines = ranges.notes.map((note) => `#${note}`);
  for (const [family, list] of [
    [4, ranges.v4],
    [6, ranges.v6],
  ] as const) {
    lines.push(String(family));
    let next = 0n;
    for (const { first, last } of list) {
      if (first < next || last < first) {
        throw new RangeError(`encodeRanges: IPv${family} ranges unsorted at ${first}`);
      }
      lines.push(`${(first - next).toString(16)} ${(last - first + 1n).toString(16)}`);
      next = last + 1n;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** decodeRanges reads the form encodeRanges writes; it throws a RangeError on a bad line. */
export function decodeRanges(text: string): Ranges {
  const ranges: Ranges = { v4: [], v6: [], notes: [] };
  let list: Range[] | null = null;
  let next = 0n;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line.startsWith('#')) {
      ranges.notes.push(line.slice(1));
      continue;
    }
    if (line === '4' || line === '6') {
      list = line === '4' ? ranges.v4 : ranges.v6;
      next = 0n;
      continue;
    }

    const match = /^([0-9a-f]+) ([0-9a-f]+)$/.exec(line);
    if (list === null || match === null) throw new RangeError(`decodeRanges: bad line ${i + 1}`);
    const first = next + BigInt(`0x${match[1]}`);
    const last = first + BigInt(`0x${match[2]}`) - 1n;
    list.push({ first, last });
    next = last + 1n;
  }

  return ranges;
}

/** readRanges loads and decodes the committed ranges file (or another one). */
export function readRanges(file = RANGES_FILE): Ranges {
  return decodeRanges(gunzipSync(readFileSync(file)).toString('utf8'));
}

/** headerNotes picks the provenance lines out of a tor geoip file's comments. */
function headerNotes(text: string): string[] {
  const wanted = /^# (Generated|Vendor|License):/;
  const notes = new Set<string>();
  for (const line of text.split('\n', 40)) {
    if (wanted.test(line)) notes.add(line.slice(1).replace(/\s+/g, ' '));
  }
  return [...notes];
}

/** fetchPackage downloads and unpacks tor-geoipdb with apt; returns its files' folder. */
function fetchPackage(): { dir: string; version: string } {
  mkdirSync(CACHE_DIR, { recursive: true });
  execFileSync('apt-get', ['download', PACKAGE], { cwd: CACHE_DIR, stdio: 'inherit' });
  const debs = readdirSync(CACHE_DIR).filter((name) => name.startsWith(`${PACKAGE}_`));
  const deb = join(CACHE_DIR, debs.sort().at(-1)!);
  const root = join(CACHE_DIR, 'root');
  execFileSync('dpkg-deb', ['-x', deb, root]);
  const version = execFileSync('dpkg-deb', ['-f', deb, 'Version']).toString().trim();
  return { dir: join(root, 'usr/share/tor'), version };
}

function main(args: string[]): void {
  const at = args.indexOf('--from');
  const source = at >= 0 ? { dir: args[at + 1]!, version: 'unknown' } : fetchPackage();

  const text4 = readFileSync(join(source.dir, 'geoip'), 'utf8');
  const text6 = readFileSync(join(source.dir, 'geoip6'), 'utf8');
  const ranges: Ranges = {
    v4: parseTorGeoip(4, text4),
    v6: parseTorGeoip(6, text6),
    notes: [` ${PACKAGE} ${source.version}`, ...headerNotes(text4)],
  };

  const out = RANGES_FILE;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, gzipSync(encodeRanges(ranges), { level: 9 }));

  let prefixes4 = 0;
  let prefixes6 = 0;
  for (const { first, last } of ranges.v4) prefixes4 += rangeToPrefixes(4, first, last).length;
  for (const { first, last } of ranges.v6) prefixes6 += rangeToPrefixes(6, first, last).length;
  process.stdout.write(
    `${out}: IPv4 ${ranges.v4.length} ranges, ${prefixes4} prefixes; ` +
      `IPv6 ${ranges.v6.length} ranges, ${prefixes6} prefixes\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2));
}
