import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IpSet, ProxyTrust, type Resolution } from '../src/index.js';

const PROXIES = ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8'];
const XFF = 'x-forwarded-for';

type Case = [
  peer: string | undefined,
  header: string | string[] | undefined,
  expected: Partial<Resolution>,
  why: string,
];

function check(trust: ProxyTrust, name: string, cases: readonly Case[]): void {
  for (const [peer, header, expected, why] of cases) {
    const got = trust.resolve(peer, { [name]: header });
    const picked = Object.fromEntries(
      Object.keys(expected).map((key) => [key, got[key as keyof Resolution]]),
    );
    assert.equal(picked, expected, `${peer} ${JSON.stringify(header)}: ${why}`);
    assert.is(trust.clientIp(peer, { [name]: header }), got.clientIp, why);
  }
}

const xff = suite('ProxyTrust: X-Forwarded-For');

const XFF_CASES: readonly Case[] = [
  [
    '10.0.0.1',
    '203.0.113.9',
    { clientIp: '203.0.113.9', hop: 1, reason: 'forwarded' },
    'one proxy',
  ],
  ['10.0.0.1', '203.0.113.9, 172.16.0.2', { clientIp: '203.0.113.9', hop: 2 }, 'two proxies'],
  [
    '10.0.0.1',
    '6.6.6.6, 203.0.113.9, 10.0.0.2',
    { clientIp: '203.0.113.9' },
    'forged left entry behind an appending proxy is never reached',
  ],
  [
    '198.51.100.1',
    '1.1.1.1',
    { clientIp: '198.51.100.1', hop: 0, reason: 'peer' },
    'direct connection with a forged header',
  ],
  [
    '10.0.0.1',
    '10.0.0.3, 10.0.0.2',
    { clientIp: '10.0.0.3', hop: 2, reason: 'all-trusted' },
    'every hop trusted: the leftmost',
  ],
  ['10.0.0.1', '', { clientIp: '10.0.0.1', hop: 0, reason: 'peer' }, 'empty header: the peer'],
  ['10.0.0.1', undefined, { clientIp: '10.0.0.1', reason: 'peer' }, 'no header: the peer'],
  ['10.0.0.1', ' , ,203.0.113.9 ,, ', { clientIp: '203.0.113.9', hop: 1 }, 'empty entries skipped'],
  ['10.0.0.1', '203.0.113.9:8080', { clientIp: '203.0.113.9' }, 'IPv4 with a port'],
  ['10.0.0.1', '[2001:db8::5]', { clientIp: '2001:db8::5' }, 'bracketed IPv6'],
  // The client writes the leftmost hop: its zone must not reach clientIp.
  [
    '10.0.0.1',
    '::ffff:a00:5%a.b, 10.0.0.2',
    { clientIp: '10.0.0.5', hop: 2, reason: 'all-trusted' },
    'mapped leftmost hop with a dotted zone',
  ],
  [
    '10.0.0.1',
    '::ffff:203.0.113.9%eth0',
    { clientIp: '203.0.113.9', hop: 1, reason: 'forwarded' },
    'mapped client with a zone',
  ],
  [
    '10.0.0.1',
    '[2001:DB8:0::5]:443',
    { clientIp: '2001:db8::5' },
    'bracketed IPv6 with a port, made canonical',
  ],
  ['10.0.0.1', '2001:db8::5', { clientIp: '2001:db8::5' }, 'bare IPv6'],
  ['10.0.0.1', '::ffff:203.0.113.9', { clientIp: '203.0.113.9' }, 'mapped hop unwrapped'],
  [
    '10.0.0.1',
    '[1.2.3.4]',
    { clientIp: null, reason: 'malformed-hop' },
    'brackets are for IPv6 only',
  ],
  ['10.0.0.1', '1.2.3.4:65536', { clientIp: null, reason: 'malformed-hop' }, 'port over 65535'],
  ['10.0.0.1', '1.2.3.4:123456', { clientIp: null, reason: 'malformed-hop' }, 'six-digit port'],
  ['10.0.0.1', '1.2.3.4:', { clientIp: null, reason: 'malformed-hop' }, 'empty port'],
  ['10.0.0.1', '[::1]:x', { clientIp: null, reason: 'malformed-hop' }, 'non-numeric port'],
  ['10.0.0.1', 'unknown', { clientIp: null, reason: 'malformed-hop' }, 'unknown'],
  ['10.0.0.1', '_hidden', { clientIp: null, reason: 'malformed-hop' }, 'obfuscated identifier'],
  ['10.0.0.1', 'client.example', { clientIp: null, reason: 'malformed-hop' }, 'hostname'],
  ['10.0.0.1', '010.0.0.1', { clientIp: null, reason: 'malformed-hop' }, 'leading zero'],
  ['10.0.0.1', '1.2.3.4\u0000', { clientIp: null, reason: 'malformed-hop' }, 'control byte'],
  ['10.0.0.1', '1.2.3.\u0134', { clientIp: null, reason: 'malformed-hop' }, 'non-ASCII'],
  [
    '10.0.0.1',
    'garbage, 203.0.113.9',
    { clientIp: '203.0.113.9' },
    'garbage left of the client is never reached',
  ],
  [
    '10.0.0.1',
    '\u00e9, 2001:db8::5',
    { clientIp: '2001:db8::5' },
    'non-ASCII left of an IPv6 client, which is read from memory',
  ],
  [
    '10.0.0.1',
    '\u00e9, 2001:DB8::5',
    { clientIp: '2001:db8::5' },
    'non-ASCII left of an IPv6 client that needs formatting',
  ],
  [
    '10.0.0.1',
    'garbage, 10.0.0.5',
    { clientIp: null, reason: 'malformed-hop' },
    'garbage reached past a proxy',
  ],
  [
    '10.0.0.1',
    ['203.0.113.9', '10.0.0.2'],
    { clientIp: '203.0.113.9', hop: 2 },
    'lines joined in order',
  ],
  [
    '10.0.0.1',
    ['6.6.6.6', '203.0.113.9, 10.0.0.2'],
    { clientIp: '203.0.113.9' },
    'not only the first line',
  ],
  [
    '::ffff:10.0.0.1',
    '203.0.113.9',
    { clientIp: '203.0.113.9' },
    'a mapped peer is trusted as IPv4',
  ],
  ['fd00::1', '203.0.113.9', { clientIp: '203.0.113.9' }, 'an IPv6 proxy'],
  ['fd00::1', '2001:db8::77, fd12::2', { clientIp: '2001:db8::77', hop: 2 }, 'IPv6 chain'],
  [
    undefined,
    '203.0.113.9',
    { clientIp: null, hop: null, reason: 'no-peer' },
    'no peer (socket gone)',
  ],
  [
    'not-an-ip',
    '203.0.113.9',
    { clientIp: null, reason: 'no-peer' },
    'a peer that is no address is never trusted',
  ],
  [
    '::ffff:198.51.100.1',
    '',
    { clientIp: '198.51.100.1' },
    'the peer itself is returned unwrapped',
  ],
];

