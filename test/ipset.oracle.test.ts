/**
 * Oracle tests for IpSet and IpMap (issue 2): the WebAssembly trie against
 * the brute-force twin in test/support/reference.ts, and against ipaddr.js
 * and Node's net.BlockList where their semantics are ipgate's, on seeded
 * random rule sets and queries. A failure names the seed; replay it with
 * `ORACLE_SEED=<seed>` in the environment.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalAddress, isAddress } from '../src/address.js';
import { QUOTE_LIMIT, quote, RuleError } from '../src/errors.js';
import { IpMap, IpSet } from '../src/ipset.js';
import { builds, describe, type Failure } from './support/oracle.js';
import {
  BAD_RULES,
  deriveSeed,
  mutate,
  Rng,
  randomBadRule,
  randomJunk,
  randomQuery,
  randomRule,
  seedFromEnv,
} from './support/random.js';
import {
  type Addr,
  formatAddress,
  maskOf,
  type Prefix,
  parseAddress,
  parseRule,
  ReferenceMap,
  widthOf,
} from './support/reference.js';

const SEED = seedFromEnv(0x5eed0002);
const SMALL_SETS = 1400;
const QUERIES_PER_SMALL_SET = 55;
const LARGE_SETS = 4;
const LARGE_SET_RULES = 1000;
const QUERIES_PER_LARGE_SET = 6000;
const MIN_QUERIES = 100_000;

// ---------------------------------------------------------------------------
// Random rule sets

/**
 * randomRuleSet returns `size` valid rules: about half of them drawn
 * around rules already in the set, so that nested and equal prefixes (in
 * other spellings) test longest match and later-entry-wins.
 */
function randomRuleSet(rng: Rng, size: number, isLibraryFriendly: boolean): string[] {
  const rules: string[] = [];
  const prefixes: Prefix[] = [];
  const forms = isLibraryFriendly
    ? (['single', 'cidr', 'cidr', 'padded', 'mapped', 'range', 'short6'] as const)
    : undefined;
  while (rules.length < size) {
    const near = prefixes.length > 0 && rng.chance(0.5) ? rng.pick(prefixes) : undefined;
    const rule = forms ? randomRule(rng, near, rng.pick(forms)) : randomRule(rng, near);
    const parsed = parseRule(rule);
    if (!parsed.ok) throw new Error(`generator wrote a bad rule ${JSON.stringify(rule)}`);
    rules.push(rule);
    prefixes.push(...parsed.prefixes.slice(0, 4));
  }
  return rules;
}

/** queryTargets returns the blocks that queries aim at, inside and beside. */
function queryTargets(rules: readonly string[]): Prefix[] {
  const targets: Prefix[] = [];
  for (const rule of rules) {
    const parsed = parseRule(rule);
    if (parsed.ok) targets.push(...parsed.prefixes.slice(0, 8));
  }
  return targets;
}

// ---------------------------------------------------------------------------
// Independent libraries, each used only where its semantics are ipgate's

/**
 * ipaddrRule reads a rule with ipaddr.js, or returns undefined where
 * ipaddr.js reads it otherwise or not at all: ranges and netmasks (no such
 * forms), zones other than letters and digits, and `::a.b.c.d` (ipaddr.js
 * takes the deprecated IPv4-compatible form for IPv4-mapped).
 */
function ipaddrRule(rule: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const [text, length] = rule.split('/') as [string, string | undefined];
  if (rule.includes('-') || /^::\d+\.\d+\.\d+\.\d+(%|$)/.test(text)) return undefined;
  if (length !== undefined && !/^[0-9]+$/.test(length)) return undefined;
  if (!(ipaddr.IPv6.isValid(text) || ipaddr.IPv4.isValidFourPartDecimal(text))) return undefined;

  const addr = ipaddr.parse(text);
  let bits = length === undefined ? (addr.kind() === 'ipv4' ? 32 : 128) : Number(length);
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress() && bits >= 96) return [v6.toIPv4Address(), bits - 96];
  }
  bits = Math.min(bits, addr.kind() === 'ipv4' ? 32 : 128);
  return [addr, bits];
}

