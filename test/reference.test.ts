/**
 * Tests of the twin in test/support/reference.ts, so that the oracle tests
 * do not trust it blindly: table cases taken from issues 2 and 3 (rule
 * results checked against Python's ipaddress.ip_network(strict=False) and
 * summarize_address_range), and agreement with Node's net.isIP and
 * ipaddr.js wherever their semantics are the twin's.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ADVERSARIAL,
  BAD_RULES,
  deriveSeed,
  Rng,
  randomAddressText,
  randomJunk,
  randomQuery,
  randomRule,
  seedFromEnv,
} from './support/random.js';
import {
  canonicalAddress,
  formatAddress,
  parseAddress,
  parseRule,
  ReferenceMap,
  type ReferenceResolution,
  ReferenceTrust,
  type ReferenceTrustOptions,
  rangeToPrefixes,
} from './support/reference.js';

const SEED = seedFromEnv(0x5eed0001);

/** prefixes writes a rule's result as `family|address/bits` strings, or null. */
function prefixes(rule: string): string[] | null {
  const parsed = parseRule(rule);
  if (!parsed.ok) return null;
  return parsed.prefixes.map((p) => `${p.family}|${formatAddress(p)}/${p.bits}`);
}

// ---------------------------------------------------------------------------

const address = suite('parseAddress and canonicalAddress');

// [text, family, canonical text, why]
const VALID: [string, 4 | 6, string, string][] = [
  ['0.0.0.0', 4, '0.0.0.0', 'the lowest IPv4 address; a lone 0 is no leading zero'],
  ['255.255.255.255', 4, '255.255.255.255', 'the highest IPv4 address'],
  ['192.0.2.1', 4, '192.0.2.1', 'a plain dotted quad'],
  ['::', 6, '::', 'all zeros'],
  ['::1', 6, '::1', 'loopback'],
  ['2001:DB8::1', 6, '2001:db8::1', 'upper-case hex, written lower (RFC 5952 4.3)'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '2001:db8::1', 'full form, zeros dropped'],
  ['1:2:3:4:5:6:7::', 6, '1:2:3:4:5:6:7:0', '"::" may stand for one group (RFC 4291)'],
  ['::2:3:4:5:6:7:8', 6, '0:2:3:4:5:6:7:8', 'a single zero group is not compressed'],
  ['1::', 6, '1::', 'trailing "::"'],
  ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1', 'first of two equal zero runs'],
  ['2001:0:0:1:0:0:0:1', 6, '2001:0:0:1::1', 'the longest zero run'],
  ['::ffff:1.2.3.4', 4, '1.2.3.4', 'IPv4-mapped with a dotted tail is IPv4'],
  ['::FFFF:102:304', 4, '1.2.3.4', 'IPv4-mapped in hex, upper case'],
  ['0:0:0:0:0:ffff:1.2.3.4', 4, '1.2.3.4', 'IPv4-mapped, uncompressed'],
  ['0000:0000:0000:0000:0000:ffff:0102:0304', 4, '1.2.3.4', 'IPv4-mapped, zero-padded'],
  ['::ffff:0:0', 4, '0.0.0.0', 'the first IPv4-mapped address'],
  ['::ffff:1.2.3.4%eth0', 4, '1.2.3.4', 'a zone on a mapped address is ignored'],
  ['fe80::1%eth0', 6, 'fe80::1', 'a zone id is accepted and dropped'],
  ['fe80::1%br-1a2b', 6, 'fe80::1', 'interface names may hold "-"'],
  ['fe80::1%wlan0.5_x', 6, 'fe80::1', 'and "." and "_"'],
  ['fe80::1%25', 6, 'fe80::1', 'a numeric zone'],
  ['::1.2.3.4', 6, '::102:304', 'IPv4-compatible is plain IPv6 (issue 2)'],
  ['::ffff:0:1.2.3.4', 6, '::ffff:0:102:304', 'SIIT ::ffff:0:0:0/96 is plain IPv6'],
  ['64:ff9b::1.2.3.4', 6, '64:ff9b::102:304', 'NAT64 is plain IPv6 (issue 2)'],
  ['1:2:3:4:5:6:1.2.3.4', 6, '1:2:3:4:5:6:102:304', 'a dotted tail after six groups'],
];

