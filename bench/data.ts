// Rule lists and query sets for the benchmarks, drawn from the committed
// IPFire ranges (bench/data/geoip-ranges.txt.gz) with fixed seeds, so every
// run and every library sees the same lists and the same queries.
import {
  type Family,
  formatAddress,
  formatPrefix,
  rangeToPrefixes,
  readRanges,
} from '../scripts/geoip.js';

/** Pool holds every prefix of one family from the upstream ranges. */
export interface Pool {
  family: Family;
  addrs: bigint[];
  bits: Uint8Array;
}

/** RuleList is a drawn list: its rule text and where each rule sits in its pool. */
export interface RuleList {
  rules: string[];
  /** Pool indices of the IPv4 rules, then of the IPv6 rules. */
  picked: { 4: Uint32Array; 6: Uint32Array };
}

/** QuerySet is a batch of addresses as text, with the answer each must get. */
export interface QuerySet {
  addrs: string[];
  /** Whether the address lies in the list (by construction, not by any matcher). */
  expected: boolean[];
  /** The family a Node socket would report (remoteFamily): 'ipv6' for mapped forms. */
  families: ('ipv4' | 'ipv6')[];
  /** Whether the address is an IPv4 address written in the mapped form. */
  mapped: boolean[];
}

/** QUERY_BLOCK is the run of queries that holds the mix exactly (see makeQueries). */
export const QUERY_BLOCK = 20;

/** random returns a seeded generator of 32-bit unsigned integers (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * flat returns `text` as one flat string, the form Node hands out for a
 * socket address or a header. A string built by concatenation is a tree of
 * pieces that some code walks per character until V8 flattens it, so the
 * benchmark must not leave that to whichever library reads it first.
 */
export function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** below returns a random integer in [0, n) for n up to 2^32. */
function below(next: () => number, n: number): number {
  return Math.floor((next() / 2 ** 32) * n);
}

/** randomBits returns a random bigint of `bits` bits. */
function randomBits(next: () => number, bits: number): bigint {
  let n = 0n;
  for (let have = 0; have < bits; have += 32) n = (n << 32n) | BigInt(next());
  return n & ((1n << BigInt(bits)) - 1n);
}

let pools: { 4: Pool; 6: Pool } | null = null;

/** loadPools converts the committed ranges into prefixes once per process. */
export function loadPools(): { 4: Pool; 6: Pool } {
  if (pools) return pools;

  const ranges = readRanges();
  const build = (family: Family, list: typeof ranges.v4): Pool => {
    const addrs: bigint[] = [];
    const bits: number[] = [];
    for (const { first, last } of list) {
      for (const prefix of rangeToPrefixes(family, first, last)) {
        addrs.push(prefix.addr);
        bits.push(prefix.bits);
      }
    }
    return { family, addrs, bits: Uint8Array.from(bits) };
  };

  pools = { 4: build(4, ranges.v4), 6: build(6, ranges.v6) };
  return pools;
}

/** pick draws k distinct indices below n (a partial Fisher-Yates shuffle). */
function pick(next: () => number, n: number, k: number): Uint32Array {
  if (k > n) throw new RangeError(`pick: ${k} of ${n}`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + below(next, n - i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order.slice(0, k);
}

/**
 * drawRules draws `size` prefixes, half IPv4 and half IPv6 (the odd one
 * IPv6), without repeats. Upstream ranges are disjoint, so the rules are too.
 */
export function drawRules(size: number, seed = size): RuleList {
  const { 4: pool4, 6: pool6 } = loadPools();
  const next = random(seed);
  const count4 = Math.floor(size / 2);
  const picked = {
    4: pick(next, pool4.addrs.length, count4),
    6: pick(next, pool6.addrs.length, size - count4),
  };

  const rules: string[] = [];
  for (const pool of [pool4, pool6]) {
    for (const i of picked[pool.family]) {
      rules.push(formatPrefix(pool.family, { addr: pool.addrs[i]!, bits: pool.bits[i]! }));
    }
  }

  // Interleave the families, as a real list would mix them.
  const order = pick(next, rules.length, rules.length);
  return { rules: Array.from(order, (i) => rules[i]!), picked };
}

/** addressIn returns a random address of the pool's prefix i, as text. */
function addressIn(next: () => number, pool: Pool, i: number, mapped: boolean): string {
  const width = pool.family === 4 ? 32 : 128;
  const hostBits = width - pool.bits[i]!;
  const addr = pool.addrs[i]! + (hostBits === 0 ? 0n : randomBits(next, hostBits));
  const text = formatAddress(pool.family, addr);
  return mapped ? `::ffff:${text}` : text;
}

/**
 * makeQueries returns `count` queries (a multiple of QUERY_BLOCK) for the
 * list. Each block of 20 holds exactly 10 hits and 10 misses, half of each
 * IPv4 and half IPv6, and 3 of its 10 IPv4 queries (30%) in the mapped form
 * `::ffff:a.b.c.d`, shuffled; so any whole number of blocks from the start
 * keeps the mix. A hit is a random address inside a random rule. A miss is a
 * random address inside a prefix of the same pool that the list did not
 * draw: real, allocated space that no rule covers.
 */
export function makeQueries(list: RuleList, count: number, seed = 7): QuerySet {
  if (count % QUERY_BLOCK !== 0) throw new RangeError(`makeQueries: ${count} queries`);
  const all = loadPools();
  const next = random(seed ^ list.rules.length);
  const chosen = {
    4: new Uint8Array(all[4].addrs.length),
    6: new Uint8Array(all[6].addrs.length),
  };
  for (const family of [4, 6] as const) for (const i of list.picked[family]) chosen[family][i] = 1;

  const set: QuerySet = { addrs: [], expected: [], families: [], mapped: [] };
  for (let done = 0; done < count; done += QUERY_BLOCK) {
    const block: [string, boolean, 'ipv4' | 'ipv6', boolean][] = [];
    const mappedSlots = pick(next, 10, 3);
    let slot4 = 0;
    for (let q = 0; q < QUERY_BLOCK; q++) {
      const isHit = q < 10;
      const family: Family = q % 2 === 0 ? 4 : 6;
      const pool = all[family];
      const picked = list.picked[family];

      let i: number;
      if (isHit) {
        i = picked[below(next, picked.length)]!;
      } else {
        do i = below(next, pool.addrs.length);
        while (chosen[family][i] === 1);
      }

      const isMapped = family === 4 && mappedSlots.includes(slot4++);
      const addr = addressIn(next, pool, i, isMapped);
      block.push([addr, isHit, family === 4 && !isMapped ? 'ipv4' : 'ipv6', isMapped]);
    }

    for (const j of pick(next, QUERY_BLOCK, QUERY_BLOCK)) {
      const [addr, isHit, family, isMapped] = block[j]!;
      set.addrs.push(flat(addr));
      set.expected.push(isHit);
      set.families.push(family);
      set.mapped.push(isMapped);
    }
  }

  return set;
}

/** sliceQueries returns the first n queries of the set (n a multiple of QUERY_BLOCK). */
export function sliceQueries(set: QuerySet, n: number): QuerySet {
  return {
    addrs: set.addrs.slice(0, n),
    expected: set.expected.slice(0, n),
    families: set.families.slice(0, n),
    mapped: set.mapped.slice(0, n),
  };
}
