/**
 * Seeded random input for the oracle tests: rule sets of mixed families and
 * forms, addresses in every spelling (IPv4-mapped ones included), near
 * misses just outside a rule's block, adversarial strings, and forwarding
 * chains. Every generator takes an Rng, so one seed replays one run.
 */

import { type Addr, formatAddress, maskOf, type Prefix, widthOf } from './reference.js';

/** Rng is a small seeded generator (sfc32); `seed` replays the sequence. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Discard the first outputs, which still echo the seed.
    for (let i = 0; i < 16; i++) this.uint32();
  }

  /** uint32 returns the next 32 random bits as an unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** int returns an integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.uint32() / 2 ** 32) * n);
  }

  /** between returns an integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** chance reports true with probability p. */
  chance(p: number): boolean {
    return this.uint32() / 2 ** 32 < p;
  }

  /** pick returns one item of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** bits returns a random unsigned BigInt of `width` bits. */
  bits(width: number): bigint {
    let value = 0n;
    for (let done = 0; done < width; done += 32) {
      value = (value << 32n) | BigInt(this.uint32());
    }
    return value & ((1n << BigInt(width)) - 1n);
  }
}

/** deriveSeed mixes a base seed with indices into a new 32-bit seed. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = seed >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/**
 * seedFromEnv returns ORACLE_SEED from the environment when set (to replay a
 * failure), else `fallback`.
 */
export function seedFromEnv(fallback: number): number {
  const text = process.env.ORACLE_SEED;
  if (text === undefined || text === '') return fallback;
  return Number(text) >>> 0;
}

// ---------------------------------------------------------------------------
// Addresses and their spellings

/** Well-known blocks that random addresses and rules are drawn near. */
const V4_BASES = ['10.0.0.0', '172.16.0.0', '192.168.0.0', '127.0.0.0', '100.64.0.0', '0.0.0.0'];
const V6_BASES = ['2001:db8::', 'fd00::', 'fe80::', '::', '64:ff9b::', '2002::', '::ffff:0:0:0'];

/** randomAddr returns an address of `family`, uniformly or near a common block. */
export function randomAddr(rng: Rng, family: 4 | 6): Addr {
  const width = widthOf(family);
  if (rng.chance(0.5)) return { family, value: rng.bits(width) };

  const bases = family === 4 ? V4_BASES : V6_BASES;
  const base = parseBase(rng.pick(bases), family);
  const hostBits = rng.between(0, family === 4 ? 24 : 64);
  let value = base | (rng.bits(width) & ((1n << BigInt(hostBits)) - 1n));
  // Never let a family 6 address fall into the IPv4-mapped block.
  if (family === 6 && value >> 32n === 0xffffn) value ^= 1n << 100n;
  return { family, value };
}

function parseBase(text: string, family: 4 | 6): bigint {
  if (family === 4) {
    return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
  }
  const [head, tail] = text.split('::') as [string, string];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = [
    ...headGroups,
    ...new Array(8 - headGroups.length - tailGroups.length).fill('0'),
    ...tailGroups,
  ];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
}

/**
 * spellAddress writes `addr` in a random valid spelling: family 4 as a
 * dotted quad or as any IPv4-mapped IPv6 spelling; family 6 with random
 * compression, case, zero padding, a dotted tail and a zone id.
 */
export function spellAddress(rng: Rng, addr: Addr, mappedRate = 0.3): string {
  if (addr.family === 4) {
    if (!rng.chance(mappedRate)) return formatAddress(addr);
    return spellIPv6(rng, (0xffffn << 32n) | addr.value, true);
  }
  const text = spellIPv6(rng, addr.value, false);
  return rng.chance(0.05) ? `${text}%${rng.pick(ZONES)}` : text;
}

const ZONES = ['eth0', '1', 'en0', 'br-4f2a', 'lo', 'wlan0.5', 'a_b', 'vlan.7-x'];