// [text, why]
const INVALID: [unknown, string][] = [
  ['', 'empty'],
  [' 1.2.3.4', 'leading whitespace'],
  ['1.2.3.4 ', 'trailing whitespace'],
  ['1.2.3.4\n', 'a trailing newline'],
  ['010.0.0.1', 'a leading zero: octal to some parsers'],
  ['1.2.3.04', 'a leading zero in the last field'],
  ['00.0.0.0', 'a doubled zero'],
  ['127.1', 'fewer fields: 127.0.0.1 to inet_aton'],
  ['127.0.1', 'three fields'],
  ['2130706433', 'a single integer'],
  ['0x7f.0.0.1', 'a hex field'],
  ['0x7f000001', 'a hex integer'],
  ['256.0.0.0', 'a field over 255'],
  ['1.2.3.4.5', 'five fields'],
  ['1..2.3', 'an empty field'],
  ['1.2.3.4:80', 'a port'],
  ['[::1]', 'brackets'],
  ['1.2.3.4%eth0', 'a zone on IPv4'],
  ['fe80::1%', 'an empty zone'],
  ['fe80::1%eth 0', 'a space in the zone'],
  ['fe80::1%a%b', 'two zones'],
  ['fe80::1%a:b', 'a colon in the zone'],
  ['fe80::1%x~y', 'DECISION: "~" is not an interface-name character'],
  [':::', 'three colons'],
  ['1::2::3', 'two "::"'],
  [':1::', 'a lone leading colon'],
  ['::1:', 'a lone trailing colon'],
  ['1:2:3:4:5:6:7:8:9', 'nine groups'],
  ['1:2:3:4:5:6:7:8::', '"::" standing for no group'],
  ['1::2:3:4:5:6:7:8', '"::" standing for no group, inside'],
  ['12345::', 'five hex digits in a group'],
  ['::ffff:01.2.3.4', 'a leading zero in the dotted tail'],
  ['::ffff:1.2.3', 'a short dotted tail'],
  ['1:2:3:4:5:6:7:1.2.3.4', 'a dotted tail past the last 32 bits'],
  ['1.2.3.4::', 'a dotted part before "::"'],
  ['\u0661.2.3.4', 'an Arabic-Indic digit'],
  ['\uff11.2.3.4', 'a fullwidth digit'],
  ['\u0131.2.3.4', 'U+0131, whose low byte is "1"'],
  ['::\u0131', 'U+0131 in IPv6'],
  [undefined, 'not a string'],
  [0x01020304, 'a number'],
  [null, 'null'],
];

address('reads every form of issue 2 to its family and canonical text', () => {
  for (const [text, family, canonical, why] of VALID) {
    const addr = parseAddress(text);
    assert.ok(addr, `Expected ${JSON.stringify(text)} to be an address: ${why}`);
    assert.is(addr.family, family, `Expected family ${family} for ${text}: ${why}`);
    assert.is(canonicalAddress(text), canonical, `Expected ${canonical} for ${text}: ${why}`);
  }
});

address('refuses the ambiguous and malformed forms of issue 2', () => {
  for (const [text, why] of INVALID) {
    assert.is(parseAddress(text), null, `Expected ${JSON.stringify(text)} refused: ${why}`);
  }
});

address('formats what it parses to text that parses back to the same address', () => {
  const rng = new Rng(deriveSeed(SEED, 1));
  for (let i = 0; i < 5000; i++) {
    const text = randomAddressText(rng);
    const addr = parseAddress(text);
    assert.ok(addr, `Expected the generator's ${JSON.stringify(text)} to be an address`);
    const canonical = formatAddress(addr);
    assert.equal(parseAddress(canonical), addr, `Expected ${canonical} to round-trip`);
    assert.is(canonicalAddress(canonical), canonical, `Expected ${canonical} to be a fixed point`);
  }
});

// ---------------------------------------------------------------------------

const libraries = suite('parseAddress beside net.isIP and ipaddr.js');

