import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configFromEnv } from '../src/config.js';
import { createGate, Gate, type GateOptions, type GateRequest, type Verdict } from '../src/gate.js';
import { raises } from './support/assert.js';
import {
  type HeaderKind,
  Rng,
  randomHops,
  randomPeer,
  randomRule,
  randomTrustedRules,
  seedFromEnv,
  writeHeader,
} from './support/random.js';
import { parseRule, ReferenceMap, ReferenceTrust } from './support/reference.js';

/** The configurations the decision table runs against. */
const DIRECT: GateOptions = {
  allow: ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '192.0.2.7'],
};
const BEHIND_UNTRUSTED: GateOptions = { allow: ['10.0.0.0/8'], behindProxy: true };
const BEHIND_TRUSTED: GateOptions = {
  allow: ['192.0.2.0/24', '2001:db8:1::/48'],
  behindProxy: true,
  trustedProxies: ['127.0.0.1', '10.9.0.0/16', 'fd00::/8'],
};
const TRUST_ALL: GateOptions = {
  allow: ['192.0.2.0/24'],
  behindProxy: true,
  trustAllProxies: true,
};
const FORWARDED: GateOptions = { ...BEHIND_TRUSTED, header: 'forwarded' };
const FEW_HOPS: GateOptions = { ...BEHIND_TRUSTED, maxHops: 2 };
const OPEN: GateOptions = {};
const OPEN_BEHIND: GateOptions = { behindProxy: true };
const NO_EXEMPT: GateOptions = { ...DIRECT, exemptPaths: [] };
const CUSTOM_EXEMPT: GateOptions = { ...DIRECT, exemptPaths: ['healthz'] };
const UNUSED_PROXIES: GateOptions = { ...DIRECT, trustedProxies: ['127.0.0.1'] };

type Row = [why: string, options: GateOptions, request: GateRequest, expected: Verdict];

/** req builds a GateRequest from a peer, forwarding headers and a path. */
function req(
  remoteAddress: string | undefined,
  headers: Record<string, string | string[]> = {},
  url = '/admin',
): GateRequest {
  return { remoteAddress, headers, url };
}

const yes = (clientIp: string, rule: string): Verdict => ({
  allowed: true,
  clientIp,
  reason: 'allowed',
  rule,
});
const no = (clientIp: string): Verdict => ({ allowed: false, clientIp, reason: 'not-allowed' });
const NO_ADDRESS: Verdict = { allowed: false, clientIp: null, reason: 'no-client-address' };
const UNTRUSTED: Verdict = { allowed: false, clientIp: null, reason: 'untrusted-forwarding' };