/** spellIPv6 writes a 128-bit value as valid IPv6 text in a random form. */
export function spellIPv6(rng: Rng, value: bigint, isMapped: boolean): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(Number((value >> shift) & 0xffffn));
  }
  const hasDottedTail = rng.chance(isMapped ? 0.6 : 0.1);
  const upper = rng.chance(0.2);
  const pad = rng.pick([0, 0, 0, 4, -1]); // -1: random padding per group
  const hexGroup = (group: number): string => {
    let text = group.toString(16);
    const width = pad === -1 ? rng.between(text.length, 4) : Math.max(pad, text.length);
    text = text.padStart(width, '0');
    return upper ? text.toUpperCase() : text;
  };

  const fields = groups.map(hexGroup);
  let tailFields: string[] = [];
  let headCount = 8;
  if (hasDottedTail) {
    const v4 = value & 0xffffffffn;
    tailFields = [formatAddress({ family: 4, value: v4 })];
    headCount = 6;
  }
  const head = fields.slice(0, headCount);

  // Compress one run of zero groups (possibly of length one), or none.
  const runs: [number, number][] = [];
  for (let start = 0; start < headCount; start++) {
    for (let end = start; end < headCount && groups[end] === 0; end++) {
      runs.push([start, end + 1]);
    }
  }
  if (runs.length === 0 || rng.chance(0.2)) return [...head, ...tailFields].join(':');
  const [start, end] = rng.pick(runs);
  const left = head.slice(0, start).join(':');
  const right = [...head.slice(end), ...tailFields].join(':');
  return `${left}::${right}`;
}

/** randomAddressText returns a random valid address spelling of either family. */
export function randomAddressText(rng: Rng): string {
  return spellAddress(rng, randomAddr(rng, rng.chance(0.5) ? 4 : 6));
}

// ---------------------------------------------------------------------------
// Adversarial strings

const CHARS = '0123456789abcdefABCDEFx.:%/[]- \t,_';
const UNICODE = ['\u0661', '\uff11', '\u0131', '\u0130', '\u2024', '\uff0e', '\u00a0', '\u200b'];
const CONTROL = ['\0', '\n', '\r', '\x0b', '\x1b', '\x7f'];

/** Fixed strings that look like addresses to some parsers but not to ipgate. */
export const ADVERSARIAL = [
  '',
  ' ',
  '010.0.0.1',
  '1.2.3.04',
  '127.1',
  '127.0.1',
  '0x7f.0.0.1',
  '0177.0.0.1',
  '2130706433',
  '0x7f000001',
  '1.2.3.4.',
  '.1.2.3.4',
  '1.2.3.4.5',
  '1..2.3',
  '256.0.0.1',
  '1.2.3.-1',
  '+1.2.3.4',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '1.2.3.4\n',
  '1.2.3.4:80',
  '1.2.3.4%eth0',
  '[1.2.3.4]',
  '[::1]',
  '[::1]:80',
  '::1]',
  'fe80::1%',
  'fe80::1%eth 0',
  'fe80::1%a%b',
  'fe80::1%a,b',
  'fe80::1%x~y',
  'fe80::1%a:b',
  ':::',
  '::::',
  ':1::',
  '::1:',
  '1::2::3',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  '1::2:3:4:5:6:7:8',
  '12345::',
  '::ffff:1.2.3',
  '::ffff:01.2.3.4',
  '::ffff:1.2.3.4.5',
  '::ffff:1.2.3.4:5',
  '1.2.3.4::',
  '1:2:3:4:5:6:7:1.2.3.4',
  'g::1',
  '::ffff:256.1.1.1',
  '\u0661.\u0662.\u0663.\u0664',
  '\uff11.2.3.4',
  '\u0131.2.3.4',
  '1.2.3.\u0134',
  '::\u0131',
  '1.2.3.4\0',
  'localhost',
  'unknown',
  '_hidden',
  'example.com',
  '*',
  '1.2.3.4,5.6.7.8',
  '1.2.3.4 5.6.7.8',
];

/** randomJunk returns a string that is probably not an address. */
export function randomJunk(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(ADVERSARIAL);
    case 1:
      return mutate(rng, randomAddressText(rng));
    case 2: {
      let text = '';
      const length = rng.between(1, 40);
      for (let i = 0; i < length; i++) text += CHARS[rng.int(CHARS.length)];
      return text;
    }
    case 3:
      return insertAt(rng, randomAddressText(rng), rng.pick([...UNICODE, ...CONTROL]));
    case 4:
      return rng.chance(0.5) ? 'f'.repeat(rng.between(100, 5000)) : `${'0:'.repeat(2000)}1`;
    default:
      return mutate(rng, mutate(rng, randomAddressText(rng)));
  }
}