xff('walks from the peer past trusted proxies only', () => {
  check(new ProxyTrust({ trusted: PROXIES }), XFF, XFF_CASES);
});

xff('accepts the proxies as an IpSet', () => {
  const trust = new ProxyTrust({ trusted: IpSet.from(PROXIES) });
  assert.is(trust.clientIp('10.0.0.1', { [XFF]: '203.0.113.9, 10.0.0.2' }), '203.0.113.9');
});

xff('stops at maxHops entries', () => {
  const trust = new ProxyTrust({ trusted: PROXIES, maxHops: 3 });
  check(trust, XFF, [
    [
      '10.0.0.1',
      '1.1.1.1, 10.0.0.3, 10.0.0.2',
      { clientIp: '1.1.1.1', hop: 3 },
      'three hops are allowed',
    ],
    [
      '10.0.0.1',
      '1.1.1.1, 10.0.0.4, 10.0.0.3, 10.0.0.2',
      { clientIp: null, reason: 'too-many-hops' },
      'a fourth is not',
    ],
    [
      '10.0.0.1',
      '9, 9, 9, 9, 1.1.1.1',
      { clientIp: '1.1.1.1', hop: 1 },
      'entries never examined do not count',
    ],
  ]);
  const chain = Array.from({ length: 40 }, () => '10.1.1.1').join(',');
  const plain = new ProxyTrust({ trusted: PROXIES });
  assert.is(plain.resolve('10.0.0.1', { [XFF]: chain }).reason, 'too-many-hops', 'default of 32');
});

