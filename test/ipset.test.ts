import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalAddress, IpMap, IpSet } from '../src/index.js';
import { SCRATCH_SIZE } from '../src/layout.js';
import { raises } from './support/assert.js';

// [address, why it is or is not an address]
const ADDRESSES: ReadonlyArray<[string, string]> = [
  ['0.0.0.0', 'lowest IPv4 address'],
  ['255.255.255.255', 'highest IPv4 address'],
  ['192.0.2.1', 'plain dotted quad'],
  ['::', 'all-zero IPv6 compressed'],
  ['::1', 'loopback'],
  ['2001:db8::1', 'compression in the middle'],
  ['2001:DB8::1', 'upper-case hex'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', 'full form with leading zeros'],
  ['1:2:3:4:5:6:7::', 'compression standing for one trailing group'],
  ['::2:3:4:5:6:7:8', 'compression standing for one leading group'],
  ['1::8', 'compression of six groups'],
  ['::1.2.3.4', 'IPv4-compatible embedding (plain IPv6)'],
  ['64:ff9b::192.0.2.1', 'NAT64 embedding'],
  ['::ffff:1.2.3.4', 'IPv4-mapped, dotted tail'],
  ['::FFFF:0102:0304', 'IPv4-mapped, hex tail'],
  ['0:0:0:0:0:ffff:1.2.3.4', 'IPv4-mapped, full form'],
  ['fe80::1%eth0', 'zone id'],
  ['fe80::1%25', 'numeric zone id'],
];

const NOT_ADDRESSES: ReadonlyArray<[unknown, string]> = [
  ['', 'empty'],
  ['010.0.0.1', 'leading zero: octal to some parsers'],
  ['127.1', 'shortened IPv4'],
  ['0x7f.0.0.1', 'hex field'],
  ['2130706433', 'a single integer'],
  ['1.2.3.4.5', 'five fields'],
  ['1.2.3', 'three fields'],
  ['256.0.0.1', 'field over 255'],
  ['1.2.3.4 ', 'trailing space'],
  [' 1.2.3.4', 'leading space'],
  ['1.2.3.4:80', 'port'],
  ['[::1]', 'brackets'],
  ['1.2.3.4%eth0', 'zone on IPv4'],
  ['fe80::1%', 'empty zone'],
  ['fe80::1%eth 0', 'space in zone'],
  [':::', 'triple colon'],
  ['1:::2', 'triple colon inside'],
  ['1::2::3', 'two compressions'],
  ['1:2:3:4:5:6:7:8:9', 'nine groups'],
  ['1:2:3:4:5:6:7', 'seven groups, no compression'],
  ['1:2:3:4:5:6:7:8::', 'compression standing for no group'],
  [':1:2:3:4:5:6:7', 'single leading colon'],
  ['1:2:3:4:5:6:7:', 'single trailing colon'],
  ['12345::', 'five hex digits'],
  ['::ffff:1.2.3', 'short embedded IPv4'],
  ['::ffff:01.2.3.4', 'leading zero in embedded IPv4'],
  ['1.2.3.4::', 'embedded IPv4 not last'],
  ['1:2:3:4:5:6:7:1.2.3.4', 'embedded IPv4 making nine groups'],
  ['g::1', 'non-hex letter'],
  ['１.2.3.4', 'full-width digit'],
  ['1.2.3.\u0134', 'U+0134, whose low byte is "4"'],
  ['1.2.3.4\u0000', 'NUL byte'],
  ['localhost', 'hostname'],
  [undefined, 'undefined'],
  [null, 'null'],
  [16909060, 'a number'],
  [{ toString: () => '1.2.3.4' }, 'an object that stringifies to an address'],
  ['1'.repeat(1 << 20), 'a megabyte of digits'],
];

const parse = suite('IpSet.has: what is an address');

parse('accepts every RFC 4291 text form and the dotted quad', () => {
  const set = IpSet.from(['0.0.0.0/0', '::/0']);
  for (const [addr, why] of ADDRESSES) {
    assert.ok(set.has(addr), `Expected ${addr} to be an address: ${why}`);
  }
});

parse('rejects ambiguous, malformed and non-string input without throwing', () => {
  const set = IpSet.from(['0.0.0.0/0', '::/0']);
  for (const [addr, why] of NOT_ADDRESSES) {
    assert.not.ok(
      set.has(addr),
      `Expected ${String(addr).slice(0, 40)} not to be an address: ${why}`,
    );
  }
});

parse('never reads what an earlier call left past text too long to copy in', () => {
  // The first fills the input area exactly; the second is as long in
  // characters but longer in bytes, so its copy stops short of its end.
  const set = IpSet.from(['fe80::1']);
  const zone = 'a'.repeat(SCRATCH_SIZE - 'fe80::1%'.length);
  assert.ok(set.has(`fe80::1%${zone}`));
  for (const tail of ['\u20ac', '\u{1f600}', '\ud800']) {
    const long = `fe80::1%${zone.slice(tail.length + 1)}${tail}`;
    assert.is(long.length, SCRATCH_SIZE - 1);
    assert.not.ok(set.has(long));
    assert.is(canonicalAddress(long), null);
  }
});

parse.run();

const families = suite('IpSet.has: families');

// [rules, address, expected, why]
const FAMILY_CASES: ReadonlyArray<[string[], string, boolean, string]> = [
  [['10.0.0.0/8'], '::ffff:10.1.2.3', true, 'a mapped peer is its IPv4 address'],
  [['10.0.0.0/8'], '::FFFF:a01:203', true, 'mapped with hex tail'],
  [['10.0.0.0/8'], '0:0:0:0:0:ffff:10.1.2.3', true, 'mapped in full form'],
  [['10.0.0.0/8'], '::10.1.2.3', false, 'IPv4-compatible is plain IPv6'],
  [['10.0.0.0/8'], '64:ff9b::10.1.2.3', false, 'NAT64 is plain IPv6'],
  [['::/0'], '1.2.3.4', false, 'an IPv6 rule shorter than /96 never matches IPv4'],
  [['::/0'], '::ffff:1.2.3.4', false, 'nor a mapped address'],
  [['::ffff:0:0/96'], '1.2.3.4', true, 'the mapped /96 is all of IPv4'],
  [['::ffff:192.168.0.0/120'], '192.168.0.77', true, 'mapped rule is an IPv4 rule'],
  [['::ffff:192.168.0.0/120'], '192.168.1.1', false, 'with its length less 96'],
  [['0.0.0.0/0'], '::1', false, 'an IPv4 rule never matches IPv6'],
  [['fe80::/64'], 'fe80::1%eth0', true, 'the zone is ignored'],
  [['2002::/16'], '2002:c000:0201::1', true, '6to4 is plain IPv6'],
];

families('keeps IPv4 and IPv6 apart and unwraps only ::ffff:0:0/96', () => {
  for (const [rules, addr, expected, why] of FAMILY_CASES) {
    assert.is(IpSet.from(rules).has(addr), expected, `${rules} has ${addr}: ${why}`);
  }
});

families.run();

const rules = suite('IpSet.from: rule forms');

// [rule, inside, outside, why]
const RULE_FORMS: ReadonlyArray<[string, string[], string[], string]> = [
  ['128.0.0.1', ['128.0.0.1'], ['128.0.0.2'], 'a single address is a /32'],
  ['192.168.0.0/31', ['192.168.0.0', '192.168.0.1'], ['192.168.0.2'], 'a /31 (PostHog example)'],
  ['127.0.0.0/25', ['127.0.0.127'], ['127.0.0.128'], 'a /25 (PostHog example)'],
  ['10.1.2.3/8', ['10.255.0.1'], ['11.0.0.0'], 'host bits set are masked, as strict=False'],
  ['10.0.0.0/08', ['10.9.9.9'], ['11.0.0.0'], 'zero-padded prefix length'],
  ['10.0.0.0/255.255.0.0', ['10.0.255.255'], ['10.1.0.0'], 'IPv4 netmask'],
  ['10.0.0.0/0.0.255.255', ['10.0.255.255'], ['10.1.0.0'], 'IPv4 hostmask'],
  ['10.0.0.0/0.0.0.0', ['99.0.0.1'], [], 'netmask tried before hostmask: /0'],
  ['10.0.0.0/255.255.255.255', ['10.0.0.0'], ['10.0.0.1'], 'all-ones netmask: /32'],
  ['0.0.0.0/0', ['255.255.255.255'], ['::1'], 'all of IPv4'],
  ['2001:db8::/32', ['2001:db8:ffff::1'], ['2001:db9::'], 'IPv6 prefix'],
  ['2001:db8::1/128', ['2001:db8::1'], ['2001:db8::2'], 'IPv6 host'],
  ['2001:db8::ff/120', ['2001:db8::1'], ['2001:db8::100'], 'IPv6 with host bits set'],
  ['::/0', ['ffff::'], ['1.2.3.4'], 'all of IPv6'],
  ['10.0.0.5-10.0.0.9', ['10.0.0.5', '10.0.0.9'], ['10.0.0.4', '10.0.0.10'], 'IPv4 range'],
  ['10.0.0.7-10.0.0.7', ['10.0.0.7'], ['10.0.0.6', '10.0.0.8'], 'one-address range'],
  ['0.0.0.0-255.255.255.255', ['1.2.3.4'], ['::1'], 'whole-space range'],
  [
    '2001:db8::1-2001:db8::ff',
    ['2001:db8::1', '2001:db8::ff'],
    ['2001:db8::', '2001:db8::100'],
    'IPv6 range',
  ],
  ['::ffff:1.2.3.4-::ffff:1.2.3.9', ['1.2.3.6'], ['1.2.3.10'], 'mapped range is IPv4'],
  ['fe80::%eth0/10', ['fe80::1'], ['fec0::1'], 'zone in a rule is ignored'],
];

rules('accepts what ip_network(strict=False) accepts, and ranges', () => {
  for (const [rule, inside, outside, why] of RULE_FORMS) {
    const set = IpSet.from([rule]);
    for (const addr of inside) assert.ok(set.has(addr), `${rule} has ${addr}: ${why}`);
    for (const addr of outside) assert.not.ok(set.has(addr), `${rule} lacks ${addr}: ${why}`);
  }
});

rules('counts the rules it was given as size', () => {
  assert.is(IpSet.from([]).size, 0);
  assert.is(IpSet.from(['10.0.0.0/8', '10.0.0.0/8', '1.0.0.0-1.0.0.9']).size, 3);
});

rules('an empty set holds nothing', () => {
  const set = IpSet.from([]);
  assert.not.ok(set.has('1.2.3.4'));
  assert.not.ok(set.has('::1'));
});

rules('accepts any iterable of rules', () => {
  const set = IpSet.from(new Set(['10.0.0.0/8']).values());
  assert.ok(set.has('10.0.0.1'));
});

// [rule, exact message after the quoted rule, why]
const BAD_RULES: ReadonlyArray<[string, string, string]> = [
  ['', 'empty rule', 'nothing to match'],
  ['10.0.0.0/33', 'prefix length 33 exceeds 32', 'over the IPv4 maximum'],
  ['2001:db8::/129', 'prefix length 129 exceeds 128', 'over the IPv6 maximum'],
  ['10.0.0.0/', 'prefix length is missing after "/"', 'slash with nothing after it'],
  ['10.0.0.0/-1', 'prefix length "-1" is neither a number nor an IPv4 netmask', 'sign'],
  ['10.0.0.0/255.0.255.0', 'netmask 255.0.255.0 is not contiguous', 'holes in the mask'],
  ['::/ffff::', 'prefix length "ffff::" is neither a number nor an IPv4 netmask', 'IPv6 mask'],
  ['::/255.0.0.0', 'an IPv6 rule takes a prefix length, not a netmask', 'netmask on IPv6'],
  ['10.0.0.9-10.0.0.5', 'range ends before it starts', 'reversed range'],
  ['10.0.0.1-::1', 'range mixes IPv4 and IPv6', 'two families'],
  ['example.com', 'hostnames are not supported; give an address', 'a hostname'],
  ['*', 'wildcards are not supported; write a prefix such as 10.0.0.0/8', 'a wildcard'],
  ['[::1]', 'brackets are not part of an address', 'URL-style brackets'],
  ['10.0.0.1,10.0.0.2', 'two rules joined by a comma; give each rule separately', 'a list'],
  [' 10.0.0.1', 'contains whitespace', 'untrimmed'],
  ['010.0.0.1', 'IPv4 field "010" has a leading zero, which parsers read differently', 'octal'],
  ['127.1', 'IPv4 address needs 4 decimal fields, not 2', 'shortened'],
  ['256.1.1.1', 'IPv4 field 256 exceeds 255', 'field too big'],
  ['10.0.0.0/8/8', 'prefix length "8/8" is neither a number nor an IPv4 netmask', 'two slashes'],
  ['1:2:3', 'not an IPv4 or IPv6 address', 'three IPv6 groups'],
];

rules('throws ERR_INVALID_RULE quoting the rule and saying what is wrong', () => {
  for (const [rule, reason, why] of BAD_RULES) {
    try {
      IpSet.from(['10.0.0.0/8', rule]);
      assert.unreachable(`Expected ${rule} to be refused: ${why}`);
    } catch (error) {
      const e = error as TypeError & { code: string; rule: string; reason: string };
      assert.instance(e, TypeError, why);
      assert.is(e.code, 'ERR_INVALID_RULE', why);
      assert.is(e.message, `IpSet.from(${JSON.stringify(rule)}): ${reason}`, why);
      assert.is(e.reason, reason);
      assert.is((e as { index?: number }).index, 1, why);
    }
  }
});

rules('refuses a rule that fits in characters but not in bytes', () => {
  const long = `10.0.0.0/${'\u0664'.repeat(SCRATCH_SIZE - 9)}`;
  const refused = raises(() => IpSet.from(['10.0.0.0/8', long]));
  assert.is(refused.code, 'ERR_INVALID_RULE');
  assert.ok(refused.message.endsWith(': not an IPv4 or IPv6 address'), refused.message);
});

rules('caps the quoted rule at 128 characters', () => {
  const rule = `${'a'.repeat(300)}.com`;
  try {
    IpSet.from([rule]);
    assert.unreachable('Expected a hostname to be refused');
  } catch (error) {
    const message = (error as Error).message;
    const quoted = `${JSON.stringify('a'.repeat(128))}...`;
    assert.is(message, `IpSet.from(${quoted}): hostnames are not supported; give an address`);
  }
});

rules('refuses a string where rules are expected, and non-string rules', () => {
  assert.throws(
    () => IpSet.from('10.0.0.0/8' as never),
    /expected an iterable of rules, not a string/,
  );
  assert.throws(() => IpSet.from([8 as never]), /a rule must be a string, not number/);
  assert.throws(() => IpSet.from(null as never), /expected an iterable of rules/);
});

rules.run();

const match = suite('IpSet.match');

match('returns the rule of the longest prefix, the later of equals', () => {
  const set = IpSet.from(['10.0.0.0/8', '10.1.0.0/16', '10.1.0.0/255.255.0.0', '::/0']);
  assert.is(set.match('10.1.2.3'), '10.1.0.0/255.255.0.0');
  assert.is(set.match('10.2.0.0'), '10.0.0.0/8');
  assert.is(set.match('2001:db8::'), '::/0');
  assert.is(set.match('11.0.0.0'), undefined);
  assert.is(set.match('not an address'), undefined);
});

match.run();

const map = suite('IpMap');

map('gives the longest prefix its value, as routers do', () => {
  const m = IpMap.from([
    ['10.0.0.0/8', 'a'],
    ['10.1.0.0/16', 'b'],
  ]);
  assert.is(m.get('10.1.2.3'), 'b');
  assert.is(m.get('10.2.3.4'), 'a');
  assert.is(m.get('11.0.0.1'), undefined);
  assert.is(m.size, 2);
});

map('lets the later entry win for the same prefix, as a Map does', () => {
  const m = IpMap.from([
    ['10.0.0.0/8', 1],
    ['10.9.9.9/8', 2],
  ]);
  assert.is(m.get('10.0.0.1'), 2);
});

map('keeps falsy values apart from no match', () => {
  const m = IpMap.from<number | null>([
    ['10.0.0.0/8', 0],
    ['::/0', null],
  ]);
  assert.is(m.get('10.0.0.1'), 0);
  assert.is(m.get('::1'), null);
  assert.is(m.get('1.1.1.1'), undefined);
});

map('never throws on a bad address and names IpMap.from in errors', () => {
  const m = IpMap.from([['10.0.0.0/8', 1]]);
  assert.is(m.get(undefined), undefined);
  assert.is(m.get('x'.repeat(100000)), undefined);
  assert.throws(
    () => IpMap.from([['10.0.0.0/40', 1]]),
    (e: Error) => {
      return e.message === 'IpMap.from("10.0.0.0/40"): prefix length 40 exceeds 32';
    },
  );
  assert.throws(
    () => IpMap.from(['10.0.0.0/8' as never]),
    /each entry must be a \[rule, value\] pair/,
  );
});

map.run();