/** mutate inserts, deletes or replaces one character of `text`. */
export function mutate(rng: Rng, text: string): string {
  const at = rng.int(text.length + 1);
  const char = rng.chance(0.9) ? CHARS[rng.int(CHARS.length)]! : rng.pick(UNICODE);
  switch (rng.int(3)) {
    case 0:
      return text.slice(0, at) + char + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1);
    default:
      return text.slice(0, at) + char + text.slice(at + 1);
  }
}

function insertAt(rng: Rng, text: string, char: string): string {
  const at = rng.int(text.length + 1);
  return text.slice(0, at) + char + text.slice(at);
}

// ---------------------------------------------------------------------------
// Rules

/** RuleForm names the forms of issue 2 that randomRule writes. */
export type RuleForm =
  | 'single'
  | 'cidr'
  | 'padded'
  | 'netmask'
  | 'hostmask'
  | 'range'
  | 'mapped'
  | 'short6';

const FORMS: readonly RuleForm[] = [
  'single',
  'cidr',
  'cidr',
  'cidr',
  'padded',
  'netmask',
  'hostmask',
  'range',
  'mapped',
  'short6',
];

/** randomPrefix returns a random prefix of `family`, host bits cleared. */
export function randomPrefix(rng: Rng, family: 4 | 6): Prefix {
  const width = widthOf(family);
  const bits = rng.chance(0.3) ? rng.between(0, width) : rng.between(width / 2, width);
  const addr = randomAddr(rng, family);
  return { family, value: addr.value & maskOf(width, bits), bits };
}

/**
 * randomRule returns a valid rule in a random form (or the given one). The
 * rule's block is near `near` when given, so sets get nested and equal
 * prefixes that exercise longest match and later-entry-wins.
 */
export function randomRule(rng: Rng, near?: Prefix, form: RuleForm = rng.pick(FORMS)): string {
  const family: 4 | 6 = near?.family ?? (rng.chance(0.55) ? 4 : 6);
  const width = widthOf(family);
  const prefix = near === undefined ? randomPrefix(rng, family) : nestedPrefix(rng, near);
  const hostBits = (1n << BigInt(width - prefix.bits)) - 1n;
  // Host bits are set at random: rules are masked, not refused.
  const value = rng.chance(0.3) ? prefix.value | (rng.bits(width) & hostBits) : prefix.value;
  const spelled = spellAddress(rng, { family, value }, 0);

  switch (form) {
    case 'single':
      return spellAddress(rng, { family, value });
    case 'padded':
      return `${spelled}/${String(prefix.bits).padStart(rng.between(2, 4), '0')}`;
    case 'netmask':
    case 'hostmask': {
      if (family === 6) return `${spelled}/${prefix.bits}`;
      const mask = maskOf(32, prefix.bits);
      const written = form === 'netmask' ? mask : mask ^ 0xffffffffn;
      return `${spelled}/${formatAddress({ family: 4, value: written })}`;
    }
    case 'range':
      return randomRange(rng, family, prefix);
    case 'mapped': {
      if (family === 6) return `${spelled}/${prefix.bits}`;
      const mapped = spellIPv6(rng, (0xffffn << 32n) | value, true);
      return `${mapped}/${prefix.bits + 96}`;
    }
    case 'short6': {
      // An IPv6 rule shorter than /96, often one that covers ::ffff:0:0/96.
      const bits = rng.between(0, 95);
      const base = rng.chance(0.5) ? 0xffffn << 32n : rng.bits(128);
      const text = spellIPv6(rng, base & maskOf(128, bits), false);
      return `${text}/${bits}`;
    }
    default:
      return `${spelled}/${prefix.bits}`;
  }
}