const DECISIONS: Row[] = [
  // Direct connections: the peer is the client and headers are ignored.
  ['an allowed peer', DIRECT, req('10.200.0.1'), yes('10.200.0.1', '10.0.0.0/8')],
  ['the longest rule is named', DIRECT, req('10.1.2.3'), yes('10.1.2.3', '10.1.0.0/16')],
  ['a single address rule', DIRECT, req('192.0.2.7'), yes('192.0.2.7', '192.0.2.7')],
  ['its neighbour is not in', DIRECT, req('192.0.2.8'), no('192.0.2.8')],
  ['an IPv6 peer', DIRECT, req('2001:db8::1'), yes('2001:db8::1', '2001:db8::/32')],
  // Node reports IPv4 clients of a dual-stack socket as mapped addresses.
  ['a mapped peer', DIRECT, req('::ffff:10.2.3.4'), yes('10.2.3.4', '10.0.0.0/8')],
  [
    'an IPv6 peer in a long spelling is made canonical',
    DIRECT,
    req('2001:DB8:0:0:0:0:0:1'),
    yes('2001:db8::1', '2001:db8::/32'),
  ],
  ['a zone is dropped', DIRECT, req('fe80::1%eth0'), no('fe80::1')],
  ['a peer outside', DIRECT, req('203.0.113.9'), no('203.0.113.9')],
  // Without IS_BEHIND_PROXY a forged header changes nothing.
  [
    'a forged header on a direct connection',
    DIRECT,
    req('203.0.113.9', { 'x-forwarded-for': '10.0.0.1', forwarded: 'for=10.0.0.1' }),
    no('203.0.113.9'),
  ],
  [
    'trusted proxies without behindProxy are not read',
    UNUSED_PROXIES,
    req('127.0.0.1', { 'x-forwarded-for': '10.0.0.1' }),
    no('127.0.0.1'),
  ],
  ['no peer address', DIRECT, req(undefined), NO_ADDRESS],
  ['a peer that is no address', DIRECT, req('not-an-address'), NO_ADDRESS],
  ['an empty peer', DIRECT, req(''), NO_ADDRESS],

  // Exempt paths come before the address.
  [
    'an exempt path from outside',
    DIRECT,
    req('203.0.113.9', {}, '/capture/'),
    { allowed: true, clientIp: '203.0.113.9', reason: 'exempt' },
  ],
  [
    'an exempt path without a peer',
    DIRECT,
    req(undefined, {}, '/e/?ip=1'),
    { allowed: true, clientIp: null, reason: 'exempt' },
  ],
  [
    'a dot segment out of an exempt path',
    DIRECT,
    req('203.0.113.9', {}, '/capture/../admin'),
    no('203.0.113.9'),
  ],
  ['an escaped dot segment', DIRECT, req('203.0.113.9', {}, '/e/%2e%2e/admin'), no('203.0.113.9')],
  ['the absolute form', DIRECT, req('203.0.113.9', {}, 'http://x/capture'), no('203.0.113.9')],
  ['no exempt paths', NO_EXEMPT, req('203.0.113.9', {}, '/capture'), no('203.0.113.9')],
  [
    'custom exempt paths replace the default',
    CUSTOM_EXEMPT,
    req('203.0.113.9', {}, '/capture'),
    no('203.0.113.9'),
  ],
  [
    'a custom exempt path',
    CUSTOM_EXEMPT,
    req('203.0.113.9', {}, '/healthz'),
    { allowed: true, clientIp: '203.0.113.9', reason: 'exempt' },
  ],
  ['a missing url is not exempt', DIRECT, { remoteAddress: '203.0.113.9' }, no('203.0.113.9')],

  // Behind a proxy nothing says to trust: a forwarded request is refused
  // rather than judged by the proxy's address, which is allowed here.
  [
    'forwarded through an untrusted proxy',
    BEHIND_UNTRUSTED,
    req('10.0.0.1', { 'x-forwarded-for': '203.0.113.9' }),
    UNTRUSTED,
  ],
  [
    'a Forwarded header through an untrusted proxy',
    BEHIND_UNTRUSTED,
    req('10.0.0.1', { forwarded: 'for=203.0.113.9' }),
    UNTRUSTED,
  ],
  [
    'an empty header still shows a proxy',
    BEHIND_UNTRUSTED,
    req('10.0.0.1', { 'x-forwarded-for': '' }),
    UNTRUSTED,
  ],
  [
    'a direct request still gets in',
    BEHIND_UNTRUSTED,
    req('10.0.0.1'),
    yes('10.0.0.1', '10.0.0.0/8'),
  ],
  [
    'an exempt path through an untrusted proxy',
    BEHIND_UNTRUSTED,
    req('10.0.0.1', { 'x-forwarded-for': '203.0.113.9' }, '/batch'),
    { allowed: true, clientIp: null, reason: 'exempt' },
  ],

  // Behind trusted proxies: walk from the peer leftwards.
  [
    'one trusted hop',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'two trusted hops',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5, 10.9.1.1' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'a mapped proxy peer',
    BEHIND_TRUSTED,
    req('::ffff:127.0.0.1', { 'x-forwarded-for': '192.0.2.5' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'an IPv6 proxy',
    BEHIND_TRUSTED,
    req('fd00::1', { 'x-forwarded-for': '2001:db8:1::5' }),
    yes('2001:db8:1::5', '2001:db8:1::/48'),
  ],
  // An appending proxy keeps what the client wrote on the left.
  [
    'a forged entry left of the real client',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5, 203.0.113.9' }),
    no('203.0.113.9'),
  ],
  [
    'a forged header straight from the client',
    BEHIND_TRUSTED,
    req('203.0.113.9', { 'x-forwarded-for': '192.0.2.5' }),
    no('203.0.113.9'),
  ],
  [
    'a port in a hop',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5:4711' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'a bracketed IPv6 hop with a port',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '[2001:db8:1::5]:443' }),
    yes('2001:db8:1::5', '2001:db8:1::/48'),
  ],
  [
    'several header lines are joined in order',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': ['203.0.113.9', '192.0.2.5', '10.9.0.1'] }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'a garbage hop that the walk reaches',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': 'unknown' }),
    NO_ADDRESS,
  ],
  [
    'a hostname hop',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5, proxy.example' }),
    NO_ADDRESS,
  ],
  [
    'a garbage hop left of the client is never reached',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '<script>, 192.0.2.5' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'an empty header means the peer is the client',
    BEHIND_TRUSTED,
    req('127.0.0.1', { 'x-forwarded-for': '' }),
    no('127.0.0.1'),
  ],
  [
    'too many hops',
    FEW_HOPS,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5, 10.9.0.1, 10.9.0.2, 10.9.0.3' }),
    NO_ADDRESS,
  ],
  [
    'within the hop limit',
    FEW_HOPS,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5, 10.9.0.1' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'the Forwarded header when chosen',
    FORWARDED,
    req('127.0.0.1', { forwarded: 'for=192.0.2.5;proto=https' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],
  [
    'X-Forwarded-For is ignored when Forwarded is chosen',
    FORWARDED,
    req('127.0.0.1', { 'x-forwarded-for': '192.0.2.5' }),
    no('127.0.0.1'),
  ],
  // The operator's choice; documented as spoofable.
  [
    'trusting all proxies takes the leftmost hop',
    TRUST_ALL,
    req('203.0.113.1', { 'x-forwarded-for': '192.0.2.5, 203.0.113.2' }),
    yes('192.0.2.5', '192.0.2.0/24'),
  ],

  // No allowlist: everything passes, and the client is still reported.
  [
    'no allowlist',
    OPEN,
    req('203.0.113.9'),
    { allowed: true, clientIp: '203.0.113.9', reason: 'unrestricted' },
  ],
  [
    'no allowlist, no peer',
    OPEN,
    req(undefined),
    { allowed: true, clientIp: null, reason: 'unrestricted' },
  ],
  [
    'no allowlist behind an untrusted proxy',
    OPEN_BEHIND,
    req('10.0.0.1', { 'x-forwarded-for': '203.0.113.9' }),
    { allowed: true, clientIp: null, reason: 'unrestricted' },
  ],
];

const check = suite('Gate.check');

for (const [why, options, request, expected] of DECISIONS) {
  check(why, () => {
    assert.equal(createGate(options).check(request), expected);
  });
}

check('never throws on hostile input, and denies it', () => {
  const gate = createGate(BEHIND_TRUSTED);
  const junk: unknown[] = [
    undefined,
    null,
    {},
    { remoteAddress: 42 },
    { remoteAddress: '127.0.0.1', headers: null },
    { remoteAddress: '127.0.0.1', headers: 'x-forwarded-for: 1.2.3.4' },
    { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': 42 } },
    { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': [1, null] } },
    { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': 'x'.repeat(100_000) } },
    { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '\u0000\u00ff\u{1f600}' } },
    { remoteAddress: '127.0.0.1', url: 42 },
    { remoteAddress: '127.0.0.1', url: '/%' },
  ];
  for (const request of junk) {
    const verdict = gate.check(request as GateRequest);
    assert.is(verdict.allowed, false, JSON.stringify(request)?.slice(0, 80));
  }
});

check('reads a configuration from configFromEnv as is', () => {
  const config = configFromEnv({
    ALLOWED_IP_BLOCKS: '192.0.2.0/24',
    IS_BEHIND_PROXY: 'true',
    TRUSTED_PROXIES: '127.0.0.1',
    SECURE_COOKIES: 'false',
    SECRET_KEY: 'carried but unused here',
  });
  const gate = createGate(config);
  const headers = { 'x-forwarded-for': '192.0.2.5' };
  assert.equal(
    gate.check({ remoteAddress: '127.0.0.1', headers }),
    yes('192.0.2.5', '192.0.2.0/24'),
  );
  assert.equal(gate.check({ remoteAddress: '127.0.0.1', headers, url: '/flags' }).reason, 'exempt');
});

check('takes any iterable of rules', () => {
  const gate = createGate({ allow: new Set(['192.0.2.0/24']), exemptPaths: new Set(['up']) });
  assert.is(gate.check(req('192.0.2.1')).reason, 'allowed');
  assert.is(gate.check(req('203.0.113.1', {}, '/up')).reason, 'exempt');
});

check('keeps its own copy of the options', () => {
  const allow = ['192.0.2.0/24'];
  const gate = createGate({ allow });
  allow.push('203.0.113.0/24');
  assert.is(gate.check(req('203.0.113.1')).reason, 'not-allowed');
});

check('gives each request a verdict of its own, which it may change', () => {
  const gate = createGate(BEHIND_TRUSTED);
  const forwarded = { 'x-forwarded-for': '192.0.2.5' };
  const requests = [
    req('127.0.0.1', forwarded),
    req('127.0.0.1', forwarded, '/capture'),
    req('203.0.113.1'),
    req('not an address'),
    req('127.0.0.1', { 'x-forwarded-for': '2001:db8:1::5' }),
  ];
  for (const request of requests) {
    const verdict = gate.check(request);
    const before = JSON.stringify(verdict);
    verdict.allowed = !verdict.allowed;
    verdict.clientIp = '198.51.100.1';
    verdict.rule = '0.0.0.0/0';
    const again = gate.check(request);
    assert.is.not(again, verdict);
    assert.is(JSON.stringify(again), before);
  }
});

check('tells a peer from a header with the same text', () => {
  // The same text as a peer alone and as the header from that peer: a
  // Forwarded header must be "for=...", so as a header it is malformed.
  const gate = createGate({ ...FORWARDED, allow: ['127.0.0.0/8'] });
  const bare = req('127.0.0.1');
  const forwarded = req('127.0.0.1', { forwarded: '127.0.0.1' });
  for (let round = 0; round < 2; round++) {
    assert.equal(gate.check(bare), yes('127.0.0.1', '127.0.0.0/8'));
    assert.equal(gate.check(forwarded), NO_ADDRESS);
  }
});

check('with no options lets everything through', () => {
  assert.is(createGate().check(req('203.0.113.1')).reason, 'unrestricted');
  assert.instance(createGate(), Gate);
});

const options = suite('createGate options');

const BAD_OPTIONS: Array<
  [why: string, options: unknown, Kind: ErrorConstructor, code: string, message: string]
> = [
  [
    'not an object',
    'allow',
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: options must be an object, not "allow" (a string)',
  ],
  [
    'null',
    null,
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: options must be an object, not null',
  ],
  [
    'an array',
    [],
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: options must be an object, not an array',
  ],
  // A misspelt allowlist must not leave the gate open.
  [
    'an unknown option',
    { allowed: ['10.0.0.0/8'] },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: unknown option "allowed"',
  ],
  [
    'a string for a list',
    { allow: '10.0.0.0/8' },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: allow must be a list of strings, not "10.0.0.0/8" (a string)',
  ],
  [
    'a number for a list',
    { trustedProxies: 5 },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: trustedProxies must be a list of strings, not "5" (a number)',
  ],
  [
    'an object for a list',
    { exemptPaths: {} },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: exemptPaths must be a list of strings, not an object',
  ],
  [
    'a number in a list',
    { allow: ['10.0.0.0/8', 42] },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: allow entry "42" (a number) is not a string',
  ],
  [
    'null in a list',
    { allow: [null] },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: allow entry null is not a string',
  ],
  [
    'a bad allow rule',
    { allow: ['10.0.0.0/8', '10.0.0.0/33'] },
    TypeError,
    'ERR_INVALID_RULE',
    'createGate: allow entry "10.0.0.0/33": prefix length 33 exceeds 32',
  ],
  [
    'a bad proxy rule',
    { trustedProxies: ['proxy.internal'] },
    TypeError,
    'ERR_INVALID_RULE',
    'createGate: trustedProxies entry "proxy.internal": ' +
      'hostnames are not supported; give an address',
  ],
  // The PostHog bug: the string "false" read as true.
  [
    'a string for a boolean',
    { trustAllProxies: 'false' },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: trustAllProxies must be a boolean, not "false" (a string)',
  ],
  [
    'a number for a boolean',
    { behindProxy: 1 },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: behindProxy must be a boolean, not "1" (a number)',
  ],
  [
    'a string for secureCookies',
    { secureCookies: 'on' },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: secureCookies must be a boolean, not "on" (a string)',
  ],
  [
    'null for disableSslRedirect',
    { disableSslRedirect: null },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: disableSslRedirect must be a boolean, not null',
  ],
  [
    'an unknown header',
    { header: 'x-real-ip' },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: header must be "x-forwarded-for" or "forwarded", not "x-real-ip" (a string)',
  ],
  [
    'zero hops',
    { maxHops: 0 },
    RangeError,
    'ERR_INVALID_OPTION',
    'createGate: maxHops must be a positive integer, not "0" (a number)',
  ],
  [
    'a fraction of hops',
    { maxHops: 1.5 },
    RangeError,
    'ERR_INVALID_OPTION',
    'createGate: maxHops must be a positive integer, not "1.5" (a number)',
  ],
  [
    'infinite hops',
    { maxHops: Number.POSITIVE_INFINITY },
    RangeError,
    'ERR_INVALID_OPTION',
    'createGate: maxHops must be a positive integer, not "Infinity" (a number)',
  ],
  [
    'hops as a string',
    { maxHops: '3' },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: maxHops must be a positive integer, not "3" (a string)',
  ],
  [
    'a slash in an exempt path',
    { exemptPaths: ['/admin'] },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: exemptPaths entry "/admin": ' +
      'not a single path segment; use letters, digits and - . _ ~',
  ],
  [
    'a dot segment exempt',
    { exemptPaths: ['..'] },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: exemptPaths entry "..": a dot segment',
  ],
  [
    'an empty exempt path',
    { exemptPaths: [''] },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: exemptPaths entry "": empty',
  ],
  [
    'a string for onWarning',
    { onWarning: 'log' },
    TypeError,
    'ERR_INVALID_OPTION',
    'createGate: onWarning must be a function, not "log" (a string)',
  ],
];

for (const [why, bad, Kind, code, message] of BAD_OPTIONS) {
  options(`refuses ${why}`, () => {
    const error = raises(() => createGate(bad as GateOptions));
    assert.instance(error, Kind);
    assert.is(error.code, code);
    assert.is(error.message, message);
  });
}

options('quotes a long bad value only up to the cap', () => {
  const error = raises(() =>
    createGate({ trustAllProxies: 'y'.repeat(1000) as unknown as boolean }),
  );
  assert.is(
    error.message,
    `createGate: trustAllProxies must be a boolean, not "${'y'.repeat(128)}"... (a string)`,
  );
});

const update = suite('Gate.update');

update('swaps in the new configuration for the next check', () => {
  // Both clients were seen before: nothing remembered outlives an update.
  const gate = createGate({ allow: ['192.0.2.0/24'] });
  assert.is(gate.check(req('203.0.113.1')).allowed, false);
  assert.is(gate.check(req('192.0.2.1')).allowed, true);
  gate.update({ allow: ['203.0.113.0/24'] });
  assert.equal(gate.check(req('203.0.113.1')), yes('203.0.113.1', '203.0.113.0/24'));
  assert.is(gate.check(req('192.0.2.1')).allowed, false);
});

update('keeps the old configuration when the new one is bad', () => {
  const gate = createGate({ allow: ['192.0.2.0/24'] });
  const error = raises(() => gate.update({ allow: ['203.0.113.0/24', '203.0.113.0/99'] }));
  assert.is(error.message, 'createGate: allow entry "203.0.113.0/99": prefix length 99 exceeds 32');
  assert.is(gate.check(req('192.0.2.1')).allowed, true);
  assert.is(gate.check(req('203.0.113.1')).allowed, false);
});

update('refuses a missing configuration rather than opening the gate', () => {
  const gate = createGate({ allow: ['192.0.2.0/24'] });
  const error = raises(() => gate.update(undefined as unknown as GateOptions));
  assert.is(error.message, 'createGate: options must be an object, not undefined');
  assert.is(gate.check(req('203.0.113.1')).allowed, false);
});

update('replaces every setting, not only those given', () => {
  const gate = createGate({ allow: ['192.0.2.0/24'], exemptPaths: [] });
  gate.update({ allow: ['192.0.2.0/24'] });
  assert.is(gate.check(req('203.0.113.1', {}, '/capture')).reason, 'exempt');
  gate.update({});
  assert.is(gate.check(req('203.0.113.1')).reason, 'unrestricted');
});

update('builds each configuration apart from the others', () => {
  // Many updates in a row: each verdict matches the configuration of its
  // moment and nothing of an earlier one lingers.
  const gate = createGate({});
  for (let i = 0; i < 200; i++) {
    const block = `10.${i}.0.0/16`;
    gate.update({ allow: [block] });
    assert.equal(gate.check(req(`10.${i}.1.1`)), yes(`10.${i}.1.1`, block));
    if (i > 0) assert.is(gate.check(req(`10.${i - 1}.1.1`)).allowed, false);
  }
});

const secure = suite('Gate.secure');

/** plainRequest is a GET over plain HTTP, with a response to it. */
function plainRequest(url = '/login'): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = url;
  req.headers = { host: 'app.example' };
  return { req, res: new ServerResponse(req) };
}

secure('does nothing without secureCookies', () => {
  const { req, res } = plainRequest();
  const setHeader = res.setHeader;
  assert.is(createGate({ allow: ['192.0.2.0/24'] }).secure(req, res), false);
  assert.is(res.setHeader, setHeader);
  assert.is(res.headersSent, false);
});

secure('makes cookies valid but leaves plain HTTP alone with secureCookies off', () => {
  const { req, res } = plainRequest();
  assert.is(createGate({ secureCookies: false }).secure(req, res), false);
  res.setHeader('Set-Cookie', 'id=1; SameSite=None');
  assert.equal(res.getHeader('set-cookie'), 'id=1; SameSite=None; Secure');
});

secure('redirects plain HTTP with secureCookies on', () => {
  const { req, res } = plainRequest();
  assert.is(createGate({ secureCookies: true }).secure(req, res), true);
  assert.is(res.statusCode, 301);
  assert.is(res.getHeader('location'), 'https://app.example/login');
});

secure('does not redirect when the redirect is disabled', () => {
  const warnings: string[] = [];
  const gate = createGate({
    secureCookies: true,
    disableSslRedirect: true,
    onWarning: (message) => warnings.push(message),
  });
  const { req, res } = plainRequest();
  assert.is(gate.secure(req, res), false);
  res.setHeader('Set-Cookie', 'id=1');
  assert.equal(res.getHeader('set-cookie'), 'id=1; Secure');
  assert.is(warnings.length, 1);
});

secure('follows update', () => {
  const gate = createGate({ secureCookies: true });
  gate.update({ secureCookies: true, disableSslRedirect: true });
  const { req, res } = plainRequest();
  assert.is(gate.secure(req, res), false);
});

const twin = suite('Gate.check against the twin');

/**
 * twinVerdict is the verdict the rules give, from the reference
 * walk and the brute-force matcher, for a gate with no exempt paths.
 */
function twinVerdict(
  trust: ReferenceTrust,
  allow: ReferenceMap<true>,
  isBehind: boolean,
  request: GateRequest,
): Verdict {
  const headers = request.headers ?? {};
  const isForwarded = headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined;
  if (isBehind && !trust.isConfigured && isForwarded) return UNTRUSTED;
  const { clientIp } = trust.resolve(request.remoteAddress, headers);
  if (clientIp === null) return NO_ADDRESS;
  const winner = allow.lookup(clientIp);
  return winner === undefined ? no(clientIp) : yes(clientIp, winner.rule);
}

/** drawTrusted draws trusted proxy rules, and their prefixes for drawing hops. */
function drawTrusted(rng: Rng) {
  const trustedRules = randomTrustedRules(rng);
  const trusted = trustedRules.flatMap((rule) => {
    const parsed = parseRule(rule);
    return parsed.ok ? parsed.prefixes : [];
  });
  return { trustedRules, trusted };
}

twin('decides random requests as the reference walk and matcher do', () => {
  const seed = seedFromEnv(0x5eed0012);
  const rng = new Rng(seed);
  const failures: string[] = [];
  for (let config = 0; config < 300 && failures.length < 5; config++) {
    const { trustedRules, trusted } = drawTrusted(rng);
    const allowRules = Array.from({ length: rng.between(1, rng.chance(0.3) ? 60 : 8) }, () =>
      randomRule(rng),
    );
    const header: HeaderKind = rng.chance(0.2) ? 'forwarded' : 'x-forwarded-for';
    const isBehind = rng.chance(0.85);
    const all = rng.chance(0.1);
    const gate = createGate({
      allow: allowRules,
      behindProxy: isBehind,
      trustedProxies: trustedRules,
      trustAllProxies: all,
      header,
      exemptPaths: [],
    });
    const trust = new ReferenceTrust(isBehind ? { trusted: trustedRules, all, header } : {});
    const allow = new ReferenceMap(allowRules.map((rule) => [rule, true] as const));

    for (let i = 0; i < 100 && failures.length < 5; i++) {
      const request = req(randomPeer(rng, trusted), {
        [header]: writeHeader(rng, randomHops(rng, trusted), header),
      });
      const got = gate.check(request);
      const want = twinVerdict(trust, allow, isBehind, request);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${JSON.stringify({ allowRules, trustedRules, all, isBehind, request })}:
          ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
      }
    }
  }
  assert.equal(failures, [], `seed ${seed}`);
});

twin('answers repeated requests as it answered them the first time', () => {
  // A pool of requests, some sharing a header with another's peer or a peer
  // with another's header, drawn again and again on exempt and other paths:
  // what the gate remembers must never answer for a different request.
  // Pools larger than its memory make it forget and work some out again.
  const seed = seedFromEnv(0x5eed0013);
  const rng = new Rng(seed);
  const failures: string[] = [];
  for (let config = 0; config < 40 && failures.length < 5; config++) {
    const { trustedRules, trusted } = drawTrusted(rng);
    const allowRules = Array.from({ length: rng.between(1, 8) }, () => randomRule(rng));
    const isBehind = rng.chance(0.85);
    const options = { allow: allowRules, behindProxy: isBehind, trustedProxies: trustedRules };
    const gate = createGate(options);
    const trust = new ReferenceTrust(isBehind ? { trusted: trustedRules } : {});
    const allow = new ReferenceMap(allowRules.map((rule) => [rule, true] as const));

    type Pair = { peer: string | undefined; headers: Record<string, string | string[]> };
    const pool: Pair[] = [];
    const poolSize = rng.chance(0.3) ? rng.between(1_100, 1_600) : rng.between(1, 40);
    while (pool.length < poolSize) {
      const other = pool.length > 0 ? rng.pick(pool) : undefined;
      const roll = rng.int(10);
      const peer = other !== undefined && roll < 2 ? other.peer : randomPeer(rng, trusted);
      const headers =
        other !== undefined && roll >= 2 && roll < 4
          ? other.headers
          : roll === 4
            ? {}
            : { 'x-forwarded-for': writeHeader(rng, randomHops(rng, trusted), 'x-forwarded-for') };
      pool.push({ peer, headers });
    }

    for (let i = 0; i < 3_000 && failures.length < 5; i++) {
      const { peer, headers } = rng.pick(pool);
      const request = req(peer, headers, rng.pick(['/admin', '/capture/', '/e?x=1']));
      const got = gate.check(request);
      let want = twinVerdict(trust, allow, isBehind, request);
      if (request.url !== '/admin') {
        want = { allowed: true, clientIp: want.clientIp, reason: 'exempt' };
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${JSON.stringify({ options, request })}:
          ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
      }
    }
  }
  assert.equal(failures, [], `seed ${seed}`);
});

check.run();
twin.run();
options.run();
update.run();
secure.run();