xff('with no trust configured, the peer is the client and headers are ignored', () => {
  const trust = new ProxyTrust();
  assert.not.ok(trust.isConfigured);
  check(trust, XFF, [
    ['10.0.0.1', '203.0.113.9', { clientIp: '10.0.0.1', hop: 0, reason: 'peer' }, 'header ignored'],
    ['10.0.0.1', 'garbage', { clientIp: '10.0.0.1', reason: 'peer' }, 'even garbage'],
    ['junk', '203.0.113.9', { clientIp: null, reason: 'no-peer' }, 'no address at all'],
  ]);
  assert.not.ok(new ProxyTrust({ trusted: [] }).isConfigured, 'an empty list trusts nothing');
});

xff('with all, every hop is trusted and the leftmost wins', () => {
  const trust = new ProxyTrust({ all: true });
  assert.ok(trust.isConfigured);
  check(trust, XFF, [
    [
      '203.0.113.1',
      '1.1.1.1, 2.2.2.2',
      { clientIp: '1.1.1.1', hop: 2, reason: 'all-trusted' },
      'leftmost',
    ],
    ['203.0.113.1', '', { clientIp: '203.0.113.1', hop: 0, reason: 'peer' }, 'no header'],
    [
      '203.0.113.1',
      'junk, 2.2.2.2',
      { clientIp: null, reason: 'malformed-hop' },
      'junk is reached',
    ],
  ]);
});

xff('reads X-Forwarded-For only, not Forwarded', () => {
  const trust = new ProxyTrust({ trusted: PROXIES });
  assert.is(trust.clientIp('10.0.0.1', { forwarded: 'for=1.1.1.1' }), '10.0.0.1');
});

xff('handles a header longer than the scratch region, and never throws', () => {
  const trust = new ProxyTrust({ trusted: PROXIES });
  const long = `${'junk,'.repeat(50000)}203.0.113.9, 10.0.0.2`;
  assert.is(trust.clientIp('10.0.0.1', { [XFF]: long }), '203.0.113.9');
  assert.is(
    trust.clientIp('10.0.0.1', { [XFF]: '203.0.113.9' }),
    '203.0.113.9',
    'after the growth',
  );
  const hostile: unknown[] = [null, 5, {}, ['a', 7], '\u{1F600}'.repeat(100000), '\r\n'];
  for (const header of hostile) {
    trust.resolve('10.0.0.1', { [XFF]: header as string });
  }
  trust.resolve(5 as never, null as never);
});

xff.run();

const forwarded = suite('ProxyTrust: Forwarded (RFC 7239)');