/**
 * DIFFERENCES lists inputs where Node or ipaddr.js deliberately read text
 * otherwise than issue 2 does, so the agreement tests leave them out.
 */
const DIFFERENCES: [string, boolean, string][] = [
  ['fe80::1%a:b', false, 'net.isIP takes ":" in a zone; a zone here is an interface name'],
  ['fe80::1%a_b', true, 'net.isIP refuses "_" in a zone; interface names may hold it'],
  ['fe80::1%br-0', true, 'ipaddr.js takes only letters and digits in a zone'],
  ['127.1', false, 'ipaddr.parse takes it (isValidFourPartDecimal does not)'],
  ['010.0.0.1', false, 'ipaddr.parse reads 8.0.0.1, octal'],
  ['::ffff:01.2.3.4', false, 'ipaddr.js takes a leading zero in a dotted tail'],
  ['::1.2.3.4', true, 'ipaddr.js reads the deprecated compatible form as ::ffff:1.2.3.4'],
];

libraries('documents the inputs where the libraries differ on purpose', () => {
  for (const [text, isAddress, why] of DIFFERENCES) {
    assert.is(parseAddress(text) !== null, isAddress, `Expected ${text}: ${why}`);
  }
  assert.is(net.isIP('fe80::1%a:b'), 6);
  assert.is(net.isIP('fe80::1%a_b'), 0);
  assert.is(ipaddr.isValid('fe80::1%br-0'), false);
  assert.is(ipaddr.parse('127.1').toString(), '127.0.0.1');
  assert.is(ipaddr.IPv4.isValidFourPartDecimal('127.1'), false);
  assert.is(ipaddr.parse('010.0.0.1').toString(), '8.0.0.1');
  assert.is(ipaddr.IPv6.isValid('::ffff:01.2.3.4'), true);
  assert.is(ipaddr.parse('::1.2.3.4').toString(), '::ffff:102:304');
});

/** randomText returns an address in any spelling or something near one. */
function randomText(rng: Rng): string {
  return rng.chance(0.5) ? randomAddressText(rng) : randomJunk(rng);
}

libraries('agree with net.isIP on validity outside zones', () => {
  const rng = new Rng(deriveSeed(SEED, 2));
  let compared = 0;
  for (let i = 0; i < 30_000; i++) {
    const text = i < ADVERSARIAL.length ? ADVERSARIAL[i]! : randomText(rng);
    if (text.includes('%')) continue;
    compared++;
    const isAddress = parseAddress(text) !== null;
    const label = `${JSON.stringify(text).slice(0, 100)} (seed ${SEED}, case ${i})`;
    assert.is(isAddress, net.isIP(text) !== 0, `Expected net.isIP to agree on ${label}`);
  }
  assert.ok(compared > 20_000, `Expected 20,000 comparisons, made ${compared}`);
});

libraries('agree with ipaddr.js on validity and canonical text where it is strict', () => {
  const rng = new Rng(deriveSeed(SEED, 3));
  let compared = 0;
  for (let i = 0; i < 30_000; i++) {
    const text = i < ADVERSARIAL.length ? ADVERSARIAL[i]! : randomText(rng);
    const bare = text.replace(/%[0-9A-Za-z]+$/, '');
    const tail = /:(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare);
    if (bare.includes('%') || /^::\d+\.\d+\.\d+\.\d+$/.test(bare)) continue;
    if (tail?.slice(1).some((field) => /^0\d/.test(field))) continue;
    compared++;

    const isStrict = bare.includes(':')
      ? ipaddr.IPv6.isValid(text)
      : ipaddr.IPv4.isValidFourPartDecimal(text);
    const label = `${JSON.stringify(text).slice(0, 100)} (seed ${SEED}, case ${i})`;
    assert.is(parseAddress(text) !== null, isStrict, `Expected ipaddr.js to agree on ${label}`);
    if (!isStrict) continue;
    const parsed = ipaddr.process(bare);
    const expected =
      parsed.kind() === 'ipv6' ? (parsed as ipaddr.IPv6).toRFC5952String() : parsed.toString();
    assert.is(canonicalAddress(text), expected, `Expected ipaddr.js's text for ${label}`);
  }
  assert.ok(compared > 20_000, `Expected 20,000 comparisons, made ${compared}`);
});