/** nestedPrefix returns a prefix inside, equal to or around `near`. */
function nestedPrefix(rng: Rng, near: Prefix): Prefix {
  const width = widthOf(near.family);
  const bits = rng.chance(0.2)
    ? near.bits
    : rng.chance(0.7)
      ? rng.between(near.bits, width)
      : rng.between(0, near.bits);
  const inside = near.value | (rng.bits(width) & ((1n << BigInt(width - near.bits)) - 1n));
  return { family: near.family, value: inside & maskOf(width, bits), bits };
}

/** randomRange writes `first-last` around `prefix`, mapped ends sometimes. */
function randomRange(rng: Rng, family: 4 | 6, prefix: Prefix): string {
  const width = widthOf(family);
  const size = 1n << BigInt(width - prefix.bits);
  const span = size > 1n << 20n ? rng.bits(20) : rng.bits(width) % size;
  let first = prefix.value + (rng.chance(0.5) ? 0n : rng.bits(width) % size);
  let last = first + span;
  const top = (1n << BigInt(width)) - 1n;
  if (last > top) last = top;
  if (rng.chance(0.05)) first = last;
  if (family === 6 && rng.chance(0.1)) {
    // A range of IPv6 ends around the IPv4-mapped block.
    first = (0xfffen << 32n) + rng.bits(32);
    last = (0x1n << 48n) + rng.bits(8);
  }
  const write = (value: bigint): string =>
    family === 4 ? spellAddress(rng, { family, value }) : spellIPv6(rng, value, false);
  return `${write(first)}-${write(last)}`;
}

/** Rules that must be refused, each for a reason issue 2 names. */
export const BAD_RULES = [
  '',
  ' ',
  '10.0.0.0/33',
  '::/129',
  '::ffff:1.2.3.4/129',
  '10.0.0.0/',
  '/8',
  '10.0.0.0/8/8',
  '10.0.0.0/+8',
  '10.0.0.0/-1',
  '10.0.0.0/ 8',
  '10.0.0.0/255.0.255.0',
  '10.0.0.0/255.255.255.000',
  '2001:db8::/ffff:ffff::',
  '::ffff:10.0.0.0/255.0.0.0',
  'example.com',
  'localhost',
  '*',
  '10.0.0.*',
  '[::1]',
  '[2001:db8::]/32',
  '10.0.0.1,10.0.0.2',
  '10.0.0.0/8,192.168.0.0/16',
  '10.0.0.9-10.0.0.5',
  '2001:db8::ff-2001:db8::1',
  '10.0.0.1-2001:db8::1',
  '10.0.0.1 - 10.0.0.9',
  '10.0.0.1-',
  '-10.0.0.1',
  '10.0.0.0/8-10.0.0.9',
  ' 10.0.0.0/8',
  '10.0.0.0/8 ',
  '010.0.0.0/8',
  '127.1',
  '127.1/32',
  '1.2.3.4%eth0',
  'fe80::%eth 0/64',
  'fe80::1%/64',
  '10.0.0.0/８',
  '10.0.0.0/\u0661\u0660',
];

/** randomBadRule returns a rule that is likely but not surely invalid. */
export function randomBadRule(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(BAD_RULES);
    case 1:
      return mutate(rng, randomRule(rng));
    case 2:
      return `${randomRule(rng)}${rng.pick([',', ' ', '/', '-', '%', '\n'])}${randomRule(rng)}`;
    default:
      return randomJunk(rng);
  }
}

// ---------------------------------------------------------------------------
// Queries against a rule set

/**
 * randomQuery returns a query string for a set whose prefixes are given:
 * inside a prefix, at its edges, just outside it (near misses), anywhere,
 * or not an address at all.
 */
export function randomQuery(rng: Rng, prefixes: readonly Prefix[]): string {
  const roll = rng.int(100);
  if (roll < 16 || prefixes.length === 0) {
    return rng.chance(0.65) ? randomJunk(rng) : randomAddressText(rng);
  }

  const prefix = rng.pick(prefixes);
  const width = widthOf(prefix.family);
  const size = 1n << BigInt(width - prefix.bits);
  const top = (1n << BigInt(width)) - 1n;
  let value: bigint;
  if (roll < 55) value = prefix.value + (rng.bits(width) % size);
  else if (roll < 70) value = rng.chance(0.5) ? prefix.value : prefix.value + size - 1n;
  else if (roll < 85) value = rng.chance(0.5) ? prefix.value - 1n : prefix.value + size;
  else value = prefix.value ^ (1n << BigInt(rng.int(width)));
  if (value < 0n || value > top) value &= top;

  const addr: Addr = { family: prefix.family, value };
  if (addr.family === 6 && value >> 32n === 0xffffn) {
    // The 128-bit neighbour of a prefix may be an IPv4-mapped address.
    return spellIPv6(rng, value, true);
  }
  return spellAddress(rng, addr);
}