/** IpaddrSet answers `has` with ipaddr.js; `isUsable` is false if any rule is foreign. */
class IpaddrSet {
  readonly isUsable: boolean;
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];

  constructor(rules: readonly string[]) {
    for (const rule of rules) {
      const range = ipaddrRule(rule);
      if (range !== undefined) this.ranges.push(range);
    }
    this.isUsable = this.ranges.length === rules.length;
  }

  has(addr: Addr): boolean {
    const parsed = ipaddr.parse(formatAddress(addr));
    return this.ranges.some(
      ([base, bits]) =>
        base.kind() === parsed.kind() && parsed.match(base as ipaddr.IPv4 & ipaddr.IPv6, bits),
    );
  }
}

/**
 * BlockListSet answers `has` with net.BlockList, the family given. Node
 * matches IPv4 queries against IPv6 rules through ::ffff:0:0/96, which is
 * ipgate's rule for mapped rules of /96 or longer but not for shorter IPv6
 * rules or IPv6 ranges over that block; a set with such a rule is not
 * usable for IPv4 queries. Netmask rules and zones are not usable at all.
 */
class BlockListSet {
  readonly isUsable: boolean;
  readonly isUsableForIPv4: boolean;
  private readonly list = new net.BlockList();

  constructor(rules: readonly string[]) {
    const mappedBlock = new net.BlockList();
    mappedBlock.addSubnet('::ffff:0:0', 96, 'ipv6');
    const overMapped = new net.BlockList();
    let usable = 0;
    for (const rule of rules) {
      if (rule.includes('%')) continue;
      const [text, length] = rule.split('/') as [string, string | undefined];
      const ends = rule.includes('-') ? text.split('-') : [text];
      const families = ends.map((end) => net.isIP(end));
      if (families.includes(0) || families.some((family) => family !== families[0])) continue;
      if (length !== undefined && !/^[0-9]+$/.test(length)) continue;
      const family = families[0] === 4 ? 'ipv4' : 'ipv6';
      const bits = length === undefined ? (family === 'ipv4' ? 32 : 128) : Number(length);
      usable++;

      if (ends.length === 1) this.list.addSubnet(text, bits, family);
      else this.list.addRange(ends[0]!, ends[1]!, family);
      if (family === 'ipv4') continue;
      if (ends.length === 1 && bits < 96) overMapped.addSubnet(text, bits, family);
      const isMappedRange = ends.every((end) => mappedBlock.check(end, 'ipv6'));
      if (ends.length === 2 && !isMappedRange) overMapped.addRange(ends[0]!, ends[1]!, family);
    }
    this.isUsable = usable === rules.length;
    // Such a block covers all of ::ffff:0:0/96 or none of it.
    this.isUsableForIPv4 = !overMapped.check('::ffff:0.0.0.0', 'ipv6');
  }

  has(addr: Addr): boolean {
    return this.list.check(formatAddress(addr), addr.family === 4 ? 'ipv4' : 'ipv6');
  }
}

// ---------------------------------------------------------------------------
// One run over every set, shared by the tests below

interface OracleRun {
  queries: number;
  addresses: number;
  hits: number;
  mappedSpellings: number;
  ipaddrChecks: number;
  blockListChecks: number;
  twin: Failure[];
  address: Failure[];
  refused: Failure[];
  ipaddr: Failure[];
  blockList: Failure[];
}

let cached: OracleRun | undefined;

function run(): OracleRun {
  if (cached !== undefined) return cached;
  const result: OracleRun = {
    queries: 0,
    addresses: 0,
    hits: 0,
    mappedSpellings: 0,
    ipaddrChecks: 0,
    blockListChecks: 0,
    twin: [],
    address: [],
    refused: [],
    ipaddr: [],
    blockList: [],
  };
  for (let set = 0; set < SMALL_SETS + LARGE_SETS; set++) {
    const isLarge = set >= SMALL_SETS;
    const rng = new Rng(deriveSeed(SEED, set));
    const size = isLarge ? LARGE_SET_RULES : rng.between(1, rng.chance(0.2) ? 40 : 12);
    const rules = randomRuleSet(rng, size, !isLarge && rng.chance(0.5));
    const queries = isLarge ? QUERIES_PER_LARGE_SET : QUERIES_PER_SMALL_SET;
    checkSet(result, set, rng, rules, queries);
  }
  cached = result;
  return result;
}