// ---------------------------------------------------------------------------

const rules = suite('parseRule');

// [rule, prefixes as family|address/bits, why]; results match Python's
// ip_network(rule, strict=False) except where issue 2 adds a form.
const RULES: [string, string[], string][] = [
  ['192.0.2.1', ['4|192.0.2.1/32'], 'a single address'],
  ['2001:db8::1', ['6|2001:db8::1/128'], 'a single IPv6 address'],
  ['10.1.2.3/8', ['4|10.0.0.0/8'], 'host bits are masked, not refused'],
  ['10.0.0.1/08', ['4|10.0.0.0/8'], 'a zero-padded length'],
  ['10.0.0.1/0008', ['4|10.0.0.0/8'], 'Python takes any zero padding'],
  ['10.1.2.3/255.255.0.0', ['4|10.1.0.0/16'], 'a netmask'],
  ['10.1.2.3/0.0.255.255', ['4|10.1.0.0/16'], 'a hostmask'],
  ['10.0.0.0/0.0.0.0', ['4|0.0.0.0/0'], 'all zeros reads as a netmask first'],
  ['10.0.0.0/255.255.255.255', ['4|10.0.0.0/32'], 'all ones reads as a netmask first'],
  ['2001:db8::1/32', ['6|2001:db8::/32'], 'IPv6 host bits masked'],
  ['::/0', ['6|::/0'], 'all of IPv6, and no IPv4 (issue 2)'],
  ['::ffff:192.168.0.0/120', ['4|192.168.0.0/24'], 'a mapped rule is the IPv4 rule'],
  ['::ffff:192.168.1.1', ['4|192.168.1.1/32'], 'a mapped address rule'],
  ['::ffff:0:0/96', ['4|0.0.0.0/0'], 'the whole mapped block is all of IPv4'],
  ['::ffff:1.2.3.4/95', ['6|::fffe:0:0/95'], 'shorter than /96 stays IPv6'],
  ['fe80::1%eth0/64', ['6|fe80::/64'], 'a zone is ignored (Python takes it)'],
  ['fe80::1%br-1a2b', ['6|fe80::1/128'], 'a zone holding "-" is no range'],
  ['10.0.0.5-10.0.0.9', ['4|10.0.0.5/32', '4|10.0.0.6/31', '4|10.0.0.8/31'], 'a range'],
  ['10.0.0.7-10.0.0.7', ['4|10.0.0.7/32'], 'a one-address range'],
  ['0.0.0.0-255.255.255.255', ['4|0.0.0.0/0'], 'all of IPv4 as a range'],
  ['::ffff:10.0.0.0-::ffff:10.0.0.255', ['4|10.0.0.0/24'], 'a mapped range is IPv4'],
  ['10.0.0.0-::ffff:10.0.0.255', ['4|10.0.0.0/24'], 'DECISION: ends are compared unwrapped'],
  [
    '2001:db8::1-2001:db8::ff',
    [
      '6|2001:db8::1/128',
      '6|2001:db8::2/127',
      '6|2001:db8::4/126',
      '6|2001:db8::8/125',
      '6|2001:db8::10/124',
      '6|2001:db8::20/123',
      '6|2001:db8::40/122',
      '6|2001:db8::80/121',
    ],
    'the example of issue 2, as summarize_address_range cuts it',
  ],
  [
    '::fffe:ffff:ffff-::1:0:0:0',
    ['6|::fffe:ffff:ffff/128', '6|::ffff:0:0/96', '6|::1:0:0:0/128'],
    'DECISION: an IPv6 range over the mapped block keeps its blocks IPv6',
  ],
];

rules('reads every rule form of issue 2', () => {
  for (const [rule, expected, why] of RULES) {
    assert.equal(prefixes(rule), expected, `Expected ${rule}: ${why}`);
  }
});

rules('refuses every bad rule that issue 2 names', () => {
  for (const rule of BAD_RULES) {
    const parsed = parseRule(rule);
    assert.is(parsed.ok, false, `Expected ${JSON.stringify(rule)} to be refused`);
  }
  assert.is(parseRule(undefined).ok, false, 'Expected a non-string refused');
});

