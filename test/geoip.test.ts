import ipaddr from 'ipaddr.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bitLength,
  decodeRanges,
  encodeRanges,
  type Family,
  formatAddress,
  type Prefix,
  parseIpv6,
  parseTorGeoip,
  rangeToPrefixes,
  readRanges,
  widthOf,
} from '../scripts/geoip.js';

/** random returns a seeded generator of floats in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * fewestBlocks counts, by trying every aligned block at every step, the
 * fewest prefixes that cover first..last exactly: the slow twin of the
 * greedy walk. Only for short ranges.
 */
function fewestBlocks(width: number, first: bigint, last: bigint): number {
  const best = new Map<bigint, number>();
  best.set(last + 1n, 0);
  for (let addr = last; addr >= first; addr--) {
    let fewest = Number.POSITIVE_INFINITY;
    for (let k = 0n; k <= BigInt(width); k++) {
      const size = 1n << k;
      if (addr % size !== 0n || addr + size - 1n > last) break;
      fewest = Math.min(fewest, 1 + best.get(addr + size)!);
    }
    best.set(addr, fewest);
  }
  return best.get(first)!;
}

/** covered lists every address of the prefixes, in order. */
function covered(width: number, prefixes: Prefix[]): bigint[] {
  const addrs: bigint[] = [];
  for (const { addr, bits } of prefixes) {
    const size = 1n << BigInt(width - bits);
    assert.is(addr % size, 0n, 'Expected every prefix to be aligned');
    for (let i = 0n; i < size; i++) addrs.push(addr + i);
  }
  return addrs;
}

function checkCover(family: Family, first: bigint, last: bigint): void {
  const width = widthOf(family);
  const prefixes = rangeToPrefixes(family, first, last);
  const addrs = covered(width, prefixes);
  assert.is(addrs.length, Number(last - first + 1n), `Expected ${first}..${last} covered once`);
  for (let i = 0; i < addrs.length; i++) assert.is(addrs[i], first + BigInt(i));
  assert.is(prefixes.length, fewestBlocks(width, first, last), `Expected fewest for ${first}`);
}

const toPrefixes = suite('rangeToPrefixes');

toPrefixes('covers short IPv4 ranges exactly, with the fewest prefixes', () => {
  const next = random(4);
  for (let i = 0; i < 400; i++) {
    // Small bases keep alignment interesting; the top of the space checks the last address.
    const base = i % 4 === 0 ? 2n ** 32n - 600n : BigInt(Math.floor(next() * 2 ** 32));
    const first = base + BigInt(Math.floor(next() * 300));
    checkCover(4, first, first + BigInt(Math.floor(next() * 300)));
  }
});

toPrefixes('covers short IPv6 ranges exactly, with the fewest prefixes', () => {
  const next = random(6);
  const bases = [0n, parseIpv6('2001:db8::'), 2n ** 128n - 600n, 2n ** 64n - 150n];
  for (let i = 0; i < 300; i++) {
    const first = bases[i % bases.length]! + BigInt(Math.floor(next() * 300));
    checkCover(6, first, first + BigInt(Math.floor(next() * 300)));
  }
});