// ---------------------------------------------------------------------------
// Forwarding chains (issue 3)

/** HeaderKind is the forwarding header a ProxyTrust reads. */
export type HeaderKind = 'x-forwarded-for' | 'forwarded';

/** Hop is one generated hop: an address, or junk text that is not one. */
export type Hop = { addr: Addr } | { junk: string };

/** Blocks proxies are drawn from, as operators configure them. */
const PROXY_RULES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fd00::/8',
  '127.0.0.1',
  '::1',
  '100.64.0.0/255.192.0.0',
  '::ffff:203.0.113.0/120',
  '198.51.100.10-198.51.100.20',
  '2001:db8:feed::/48',
  '0.0.0.0/0',
  '::/0',
];

/**
 * randomTrustedRules returns 0 to 5 trusted-proxy rules: common proxy
 * blocks and random rules of every form.
 */
export function randomTrustedRules(rng: Rng): string[] {
  const count = rng.chance(0.05) ? 0 : rng.between(1, 5);
  const rules: string[] = [];
  for (let i = 0; i < count; i++) {
    rules.push(rng.chance(0.6) ? rng.pick(PROXY_RULES) : randomRule(rng));
  }
  return rules;
}

/**
 * randomHops returns 1 to 12 hops, left to right. The rightmost ones are
 * often inside `trusted` so that walks go deep; the rest are anywhere,
 * near misses, or junk.
 */
export function randomHops(
  rng: Rng,
  trusted: readonly Prefix[],
  count = rng.between(1, 12),
): Hop[] {
  const hops: Hop[] = [];
  const trustedRun = rng.between(0, count);
  for (let i = 0; i < count; i++) {
    const isNearPeer = i >= count - trustedRun;
    if (!isNearPeer && rng.chance(0.08)) {
      hops.push({ junk: '' });
      continue;
    }
    if (rng.chance(isNearPeer ? 0.02 : 0.08)) {
      hops.push({ junk: 'junk' });
      continue;
    }
    hops.push({ addr: randomHopAddr(rng, trusted, isNearPeer ? 0.9 : 0.3) });
  }
  return hops;
}

/** randomHopAddr returns an address inside `trusted` with probability p. */
export function randomHopAddr(rng: Rng, trusted: readonly Prefix[], p: number): Addr {
  if (trusted.length > 0 && rng.chance(p)) {
    const prefix = rng.pick(trusted);
    const width = widthOf(prefix.family);
    const size = 1n << BigInt(width - prefix.bits);
    let value = prefix.value + (rng.bits(width) % size);
    if (rng.chance(0.1)) value = (prefix.value + size) & ((1n << BigInt(width)) - 1n);
    if (prefix.family === 6 && value >> 32n === 0xffffn) value ^= 1n << 100n;
    return { family: prefix.family, value };
  }
  return randomAddr(rng, rng.chance(0.6) ? 4 : 6);
}

/** randomPort returns a valid port, sometimes zero-padded. */
function randomPort(rng: Rng): string {
  const port = rng.chance(0.5) ? rng.pick([80, 443, 8080, 0, 65535]) : rng.int(65536);
  return rng.chance(0.1) ? String(port).padStart(5, '0') : String(port);
}

/** BAD_PORTS are port texts issue 3 calls malformed. */
const BAD_PORTS = ['', '65536', '123456', '99999', '-1', '8o', ' 80', '+80', '0x50', '\u0131'];

/**
 * spellXffHop writes an X-Forwarded-For entry for `addr`: bare, with a
 * port, or in brackets (IPv6 text only, mapped spellings included).
 */