rules('accepts every rule the generator calls valid', () => {
  const rng = new Rng(deriveSeed(SEED, 4));
  for (let i = 0; i < 5000; i++) {
    const rule = randomRule(rng);
    assert.ok(parseRule(rule).ok, `Expected ${JSON.stringify(rule)} (seed ${SEED}, case ${i})`);
  }
});

const ranges = suite('rangeToPrefixes');

ranges('cuts a range into the fewest aligned blocks that cover it exactly', () => {
  const rng = new Rng(deriveSeed(SEED, 5));
  for (let i = 0; i < 300; i++) {
    const family = rng.chance(0.5) ? 4 : 6;
    const width = family === 4 ? 32 : 128;
    const first = rng.bits(width);
    const span = rng.bits(rng.between(0, 40));
    const top = (1n << BigInt(width)) - 1n;
    const last = first + span > top ? top : first + span;
    const blocks = rangeToPrefixes(family, first, last);

    // Contiguous, aligned, in order, from first to last.
    let next = first;
    for (const block of blocks) {
      const size = 1n << BigInt(width - block.bits);
      assert.is(block.value, next, `Expected block at ${next} (case ${i})`);
      assert.is(block.value % size, 0n, `Expected an aligned block (case ${i})`);
      next += size;
    }
    assert.is(next - 1n, last, `Expected the blocks to end at ${last} (case ${i})`);
    // Fewest: no two neighbours could merge into one aligned block.
    for (let b = 1; b < blocks.length; b++) {
      const [left, right] = [blocks[b - 1]!, blocks[b]!];
      const size = 1n << BigInt(width - left.bits);
      const isMergeable = left.bits === right.bits && left.value % (size * 2n) === 0n;
      assert.not.ok(isMergeable, `Expected no mergeable neighbours (case ${i})`);
    }
  }
});

// ---------------------------------------------------------------------------

const matcher = suite('ReferenceMap');

matcher('picks the longest prefix, as a router does', () => {
  const map = new ReferenceMap([
    ['10.0.0.0/8', 'a'],
    ['10.1.0.0/16', 'b'],
  ]);
  assert.is(map.lookup('10.1.2.3')?.value, 'b', 'Expected the example of issue 2');
  assert.is(map.lookup('10.2.0.0')?.value, 'a');
  assert.is(map.lookup('11.0.0.0'), undefined);
});

matcher('lets the later entry win for the same prefix, in any spelling', () => {
  const map = new ReferenceMap([
    ['10.0.0.0/8', 'first'],
    ['::ffff:10.1.2.3/104', 'second'],
    ['10.0.0.0-10.0.0.255', 'range'],
    ['10.0.0.0/24', 'last'],
  ]);
  assert.is(map.lookup('10.9.9.9')?.value, 'second', 'Expected the mapped spelling of /8');
  assert.is(map.lookup('10.0.0.9')?.value, 'last', 'Expected the later /24 over the range');
  assert.is(map.lookup('10.0.0.9')?.rule, '10.0.0.0/24');
});

matcher('keeps IPv4 and IPv6 apart except through the mapped block', () => {
  const wide = new ReferenceMap([['::/0', 1]]);
  assert.is(wide.lookup('1.2.3.4'), undefined, 'Expected ::/0 to miss IPv4');
  assert.is(wide.lookup('::ffff:1.2.3.4'), undefined, 'Expected ::/0 to miss mapped IPv4');
  assert.is(wide.lookup('::1.2.3.4')?.value, 1, 'Expected ::1.2.3.4 to be IPv6');
  const mapped = new ReferenceMap([['::ffff:0:0/96', 1]]);
  assert.is(mapped.lookup('1.2.3.4')?.value, 1, 'Expected ::ffff:0:0/96 to hold IPv4');
  assert.is(mapped.lookup('::1'), undefined);
  const v4 = new ReferenceMap([['0.0.0.0/0', 1]]);
  assert.is(v4.lookup('::FFFF:102:304')?.value, 1, 'Expected a mapped query to match IPv4');
  assert.is(v4.lookup('::102:304'), undefined, 'Expected a compatible query to stay IPv6');
});