function checkSet(result: OracleRun, set: number, rng: Rng, rules: string[], queries: number) {
  const where = (query: number, text: string) =>
    `seed ${SEED} set ${set} query ${query}: ${JSON.stringify(text).slice(0, 160)}` +
    (rules.length <= 12 ? ` rules ${JSON.stringify(rules)}` : ` (${rules.length} rules)`);

  // A rule the core refuses although the twin accepts it is a failure; the
  // set goes on without it so that one such rule does not hide the rest.
  const refused = rules.filter((rule) => !builds(rule));
  for (const rule of refused) {
    result.refused.push({
      where: where(-1, rule),
      detail: 'twin accepts the rule; IpSet.from threw',
    });
  }
  rules = rules.filter((rule) => !refused.includes(rule));

  const twin = new ReferenceMap(rules.map((rule, index) => [rule, index] as const));
  const ipSet = IpSet.from(rules);
  const ipMap = IpMap.from(rules.map((rule, index) => [rule, index] as const));
  const viaIpaddr = new IpaddrSet(rules);
  const viaBlockList = new BlockListSet(rules);
  const targets = queryTargets(rules);
  if (ipSet.size !== rules.length || ipMap.size !== rules.length) {
    result.twin.push({ where: where(-1, ''), detail: `size ${ipSet.size}, ${ipMap.size}` });
  }

  for (let query = 0; query < queries; query++) {
    const text = randomQuery(rng, targets);
    const addr = parseAddress(text);
    const winner = addr === null ? undefined : twin.lookupAddr(addr);
    result.queries++;
    if (addr !== null) result.addresses++;
    if (winner !== undefined) result.hits++;
    if (addr?.family === 4 && text.includes(':')) result.mappedSpellings++;

    // The twin: has, match (the winning rule's text) and get (its index).
    const has = ipSet.has(text);
    const match = ipSet.match(text);
    const got = ipMap.get(text);
    if (has !== (winner !== undefined) || match !== winner?.rule || got !== winner?.index) {
      result.twin.push({
        where: where(query, text),
        detail:
          `expected has ${winner !== undefined}, match ${JSON.stringify(winner?.rule)}, ` +
          `get ${winner?.index}; got ${has}, ${JSON.stringify(match)}, ${got}`,
      });
    }

    // The parser on its own: canonicalAddress and isAddress.
    const canonical = addr === null ? null : formatAddress(addr);
    const actualCanonical = canonicalAddress(text);
    if (actualCanonical !== canonical || isAddress(text) !== (addr !== null)) {
      result.address.push({
        where: where(query, text),
        detail: `expected ${canonical}, got ${actualCanonical} (isAddress ${isAddress(text)})`,
      });
    }
    if (addr === null) continue;

    if (viaIpaddr.isUsable) {
      result.ipaddrChecks++;
      const expected = viaIpaddr.has(addr);
      if (expected !== has) {
        result.ipaddr.push({
          where: where(query, text),
          detail: `ipaddr.js ${expected}, has ${has}`,
        });
      }
    }
    if (viaBlockList.isUsable && (addr.family === 6 || viaBlockList.isUsableForIPv4)) {
      result.blockListChecks++;
      const expected = viaBlockList.has(addr);
      if (expected !== has) {
        result.blockList.push({
          where: where(query, text),
          detail: `net.BlockList ${expected}, has ${has}`,
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------

const lookups = suite('IpSet.has, IpSet.match and IpMap.get against the twin');

lookups('agree with the brute-force twin on 100,000 seeded random queries', () => {
  const result = run();
  assert.equal(result.twin.length, 0, describe(result.twin));
  assert.ok(
    result.queries >= MIN_QUERIES,
    `Expected ${MIN_QUERIES} queries, ran ${result.queries}`,
  );
  // The mix must hold real hits, misses, mapped spellings and non-addresses.
  assert.ok(result.hits > result.queries / 5, `Expected many hits, got ${result.hits}`);
  const misses = result.addresses - result.hits;
  assert.ok(misses > result.queries / 8, `Expected many misses, got ${misses}`);
  assert.ok(result.mappedSpellings > result.queries / 20, 'Expected many mapped spellings');
  assert.ok(result.queries - result.addresses > result.queries / 20, 'Expected non-addresses');
});

lookups('canonicalAddress and isAddress agree with the twin on every query', () => {
  const result = run();
  assert.equal(result.address.length, 0, describe(result.address));
});

lookups('build from every random rule set that the twin accepts', () => {
  const result = run();
  assert.equal(result.refused.length, 0, describe(result.refused));
});

lookups('agree with ipaddr.js where ipaddr.js reads every rule as ipgate does', () => {
  const result = run();
  assert.ok(result.ipaddrChecks > 10_000, `Expected 10,000 checks, ran ${result.ipaddrChecks}`);
  assert.equal(result.ipaddr.length, 0, describe(result.ipaddr));
});

lookups('agree with net.BlockList, family given, where its semantics apply', () => {
  const result = run();
  assert.ok(result.blockListChecks > 10_000, `Expected 10,000, ran ${result.blockListChecks}`);
  assert.equal(result.blockList.length, 0, describe(result.blockList));
});

lookups('never throw and hold nothing that is not an address string', () => {
  const set = IpSet.from(['0.0.0.0/0', '::/0', '::ffff:0:0/96']);
  const map = IpMap.from([['0.0.0.0/0', 1] as const]);
  const hostile: unknown[] = [
    undefined,
    null,
    0x7f000001,
    1n,
    {},
    [],
    ['1.2.3.4'],
    Symbol('1.2.3.4'),
    { toString: () => '1.2.3.4' },
    {
      toString() {
        throw new Error('boom');
      },
    },
    new String('1.2.3.4'),
    '1.2.3.4'.repeat(300_000),
    `1.2.3.4${'\0'.repeat(70_000)}`,
    `::ffff:${'0'.repeat(70_000)}1.2.3.4`,
    '\u0131.2.3.4',
    '1.2.3.\u0134',
  ];
  for (const value of hostile) {
    const label = typeof value === 'string' ? quote(value) : String(typeof value);
    assert.is(set.has(value), false, `Expected has(${label}) to be false`);
    assert.is(set.match(value), undefined, `Expected match(${label}) to be undefined`);
    assert.is(map.get(value), undefined, `Expected get(${label}) to be undefined`);
  }
});

// ---------------------------------------------------------------------------

const building = suite('IpSet.from against the twin');

building('throws RuleError with ERR_INVALID_RULE exactly when the twin refuses a rule', () => {
  const rng = new Rng(deriveSeed(SEED, 0xb01d));
  const failures: Failure[] = [];
  let refused = 0;
  const total = 12_000;
  for (let i = 0; i < total; i++) {
    const rule =
      i < BAD_RULES.length
        ? BAD_RULES[i]!
        : rng.chance(0.5)
          ? randomBadRule(rng)
          : rng.chance(0.5)
            ? randomRule(rng)
            : mutate(rng, randomRule(rng));
    const expected = parseRule(rule);
    let error: unknown;
    try {
      IpSet.from([rule]);
    } catch (caught) {
      error = caught;
    }
    const where = `seed ${SEED} rule ${i}: ${quote(rule)}`;
    if (expected.ok && error !== undefined) {
      failures.push({ where, detail: `twin accepts it; IpSet.from threw ${String(error)}` });
    } else if (!expected.ok && error === undefined) {
      failures.push({
        where,
        detail: `twin refuses it (${expected.reason}); IpSet.from accepted it`,
      });
    } else if (!expected.ok) {
      refused++;
      const isRuleError =
        error instanceof RuleError &&
        error.code === 'ERR_INVALID_RULE' &&
        error.rule === rule.slice(0, QUOTE_LIMIT) &&
        error.message.startsWith(`IpSet.from(${quote(rule)}): `);
      if (!isRuleError) failures.push({ where, detail: `wrong error: ${String(error)}` });
    }
  }
  assert.ok(refused > total / 4 && refused < (total * 3) / 4, `Expected a mix, ${refused} refused`);
  assert.equal(failures.length, 0, describe(failures));
});

/** Valid rules at the edges of issue 2's forms, each with its reason. */
const EDGE_RULES: [string, string][] = [
  [`10.0.0.0/${'0'.repeat(100)}8`, 'Python takes any zero padding of a length'],
  ['::/000', 'a padded zero length'],
  ['0.0.0.0/0.0.0.0', 'all zeros read as a netmask: all of IPv4'],
  ['10.0.0.0/255.255.255.255', 'all ones read as a netmask: one address'],
  ['1:2:3:4:5:6:7::/128', '"::" for the last group'],
  ['::ffff:1.2.3.4-::ffff:1.2.3.4', 'a one-address mapped range'],
  ['255.255.255.255-255.255.255.255', 'the top of IPv4'],
  ['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'all of IPv6 as a range, IPv4 not in it'],
  ['::fffe:ffff:ffff-::1:0:0:0', 'an IPv6 range over the mapped block'],
  ['fe80::1%eth0-fe80::9%eth0', 'zones on both ends of a range'],
  ['fe80::1%br-0', 'a zone id holding "-", as Linux bridges are named'],
  ['fe80::%br-0/64', 'the same in a prefix rule'],
];

building('builds and matches as the twin does at the edges of every form', () => {
  const rng = new Rng(deriveSeed(SEED, 0xed9e));
  const failures: Failure[] = [];
  for (const [rule, why] of EDGE_RULES) {
    assert.ok(parseRule(rule).ok, `Expected the twin to take ${rule}: ${why}`);
    let set: IpSet;
    try {
      set = IpSet.from([rule]);
    } catch (error) {
      failures.push({ where: `${quote(rule)} (${why})`, detail: `threw ${String(error)}` });
      continue;
    }
    const twin = new ReferenceMap([[rule, 0] as const]);
    const targets = queryTargets([rule]);
    for (let i = 0; i < 2000; i++) {
      const text = randomQuery(rng, targets);
      const expected = twin.lookup(text) !== undefined;
      if (set.has(text) !== expected) {
        failures.push({
          where: `seed ${SEED} ${quote(rule)} query ${quote(text)}`,
          detail: `expected has ${expected}, got ${!expected}`,
        });
      }
    }
  }
  assert.equal(failures.length, 0, describe(failures));
});

building('names the bad rule among good ones', () => {
  const rng = new Rng(deriveSeed(SEED, 0xb02d));
  for (let i = 0; i < 200; i++) {
    const good = [randomRule(rng), randomRule(rng), randomRule(rng)];
    const bad = rng.pick(BAD_RULES);
    const rules = [...good.slice(0, i % 4), bad, ...good.slice(i % 4)];
    assert.throws(
      () => IpSet.from(rules),
      (error: unknown) => error instanceof RuleError && error.rule === bad,
      `Expected IpSet.from to name ${quote(bad)} (seed ${SEED}, case ${i})`,
    );
  }
});

building('builds from non-address junk only by throwing', () => {
  const rng = new Rng(deriveSeed(SEED, 0xb03d));
  for (let i = 0; i < 2000; i++) {
    const rule = randomJunk(rng);
    const isValid = parseRule(rule).ok;
    let threw = false;
    try {
      IpSet.from([rule]);
    } catch (error) {
      threw = error instanceof RuleError;
    }
    assert.is(
      threw,
      !isValid,
      `Expected ${quote(rule)} to ${isValid ? 'build' : 'throw'} (seed ${SEED})`,
    );
  }
});

// ---------------------------------------------------------------------------

const tables = suite('IpMap with large direct tables against a per-length index');

// Enough prefixes of each family for the build to give both families their
// large direct table; too many for the brute-force twin, so the reference
// is an index of every prefix by family, length and value, probed at every
// length from the longest.
const TABLE_PREFIXES = 40_000;
const TABLE_QUERIES = 20_000;

tables('agree with the index on prefixes shorter and longer than the table', () => {
  const rng = new Rng(deriveSeed(SEED, 18));
  const entries: [string, number][] = [];
  const prefixes: Prefix[] = [];
  const index = new Map<string, number>();
  for (let i = 0; i < 2 * TABLE_PREFIXES; i++) {
    const family: 4 | 6 = i % 2 === 0 ? 4 : 6;
    const width = widthOf(family);
    // A tenth end inside the table's 18 bits, the rest below it.
    const bits = rng.chance(0.1) ? rng.between(0, 18) : rng.between(19, family === 4 ? 32 : 64);
    const prefix = { family, bits, value: rng.bits(width) & maskOf(width, bits) };
    prefixes.push(prefix);
    entries.push([`${formatAddress(prefix)}/${bits}`, i]);
    index.set(`${family}/${bits}/${prefix.value}`, i);
  }
  const map = IpMap.from(entries);

  const failures: string[] = [];
  for (let i = 0; i < TABLE_QUERIES && failures.length < 10; i++) {
    const query = randomQuery(rng, prefixes);
    const addr = parseAddress(query);
    let want: number | undefined;
    for (let bits = addr ? widthOf(addr.family) : -1; bits >= 0 && want === undefined; bits--) {
      const masked = addr!.value & maskOf(widthOf(addr!.family), bits);
      want = index.get(`${addr!.family}/${bits}/${masked}`);
    }
    const got = map.get(query);
    if (got !== want) failures.push(`${quote(query)}: ${got} instead of ${want}`);
  }
  assert.equal(failures, [], `seed ${SEED}`);
});

lookups.run();
building.run();
tables.run();