export function spellXffHop(rng: Rng, addr: Addr): string {
  const text = spellAddress(rng, addr, 0.25);
  const isV6Text = text.includes(':');
  const roll = rng.int(10);
  if (!isV6Text) return roll < 3 ? `${text}:${randomPort(rng)}` : text;
  if (roll < 4) return text;
  if (roll < 7) return `[${text}]`;
  return `[${text}]:${randomPort(rng)}`;
}

/** XFF_JUNK are entries issue 3 calls malformed. */
const XFF_JUNK = [
  'unknown',
  '_hidden',
  'example.com',
  'localhost',
  '010.0.0.1',
  '127.1',
  '[1.2.3.4]',
  '[1.2.3.4]:80',
  '[::1',
  '::1]',
  '[::1]x',
  '[::1]:',
  '"1.2.3.4"',
  '1.2.3.4 5.6.7.8',
  '1.2.3.4;5.6.7.8',
  '1.2.3.4:80:80',
  'for=1.2.3.4',
];

/** randomXffJunk returns an entry that is probably malformed. */
export function randomXffJunk(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return rng.pick(XFF_JUNK);
    case 1:
      return `${formatAddress(randomAddr(rng, 4))}:${rng.pick(BAD_PORTS)}`;
    case 2:
      return `[${spellIPv6(rng, rng.bits(128), false)}]:${rng.pick(BAD_PORTS)}`;
    case 3:
      return randomJunk(rng).replace(/,/g, '');
    default:
      return mutate(rng, spellXffHop(rng, randomAddr(rng, rng.chance(0.5) ? 4 : 6)));
  }
}

/**
 * spellForwardedElement writes an RFC 7239 element whose `for` is `addr`,
 * quoted or not as section 4 requires, with other parameters around it.
 */
export function spellForwardedElement(rng: Rng, addr: Addr): string {
  const text = spellAddress(rng, addr, 0.15);
  const name = rng.pick(['for', 'for', 'for', 'For', 'FOR', 'fOr']);
  let node: string;
  if (text.includes(':')) {
    node = `"[${text}]${rng.chance(0.3) ? `:${randomPort(rng)}` : ''}"`;
  } else if (rng.chance(0.3)) {
    node = `"${text}:${randomPort(rng)}"`;
  } else {
    node = rng.chance(0.5) ? text : `"${text}"`;
  }
  return withParameters(rng, `${name}=${node}`);
}

const OTHER_PARAMETERS = [
  'proto=https',
  'proto=http',
  'by=10.0.0.1',
  'by="[2001:db8::1]:80"',
  'host=example.com',
  'host="example.com:8443"',
  'by=_proxy',
  'x="a,b"',
  'x="a;b"',
  'ext=""',
  'by=unknown',
];

/** withParameters puts other parameters and separators around a pair. */
function withParameters(rng: Rng, pair: string): string {
  const parts = [pair];
  const extra = rng.chance(0.5) ? rng.between(1, 3) : 0;
  for (let i = 0; i < extra; i++) {
    const other = rng.pick(OTHER_PARAMETERS);
    if (rng.chance(0.5)) parts.push(other);
    else parts.unshift(other);
  }
  const separator = (): string => rng.pick([';', ';', '; ', ' ;', ' ; ', ';;', ';\t']);
  let element = parts[0]!;
  for (let i = 1; i < parts.length; i++) element += separator() + parts[i];
  if (rng.chance(0.05)) element = `;${element}`;
  if (rng.chance(0.05)) element = `${element};`;
  return element;
}

/** FORWARDED_JUNK are elements issue 3 and RFC 7239 make malformed hops. */
const FORWARDED_JUNK = [
  'for=unknown',
  'for="unknown"',
  'for=_gazonk',
  'for="_gazonk:_port"',
  'proto=https',
  'by=10.0.0.1',
  'for=2001:db8::1',
  'for=[2001:db8::1]',
  'for="2001:db8::1"',
  'for=1.2.3.4:80',
  'for="1.2.3.4',
  'for=1.2.3.4"',
  'for=1.2.3.4;for=5.6.7.8',
  'for="[1.2.3.4]"',
  'for=""',
  'for=',
  'for',
  '=1.2.3.4',
  'for="\\[::1\\]"',
  'for="1.2.3.4\\"',
  'for = 1.2.3.4',
  'for=1.2.3.4 proto=http',
  'for=010.0.0.1',
  'for="[::1]:99999"',
  'for="1.2.3.4:_abc"',
  'for=\u0131.2.3.4',
  'x="a,for=1.2.3.4"',
  'x="unclosed;for=1.2.3.4',
];