matcher('agrees with net.BlockList, family given, within one family', () => {
  const rng = new Rng(deriveSeed(SEED, 6));
  let compared = 0;
  for (let set = 0; set < 400; set++) {
    // Node matches IPv4 queries against IPv6 rules through the mapped block,
    // so each set holds one family and is asked about that family only.
    const family = set % 2 === 0 ? 4 : 6;
    const rules: string[] = [];
    const list = new net.BlockList();
    const name = family === 4 ? 'ipv4' : 'ipv6';
    for (let i = rng.between(1, 10); i > 0; i--) {
      const parsed = parseRule(randomRule(rng, undefined, rng.pick(['cidr', 'range'] as const)));
      if (!parsed.ok) continue;
      for (const prefix of parsed.prefixes) {
        if (prefix.family !== family) continue;
        rules.push(`${formatAddress(prefix)}/${prefix.bits}`);
        list.addSubnet(formatAddress(prefix), prefix.bits, name);
      }
    }
    const map = new ReferenceMap(rules.map((rule) => [rule, true] as const));
    const targets = rules.map((rule) => parseRule(rule)).flatMap((r) => (r.ok ? r.prefixes : []));
    for (let q = 0; q < 50; q++) {
      const addr = parseAddress(randomQuery(rng, targets));
      if (addr === null || addr.family !== family) continue;
      compared++;
      const text = formatAddress(addr);
      const label = `${text} in ${JSON.stringify(rules)} (seed ${SEED}, set ${set})`;
      assert.is(map.lookup(text) !== undefined, list.check(text, name), `Expected ${label}`);
    }
  }
  assert.ok(compared > 10_000, `Expected 10,000 comparisons, made ${compared}`);
});

matcher('throws on a bad rule and finds nothing for non-addresses', () => {
  assert.throws(() => new ReferenceMap([['10.0.0.0/33', 1]]));
  const map = new ReferenceMap([['0.0.0.0/0', 1]]);
  for (const text of ['127.1', '1.2.3.4:80', undefined, 7]) {
    assert.is(map.lookup(text), undefined, `Expected no match for ${String(text)}`);
  }
});

// ---------------------------------------------------------------------------

const trust = suite('ReferenceTrust.resolve');

type TrustCase = [
  ReferenceTrustOptions,
  string | undefined,
  Record<string, string | string[]>,
  ReferenceResolution,
  string,
];

const PROXIES = { trusted: ['10.0.0.0/8', 'fd00::/8'] };
const FWD = { ...PROXIES, header: 'forwarded' as const };
const peer = (ip: string) => ({ clientIp: ip, hop: 0, reason: 'peer' as const });
const hop = (ip: string, n: number) => ({ clientIp: ip, hop: n, reason: 'forwarded' as const });
const allOf = (ip: string, n: number) => ({ clientIp: ip, hop: n, reason: 'all-trusted' as const });
const none = (reason: ReferenceResolution['reason']) => ({ clientIp: null, hop: null, reason });
const XFF = 'x-forwarded-for';

