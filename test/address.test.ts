import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalAddress, isAddress } from '../src/index.js';

// [input, canonical text, why]
const CANONICAL: ReadonlyArray<[string, string, string]> = [
  ['192.0.2.1', '192.0.2.1', 'IPv4 is already canonical'],
  ['::ffff:192.0.2.1', '192.0.2.1', 'mapped becomes IPv4'],
  ['::FFFF:C000:0201', '192.0.2.1', 'mapped hex tail becomes IPv4'],
  ['2001:DB8::1', '2001:db8::1', 'RFC 5952 4.3: lower case'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', '4.1: no leading zeros'],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', '4.2.2: one zero group is not compressed'],
  ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', '4.2.3: the longest run is compressed'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '4.2.3: the first of equal runs'],
  ['0:0:0:0:0:0:0:0', '::', 'all zeros'],
  ['0:0:0:0:0:0:0:1', '::1', 'loopback'],
  ['1:0:0:0:0:0:0:0', '1::', 'trailing run'],
  ['::1.2.3.4', '::102:304', 'IPv4-compatible is plain IPv6 hex'],
  ['fe80::1%eth0', 'fe80::1', 'zone dropped'],
  ['::ffff:1.2.3.4%eth0', '1.2.3.4', 'mapped, zone dropped'],
  ['::ffff:102:304%e.0', '1.2.3.4', 'mapped hex tail, a dot in the zone'],
  ['::ffff:a00:5%a.b', '10.0.0.5', 'mapped hex tail, a dotted zone'],
];

test('canonicalAddress writes RFC 5952 text and unwraps mapped IPv4', () => {
  for (const [input, expected, why] of CANONICAL) {
    assert.is(canonicalAddress(input), expected, why);
  }
});

test('canonicalAddress returns null for anything else, without throwing', () => {
  for (const input of [
    '',
    '127.1',
    '010.0.0.1',
    '[::1]',
    '1.2.3.4:80',
    undefined,
    7,
    'a'.repeat(1e6),
  ]) {
    assert.is(canonicalAddress(input), null, String(input).slice(0, 20));
  }
});

test('isAddress agrees with canonicalAddress', () => {
  for (const input of ['1.2.3.4', '::', 'fe80::1%1', '1.2.3', 'x', '']) {
    assert.is(isAddress(input), canonicalAddress(input) !== null, input);
  }
});
test.run();