/** randomForwardedJunk returns an element that is probably malformed. */
export function randomForwardedJunk(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
    case 1:
      return withParameters(rng, rng.pick(FORWARDED_JUNK));
    case 2:
      return `for=${randomJunk(rng).replace(/,/g, '')}`;
    default:
      return mutate(rng, spellForwardedElement(rng, randomAddr(rng, rng.chance(0.5) ? 4 : 6)));
  }
}

/**
 * writeHeader turns hops into a header value: entries joined by commas with
 * optional whitespace and stray empty entries, given as one string or as
 * several lines (sometimes cut in the middle of an entry).
 */
export function writeHeader(rng: Rng, hops: readonly Hop[], kind: HeaderKind): string | string[] {
  const entries = hops.map((hop) => {
    if ('addr' in hop) {
      return kind === 'forwarded'
        ? spellForwardedElement(rng, hop.addr)
        : spellXffHop(rng, hop.addr);
    }
    if (hop.junk === '') return rng.pick(['', ' ', '\t']);
    return kind === 'forwarded' ? randomForwardedJunk(rng) : randomXffJunk(rng);
  });

  const separator = (): string => rng.pick([',', ', ', ', ', ' , ', ',\t', ',,', ', ,']);
  const pieces: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    pieces.push(i === 0 ? entries[i]! : separator() + entries[i]);
  }
  let text = pieces.join('');
  if (rng.chance(0.05)) text = `, ${text}`;
  if (rng.chance(0.05)) text = `${text} ,`;

  const roll = rng.int(10);
  if (roll < 6) return text;
  if (roll < 9) {
    // Several lines, split at entry boundaries.
    const lines: string[] = [];
    let line = '';
    for (let i = 0; i < entries.length; i++) {
      if (line !== '' && rng.chance(0.4)) {
        lines.push(line);
        line = '';
      }
      line += line === '' ? entries[i] : separator() + entries[i];
    }
    lines.push(line);
    return lines;
  }
  // Lines cut anywhere: joined again with commas, which both sides must do.
  const cut = rng.int(text.length + 1);
  return [text.slice(0, cut), text.slice(cut)];
}

/**
 * randomPeer returns a socket peer as Node reports it: IPv4, IPv4-mapped
 * (`::ffff:1.2.3.4` from a dual-stack socket), IPv6 with or without a zone;
 * now and then undefined, empty or junk.
 */
export function randomPeer(rng: Rng, trusted: readonly Prefix[]): string | undefined {
  const roll = rng.int(100);
  if (roll < 2) return undefined;
  if (roll < 3) return '';
  if (roll < 6) return randomJunk(rng);
  const addr = randomHopAddr(rng, trusted, 0.85);
  if (addr.family === 4) {
    return rng.chance(0.4) ? `::ffff:${formatAddress(addr)}` : spellAddress(rng, addr, 0.1);
  }
  return rng.chance(0.7) ? formatAddress(addr) : spellAddress(rng, addr);
}

/**
 * hugeHeader returns a header over 64 KiB whose far-left part is padding:
 * empty entries, trusted hops or junk, with `tail` (the interesting part)
 * on the right or the left.
 */
export function hugeHeader(rng: Rng, tail: string, kind: HeaderKind, trustedHop: string): string {
  const size = rng.between(65_537, 140_000);
  let filler: string;
  switch (rng.int(4)) {
    case 0:
      filler = ', '.repeat(size / 2);
      break;
    case 1:
      filler = `${trustedHop}, `.repeat(Math.ceil(size / (trustedHop.length + 2)));
      break;
    case 2:
      filler = kind === 'forwarded' ? 'for=unknown, '.repeat(size / 13) : 'x'.repeat(size);
      break;
    default:
      filler = '\u0131'.repeat(size);
  }
  return rng.chance(0.7) ? `${filler}, ${tail}` : `${tail}, ${filler}`;
}