const TRUST_CASES: TrustCase[] = [
  [{}, '10.0.0.1', { [XFF]: '1.2.3.4' }, peer('10.0.0.1'), 'no trust: headers are ignored'],
  [{}, undefined, {}, none('no-peer'), 'no trust and no peer'],
  [{}, '::ffff:10.0.0.1', {}, peer('10.0.0.1'), 'a mapped peer is unwrapped'],
  [PROXIES, '203.0.113.9', { [XFF]: '1.2.3.4' }, peer('203.0.113.9'), 'a forged header, direct'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4' }, hop('1.2.3.4', 1), 'one proxy'],
  [PROXIES, '10.0.0.1', { [XFF]: '6.6.6.6, 1.2.3.4' }, hop('1.2.3.4', 1), 'forged left entry'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4, 10.0.0.3, 10.0.0.2' }, hop('1.2.3.4', 3), 'a chain'],
  [PROXIES, '10.0.0.1', { [XFF]: '10.0.0.3, 10.0.0.2' }, allOf('10.0.0.3', 2), 'all trusted'],
  [{ all: true }, '9.9.9.9', { [XFF]: '1.2.3.4, 5.6.7.8' }, allOf('1.2.3.4', 2), '`all`'],
  [PROXIES, '10.0.0.1', { [XFF]: '' }, peer('10.0.0.1'), 'an empty header'],
  [PROXIES, '10.0.0.1', { [XFF]: ' , ,\t' }, peer('10.0.0.1'), 'only empty entries'],
  [PROXIES, '10.0.0.1', { [XFF]: ['1.2.3.4', '10.0.0.2'] }, hop('1.2.3.4', 2), 'lines, joined'],
  [PROXIES, '10.0.0.1', { [XFF]: ['1.2.3.4,', ',10.0.0.2'] }, hop('1.2.3.4', 2), 'empty joins'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4:8080' }, hop('1.2.3.4', 1), 'an IPv4 port'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4:00080' }, hop('1.2.3.4', 1), 'a 5-digit port'],
  [PROXIES, '10.0.0.1', { [XFF]: '[2001:DB8::5]:443' }, hop('2001:db8::5', 1), 'IPv6 port'],
  [PROXIES, '10.0.0.1', { [XFF]: '[2001:db8::5]' }, hop('2001:db8::5', 1), 'brackets'],
  [PROXIES, '10.0.0.1', { [XFF]: '2001:db8:0::5' }, hop('2001:db8::5', 1), 'bare IPv6'],
  [PROXIES, '10.0.0.1', { [XFF]: '[::ffff:1.2.3.4]:80' }, hop('1.2.3.4', 1), 'mapped, bracketed'],
  [PROXIES, '10.0.0.1', { [XFF]: 'fe80::1%eth0' }, hop('fe80::1', 1), 'a zone is dropped'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4:65536' }, none('malformed-hop'), 'port over 65535'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4:080808' }, none('malformed-hop'), '6-digit port'],
  [PROXIES, '10.0.0.1', { [XFF]: '[1.2.3.4]' }, none('malformed-hop'), 'brackets for IPv4'],
  [PROXIES, '10.0.0.1', { [XFF]: 'unknown' }, none('malformed-hop'), '`unknown`'],
  [PROXIES, '10.0.0.1', { [XFF]: '_hidden' }, none('malformed-hop'), 'an obfuscated name'],
  [PROXIES, '10.0.0.1', { [XFF]: 'proxy.example' }, none('malformed-hop'), 'a hostname'],
  [PROXIES, '10.0.0.1', { [XFF]: '010.0.0.1' }, none('malformed-hop'), 'a leading zero'],
  [PROXIES, '10.0.0.1', { [XFF]: 'junk, 1.2.3.4' }, hop('1.2.3.4', 1), 'junk never reached'],
  [PROXIES, '10.0.0.1', { [XFF]: '1.2.3.4, junk, 10.0.0.2' }, none('malformed-hop'), 'reached'],
  [PROXIES, '::ffff:10.0.0.1', { [XFF]: '1.2.3.4' }, hop('1.2.3.4', 1), 'mapped peer trusted'],
  [PROXIES, 'fd00::1', { [XFF]: '2001:db8::1, fd00::2' }, hop('2001:db8::1', 2), 'IPv6 proxies'],
  [PROXIES, '10.0.0.1:80', { [XFF]: '1.2.3.4' }, none('no-peer'), 'a peer that is no address'],
  [PROXIES, '10.0.0.1', { forwarded: 'for=1.2.3.4' }, peer('10.0.0.1'), 'Forwarded is ignored'],
  [FWD, '10.0.0.1', { [XFF]: '1.2.3.4' }, peer('10.0.0.1'), 'X-Forwarded-For is ignored'],
  [
    { ...PROXIES, maxHops: 2 },
    '10.0.0.1',
    { [XFF]: '1.2.3.4, 10.0.0.3, 10.0.0.2' },
    none('too-many-hops'),
    'a third entry is one more than maxHops',
  ],
  [
    { ...PROXIES, maxHops: 3 },
    '10.0.0.1',
    { [XFF]: '1.2.3.4, 10.0.0.3, 10.0.0.2' },
    hop('1.2.3.4', 3),
    'exactly maxHops entries',
  ],
  [
    { ...PROXIES, maxHops: 1 },
    '10.0.0.1',
    { [XFF]: ', , 1.2.3.4, ,' },
    hop('1.2.3.4', 1),
    'empty entries are not examined',
  ],
  [
    FWD,
    '10.0.0.1',
    { forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43' },
    hop('192.0.2.60', 1),
    'RFC 7239 example',
  ],
  [
    FWD,
    '10.0.0.1',
    { forwarded: 'For="[2001:db8:cafe::17]:4711"' },
    hop('2001:db8:cafe::17', 1),
    'quoted IPv6 with a port, name in another case',
  ],
  [FWD, '10.0.0.1', { forwarded: 'for="1.2.3.4:80"' }, hop('1.2.3.4', 1), 'quoted IPv4 port'],
  [FWD, '10.0.0.1', { forwarded: 'for=1.2.3.4 ; proto=http' }, hop('1.2.3.4', 1), 'spaces'],
  [
    FWD,
    '10.0.0.1',
    { forwarded: 'for=192.0.2.43, for=10.0.0.2' },
    hop('192.0.2.43', 2),
    'two elements',
  ],
  [FWD, '10.0.0.1', { forwarded: 'for=unknown' }, none('malformed-hop'), '`unknown`'],
  [FWD, '10.0.0.1', { forwarded: 'for="_gazonk"' }, none('malformed-hop'), 'obfuscated'],
  [FWD, '10.0.0.1', { forwarded: 'proto=http' }, none('malformed-hop'), 'no for='],
  [FWD, '10.0.0.1', { forwarded: 'for=2001:db8::1' }, none('malformed-hop'), 'bare IPv6'],
  [FWD, '10.0.0.1', { forwarded: 'for="2001:db8::1"' }, none('malformed-hop'), 'no brackets'],
  [FWD, '10.0.0.1', { forwarded: 'for=[2001:db8::1]' }, none('malformed-hop'), 'no quotes'],
  [FWD, '10.0.0.1', { forwarded: 'for=1.2.3.4:80' }, none('malformed-hop'), 'port unquoted'],
  [FWD, '10.0.0.1', { forwarded: 'for=1.2.3.4;for=5.6.7.8' }, none('malformed-hop'), 'two for'],
  [FWD, '10.0.0.1', { forwarded: 'for="\\1.2.3.4"' }, none('malformed-hop'), 'an escape'],
  [
    FWD,
    '10.0.0.1',
    { forwarded: 'for="unclosed, for=5.6.7.8' },
    hop('5.6.7.8', 1),
    'a bad element does not spoil those to its right',
  ],
  [
    FWD,
    '10.0.0.1',
    { forwarded: 'for=1.2.3.4, x="a,b";for=10.0.0.2' },
    hop('1.2.3.4', 2),
    'a comma inside quotes does not separate',
  ],
];

trust('walks every case of issue 3 as the issue says', () => {
  for (const [options, remote, headers, expected, why] of TRUST_CASES) {
    const actual = new ReferenceTrust(options).resolve(remote, headers);
    assert.equal(actual, expected, `Expected ${why}: ${JSON.stringify([remote, headers])}`);
  }
});

trust('reports trusted addresses, every address under `all`', () => {
  const some = new ReferenceTrust(PROXIES);
  assert.is(some.isTrusted('10.1.1.1'), true);
  assert.is(some.isTrusted('::ffff:10.1.1.1'), true, 'Expected a mapped proxy to be trusted');
  assert.is(some.isTrusted('11.1.1.1'), false);
  const all = new ReferenceTrust({ all: true });
  assert.is(all.isTrusted('2001:db8::1'), true);
  assert.is(all.isTrusted('unknown'), false, 'Expected a non-address never trusted');
  assert.is(new ReferenceTrust({}).isConfigured, false);
  assert.is(new ReferenceTrust({ all: true }).isConfigured, true);
});

address.run();
libraries.run();
rules.run();
ranges.run();
matcher.run();
trust.run();