const FORWARDED_CASES: readonly Case[] = [
  ['10.0.0.1', 'for=203.0.113.9', { clientIp: '203.0.113.9', hop: 1 }, 'plain token'],
  ['10.0.0.1', 'for="203.0.113.9"', { clientIp: '203.0.113.9' }, 'quoted'],
  ['10.0.0.1', 'for="203.0.113.9:4711"', { clientIp: '203.0.113.9' }, 'quoted with port'],
  [
    '10.0.0.1',
    'for="[2001:db8:cafe::17]:4711"',
    { clientIp: '2001:db8:cafe::17' },
    'IPv6 quoted in brackets with port',
  ],
  [
    '10.0.0.1',
    'For=203.0.113.9;proto=https;by=10.0.0.1',
    { clientIp: '203.0.113.9' },
    'parameter names ignore case; others ignored',
  ],
  [
    '10.0.0.1',
    'proto=https; for=203.0.113.9',
    { clientIp: '203.0.113.9' },
    'for need not come first',
  ],
  [
    '10.0.0.1',
    'for=198.51.100.1, for=10.0.0.7',
    { clientIp: '198.51.100.1', hop: 2 },
    'two elements',
  ],
  ['10.0.0.1', ['for=198.51.100.1', 'for=10.0.0.7'], { clientIp: '198.51.100.1' }, 'two lines'],
  ['10.0.0.1', 'for=unknown', { clientIp: null, reason: 'malformed-hop' }, 'unknown'],
  ['10.0.0.1', 'for=_hidden', { clientIp: null, reason: 'malformed-hop' }, 'obfuscated'],
  ['10.0.0.1', 'proto=https', { clientIp: null, reason: 'malformed-hop' }, 'element without for'],
  [
    '10.0.0.1',
    'for=2001:db8::1',
    { clientIp: null, reason: 'malformed-hop' },
    'IPv6 without quotes and brackets',
  ],
  [
    '10.0.0.1',
    'for="2001:db8::1"',
    { clientIp: null, reason: 'malformed-hop' },
    'IPv6 quoted without brackets',
  ],
  [
    '10.0.0.1',
    'for=[2001:db8::1]',
    { clientIp: null, reason: 'malformed-hop' },
    'IPv6 bracketed without quotes',
  ],
  [
    '10.0.0.1',
    'for=203.0.113.9:80',
    { clientIp: null, reason: 'malformed-hop' },
    'port without quotes',
  ],
  [
    '10.0.0.1',
    'for=1.1.1.1;for=2.2.2.2',
    { clientIp: null, reason: 'malformed-hop' },
    'for twice in one element',
  ],
  ['10.0.0.1', 'for="1.1.1.1', { clientIp: null, reason: 'malformed-hop' }, 'unterminated quote'],
  [
    '10.0.0.1',
    'for="bad, for=203.0.113.9',
    { clientIp: '203.0.113.9', hop: 1 },
    'a broken element spoils nothing to its right',
  ],
  [
    '10.0.0.1',
    'for="a,b", for=203.0.113.9',
    { clientIp: '203.0.113.9' },
    'a quoted comma does not split',
  ],
  [
    '10.0.0.1',
    'for=unknown, for=203.0.113.9, for=10.0.0.9',
    { clientIp: '203.0.113.9', hop: 2 },
    'unknown never reached',
  ],
];

forwarded('walks the for= parameters from the right', () => {
  check(new ProxyTrust({ trusted: PROXIES, header: 'forwarded' }), 'forwarded', FORWARDED_CASES);
});

forwarded('ignores X-Forwarded-For when reading Forwarded', () => {
  const trust = new ProxyTrust({ trusted: PROXIES, header: 'forwarded' });
  assert.is(trust.clientIp('10.0.0.1', { [XFF]: '1.1.1.1' }), '10.0.0.1');
});

forwarded.run();

const options = suite('ProxyTrust: options');

// [options, message, why]
const BAD_OPTIONS: ReadonlyArray<[unknown, string, string]> = [
  [{ maxHops: 0 }, 'new ProxyTrust: maxHops must be a positive integer, not "0"', 'zero hops'],
  [{ maxHops: 1.5 }, 'new ProxyTrust: maxHops must be a positive integer, not "1.5"', 'fraction'],
  [
    { header: 'X-Real-IP' },
    'new ProxyTrust: header must be "x-forwarded-for" or "forwarded", not "X-Real-IP"',
    'other header',
  ],
  [{ all: 'true' }, 'new ProxyTrust: all must be a boolean, not "true"', 'string boolean'],
  [{ trust: ['10.0.0.1'] }, 'new ProxyTrust: unknown option "trust"', 'misspelt option'],
  [
    { trusted: ['10.0.0.0/33'] },
    'IpSet.from("10.0.0.0/33"): prefix length 33 exceeds 32',
    'bad rule',
  ],
];

options('throws at construction for bad options, quoting them', () => {
  for (const [value, message, why] of BAD_OPTIONS) {
    assert.throws(
      () => new ProxyTrust(value as never),
      (e: Error & { code?: string }) => {
        return e.message === message && e.code !== undefined;
      },
      why,
    );
  }
});

options('isTrusted answers for one address', () => {
  const trust = new ProxyTrust({ trusted: PROXIES });
  assert.ok(trust.isTrusted('10.1.1.1'));
  assert.ok(trust.isTrusted('::ffff:172.16.0.1'));
  assert.not.ok(trust.isTrusted('8.8.8.8'));
  assert.not.ok(trust.isTrusted('junk'));
  const all = new ProxyTrust({ all: true });
  assert.ok(all.isTrusted('8.8.8.8'));
  assert.not.ok(all.isTrusted('junk'));
});

options.run();