toPrefixes('gives one prefix for a whole aligned block', () => {
  // Each case is a block that must not be split.
  const cases: [Family, bigint, bigint, number][] = [
    [4, 0n, 2n ** 32n - 1n, 0], // the whole family, where end + 1 overflows
    [6, 0n, 2n ** 128n - 1n, 0],
    [4, 167772160n, 184549375n, 8], // 10.0.0.0/8
    [6, parseIpv6('2001:db8::'), parseIpv6('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), 32],
    [4, 2n ** 32n - 1n, 2n ** 32n - 1n, 32], // a single address at the top
    [6, 0n, 0n, 128],
  ];
  for (const [family, first, last, bits] of cases) {
    assert.equal(rangeToPrefixes(family, first, last), [{ addr: first, bits }]);
  }
});

toPrefixes('splits an unaligned upstream range into its known cover', () => {
  // 1.0.1.0-1.0.3.255 from the IPv4 file: a /24 then a /23.
  const prefixes = rangeToPrefixes(4, 16777472n, 16778239n).map(({ addr, bits }) => [
    formatAddress(4, addr),
    bits,
  ]);
  assert.equal(prefixes, [
    ['1.0.1.0', 24],
    ['1.0.2.0', 23],
  ]);
});

toPrefixes('throws a RangeError on a reversed or out-of-family range', () => {
  assert.throws(
    () => rangeToPrefixes(4, 5n, 4n),
    (error: Error) => error instanceof RangeError,
  );
  assert.throws(() => rangeToPrefixes(4, 0n, 2n ** 32n), /not a range of IPv4/);
  assert.throws(() => rangeToPrefixes(6, -1n, 0n), /not a range of IPv6/);
});

toPrefixes.run();

const text = suite('formatAddress and parseIpv6');

text('write IPv6 as ipaddr.js does (RFC 5952) and read it back', () => {
  const next = random(5952);
  for (let i = 0; i < 2000; i++) {
    // Zero groups are made common so that compression and its ties are exercised.
    const bytes = Array.from({ length: 16 }, (_, j) =>
      next() < 0.5 && j % 2 === 0 ? 0 : Math.floor(next() * 256),
    );
    for (let j = 0; j < 16; j += 2) if (bytes[j] === 0 && next() < 0.5) bytes[j + 1] = 0;
    const addr = bytes.reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);
    const expected = ipaddr.fromByteArray(bytes).toString();
    assert.is(formatAddress(6, addr), expected);
    assert.is(parseIpv6(expected), addr);
  }
});

text('writes IPv4 as a dotted quad', () => {
  assert.is(formatAddress(4, 0n), '0.0.0.0');
  assert.is(formatAddress(4, 2n ** 32n - 1n), '255.255.255.255');
  assert.is(formatAddress(4, 16777472n), '1.0.1.0');
});

text('parseIpv6 rejects what upstream never writes', () => {
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '::1.2.3.4', 'g::']) {
    assert.throws(
      () => parseIpv6(bad),
      (error: Error) => error instanceof RangeError,
      bad,
    );
  }
});

text.run();

const files = suite('parseTorGeoip, encodeRanges and decodeRanges');

files('read both upstream formats, skipping comments', () => {
  const v4 = parseTorGeoip(4, '# header\n16777216,16777471,AU\n\n16777472,16778239,CN\n');
  assert.equal(v4, [
    { first: 16777216n, last: 16777471n },
    { first: 16777472n, last: 16778239n },
  ]);
  const v6 = parseTorGeoip(6, '2001:2::,2001:2:0:ffff:ffff:ffff:ffff:ffff,JP\n');
  assert.equal(v6, [
    { first: parseIpv6('2001:2::'), last: parseIpv6('2001:2:0:ffff::') + 2n ** 64n - 1n },
  ]);
  assert.throws(() => parseTorGeoip(4, '1,2\n'), /line 1: expected 3 fields/);
});

files('round-trip ranges through the committed text form', () => {
  const ranges = {
    v4: [
      { first: 0n, last: 0n },
      { first: 1n, last: 9n },
      { first: 2n ** 32n - 1n, last: 2n ** 32n - 1n },
    ],
    v6: [{ first: 5n, last: 2n ** 128n - 1n }],
    notes: [' tor-geoipdb 1'],
  };
  const encoded = encodeRanges(ranges);
  assert.is(
    encoded,
    '# tor-geoipdb 1\n4\n0 1\n0 9\nfffffff5 1\n6\n5 fffffffffffffffffffffffffffffffb\n',
  );
  assert.equal(decodeRanges(encoded), ranges);
  assert.throws(() => encodeRanges({ ...ranges, v4: [...ranges.v4].reverse() }), /unsorted/);
});

files('the committed ranges file is sorted and yields over a million prefixes', () => {
  const ranges = readRanges();
  assert.ok(
    ranges.notes.some((note) => note.includes('License')),
    'Expected the licence line',
  );
  let prefixes = 0;
  for (const [family, list] of [
    [4, ranges.v4],
    [6, ranges.v6],
  ] as const) {
    let next = 0n;
    for (const { first, last } of list) {
      assert.ok(first >= next, 'Expected sorted, disjoint ranges');
      prefixes += rangeToPrefixes(family, first, last).length;
      next = last + 1n;
    }
  }
  assert.ok(prefixes >= 1_000_000, `Expected at least a million prefixes, got ${prefixes}`);
});

files.run();

const lengths = suite('bitLength');

lengths('counts the bits a non-negative bigint needs', () => {
  const cases: [bigint, number][] = [
    [0n, 0],
    [1n, 1],
    [2n ** 32n - 1n, 32],
    [2n ** 32n, 33], // crosses the 32-bit step
    [2n ** 128n - 1n, 128],
  ];
  for (const [n, expected] of cases) assert.is(bitLength(n), expected, String(n));
});

lengths.run();
