import { inspect } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRuleSet, configFromEnv, type GateConfig } from '../src/config.js';
import type { Env } from '../src/env.js';
import { DEFAULT_EXEMPT_PATHS } from '../src/paths.js';
import { raises } from './support/assert.js';

/** assertError checks an error's class, code and exact message. */
function assertError(fn: () => unknown, Kind: ErrorConstructor, code: string, message: string) {
  const error = raises(fn);
  assert.instance(error, Kind);
  assert.is(error.code, code);
  assert.is(error.message, message);
}

/** The tails of messages too long to repeat in every row. */
const NOT_BOOLEAN = 'not a boolean; use one of true, yes, on, 1 or false, no, off, 0';
const NOT_SEGMENT = 'not a single path segment; use letters, digits and - . _ ~';

/** PRODUCTION is the configuration of an empty environment. */
const PRODUCTION: GateConfig = {
  allow: [],
  trustedProxies: [],
  trustAllProxies: false,
  behindProxy: false,
  exemptPaths: [...DEFAULT_EXEMPT_PATHS],
  secureCookies: true,
  disableSslRedirect: false,
  debug: false,
  test: false,
  secretKey: undefined,
  secretKeyFallbacks: [],
  warnings: [],
};

const fromEnv = suite('configFromEnv');

fromEnv('an empty environment is production with no restriction', () => {
  assert.equal(configFromEnv({}), PRODUCTION);
});

fromEnv('returns exactly the documented fields', () => {
  assert.equal(Object.keys(configFromEnv({})).sort(), Object.keys(PRODUCTION).sort());
});

fromEnv('reads process.env by default', () => {
  const saved = process.env.ALLOWED_IP_BLOCKS;
  process.env.ALLOWED_IP_BLOCKS = '192.0.2.0/24';
  try {
    assert.equal(configFromEnv().allow, ['192.0.2.0/24']);
  } finally {
    if (saved === undefined) delete process.env.ALLOWED_IP_BLOCKS;
    else process.env.ALLOWED_IP_BLOCKS = saved;
  }
});

fromEnv('returns a fresh object each time', () => {
  const first = configFromEnv({});
  first.exemptPaths.push('admin');
  assert.equal(configFromEnv({}).exemptPaths, [...DEFAULT_EXEMPT_PATHS]);
});

const lists = suite('configFromEnv lists');

const LISTS: Array<[why: string, env: Env, field: keyof GateConfig, expected: string[]]> = [
  ['one address', { ALLOWED_IP_BLOCKS: '192.0.2.1' }, 'allow', ['192.0.2.1']],
  // PostHog's documented example mixes addresses and subnets.
  [
    'addresses and subnets of both families',
    { ALLOWED_IP_BLOCKS: '192.168.0.0/31,127.0.0.0/25,128.0.0.1,2001:db8::/32' },
    'allow',
    ['192.168.0.0/31', '127.0.0.0/25', '128.0.0.1', '2001:db8::/32'],
  ],
  [
    'entries are trimmed and empty ones skipped',
    { ALLOWED_IP_BLOCKS: ' 10.0.0.0/8 ,, 172.16.0.0/12 ,' },
    'allow',
    ['10.0.0.0/8', '172.16.0.0/12'],
  ],
  ['an empty value means no restriction', { ALLOWED_IP_BLOCKS: '' }, 'allow', []],
  ['only commas and spaces mean no restriction', { ALLOWED_IP_BLOCKS: ' , ,' }, 'allow', []],
  // Every form IpSet takes passes through as written.
  [
    'netmasks and ranges',
    { ALLOWED_IP_BLOCKS: '10.0.0.0/255.0.0.0,10.0.0.5-10.0.0.9' },
    'allow',
    ['10.0.0.0/255.0.0.0', '10.0.0.5-10.0.0.9'],
  ],
  [
    'trusted proxies, with subnets beyond PostHog',
    { TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16, fd00::/8' },
    'trustedProxies',
    ['10.0.0.1', '10.1.0.0/16', 'fd00::/8'],
  ],
  [
    'exempt paths replace the default list',
    { IPGATE_EXEMPT_PATHS: 'healthz, ingest' },
    'exemptPaths',
    ['healthz', 'ingest'],
  ],
  // Set but blank exempts nothing: the fail-closed reading.
  ['blank exempt paths exempt nothing', { IPGATE_EXEMPT_PATHS: '' }, 'exemptPaths', []],
  ['unset exempt paths are the default', {}, 'exemptPaths', [...DEFAULT_EXEMPT_PATHS]],
  [
    'fallback keys are a list',
    { SECRET_KEY_FALLBACKS: 'old-key-one, old-key-two,' },
    'secretKeyFallbacks',
    ['old-key-one', 'old-key-two'],
  ],
];

for (const [why, env, field, expected] of LISTS) {
  lists(why, () => {
    assert.equal(configFromEnv(env)[field], expected);
  });
}

const booleans = suite('configFromEnv booleans');

const VARIABLES = [
  ['TRUST_ALL_PROXIES', 'trustAllProxies'],
  ['IS_BEHIND_PROXY', 'behindProxy'],
  ['SECURE_COOKIES', 'secureCookies'],
  ['DISABLE_SECURE_SSL_REDIRECT', 'disableSslRedirect'],
  ['DEBUG', 'debug'],
  ['TEST', 'test'],
] as const;

const TRUE_TOKENS = [
  'true',
  't',
  'yes',
  'y',
  'on',
  '1',
  'TRUE',
  'True',
  'Yes',
  'ON',
  ' 1 ',
  '\ty\n',
];
const FALSE_TOKENS = ['false', 'f', 'no', 'n', 'off', '0', 'FALSE', 'False', 'No', 'OFF', ' 0 '];

for (const [variable, field] of VARIABLES) {
  booleans(`${variable} takes every true token in any case`, () => {
    for (const token of TRUE_TOKENS) {
      assert.is(configFromEnv({ [variable]: token })[field], true, JSON.stringify(token));
    }
  });

  // Older PostHog read TRUST_ALL_PROXIES=False as true.
  booleans(`${variable} takes every false token in any case`, () => {
    for (const token of FALSE_TOKENS) {
      const env = { [variable]: token, SECURE_COOKIES: 'on' };
      const config = configFromEnv(variable === 'SECURE_COOKIES' ? { [variable]: token } : env);
      assert.is(config[field], false, JSON.stringify(token));
    }
  });

  // PostHog reads unknown words as false; ipgate refuses to start.
  booleans(`${variable} refuses any other word, naming variable and value`, () => {
    for (const word of ['maybe', 'enabled', 'tru', '2', 'yes please']) {
      assertError(
        () => configFromEnv({ [variable]: word }),
        TypeError,
        'ERR_INVALID_ENV',
        `${variable}=${JSON.stringify(word)}: ${NOT_BOOLEAN}`,
      );
    }
  });
}

booleans('an empty or blank value counts as unset', () => {
  for (const blank of ['', '   ']) {
    const config = configFromEnv({
      TRUST_ALL_PROXIES: blank,
      IS_BEHIND_PROXY: blank,
      SECURE_COOKIES: blank,
      DISABLE_SECURE_SSL_REDIRECT: blank,
      DEBUG: blank,
      TEST: blank,
    });
    assert.equal(config, PRODUCTION);
  }
});

booleans('a long bad value is cut in the message', () => {
  const error = raises(() => configFromEnv({ DEBUG: 'x'.repeat(500) }));
  assert.is(error.message, `DEBUG="${'x'.repeat(128)}"...: ${NOT_BOOLEAN}`);
});

const mode = suite('configFromEnv mode and cookies');

const MODES: Array<
  [why: string, env: Env, expected: Pick<GateConfig, 'debug' | 'test' | 'secureCookies'>]
> = [
  ['production by default', {}, { debug: false, test: false, secureCookies: true }],
  ['DEBUG', { DEBUG: '1' }, { debug: true, test: false, secureCookies: false }],
  ['TEST', { TEST: 'yes' }, { debug: false, test: true, secureCookies: false }],
  [
    'NODE_ENV=development is debug',
    { NODE_ENV: 'development' },
    { debug: true, test: false, secureCookies: false },
  ],
  [
    'NODE_ENV=test is test',
    { NODE_ENV: 'test' },
    { debug: false, test: true, secureCookies: false },
  ],
  [
    'NODE_ENV=production is neither',
    { NODE_ENV: 'production' },
    { debug: false, test: false, secureCookies: true },
  ],
  // An explicit DEBUG or TEST wins over NODE_ENV.
  [
    'DEBUG=false overrides NODE_ENV=development',
    { NODE_ENV: 'development', DEBUG: 'false' },
    { debug: false, test: false, secureCookies: true },
  ],
  // SECURE_COOKIES forces either way.
  [
    'SECURE_COOKIES=true in debug',
    { DEBUG: 'true', SECURE_COOKIES: 'true' },
    { debug: true, test: false, secureCookies: true },
  ],
  [
    'SECURE_COOKIES=false in production',
    { SECURE_COOKIES: 'false' },
    { debug: false, test: false, secureCookies: false },
  ],
];

for (const [why, env, expected] of MODES) {
  mode(why, () => {
    const { debug, test, secureCookies } = configFromEnv(env);
    assert.equal({ debug, test, secureCookies }, expected);
  });
}

mode('DISABLE_SECURE_SSL_REDIRECT is off by default and read when set', () => {
  assert.is(configFromEnv({}).disableSslRedirect, false);
  assert.is(configFromEnv({ DISABLE_SECURE_SSL_REDIRECT: 'on' }).disableSslRedirect, true);
});

const secrets = suite('configFromEnv secret key');

secrets('carries SECRET_KEY through exactly as given', () => {
  const key = ' a key with spaces kept ';
  assert.is(configFromEnv({ SECRET_KEY: key }).secretKey, key);
});

secrets('reads an empty SECRET_KEY as unset', () => {
  assert.is(configFromEnv({ SECRET_KEY: '' }).secretKey, undefined);
  assert.is(configFromEnv({}).secretKey, undefined);
});

secrets('never puts the key in a message', () => {
  const key = 'super-secret-key-value-that-must-not-leak';
  const error = raises(() => configFromEnv({ SECRET_KEY: key, DEBUG: 'nope' }));
  assert.not.ok(error.message.includes(key));
  const config = configFromEnv({ SECRET_KEY: key, TRUST_ALL_PROXIES: '1' });
  for (const warning of config.warnings) assert.not.ok(warning.includes(key));
});

secrets('shows the keys by length only when logged or serialised', () => {
  const key = 'super-secret-key-value-that-must-not-leak';
  const old = 'an-older-secret-key-still-in-the-fallbacks';
  const config = configFromEnv({ SECRET_KEY: key, SECRET_KEY_FALLBACKS: old });
  for (const shown of [
    inspect(config),
    inspect({ config }, { depth: 5 }),
    JSON.stringify(config),
  ]) {
    assert.not.ok(shown.includes(key), shown);
    assert.not.ok(shown.includes(old), shown);
    assert.ok(shown.includes(`[hidden, length ${key.length}]`), shown);
  }
  assert.equal(JSON.parse(JSON.stringify(config)).allow, []);
  // The fields themselves, and the keys a program iterates, are unchanged.
  assert.is(config.secretKey, key);
  assert.equal(config.secretKeyFallbacks, [old]);
  assert.equal(Object.keys(config), Object.keys({ ...config }));
  assert.not.ok(Object.keys(config).includes('toJSON'));
});

const rules = suite('configFromEnv rule errors');

const BAD_RULES: Array<[why: string, variable: string, value: string, message: string]> = [
  [
    'a prefix too long for IPv4',
    'ALLOWED_IP_BLOCKS',
    '10.0.0.0/8,10.0.0.0/33',
    'ALLOWED_IP_BLOCKS entry "10.0.0.0/33": prefix length 33 exceeds 32',
  ],
  [
    'a prefix too long for IPv6',
    'ALLOWED_IP_BLOCKS',
    '2001:db8::/129',
    'ALLOWED_IP_BLOCKS entry "2001:db8::/129": prefix length 129 exceeds 128',
  ],
  [
    'a hostname',
    'ALLOWED_IP_BLOCKS',
    'localhost',
    'ALLOWED_IP_BLOCKS entry "localhost": hostnames are not supported; give an address',
  ],
  // PostHog answers 500 on every request that reaches such an entry.
  [
    'a field over 255',
    'ALLOWED_IP_BLOCKS',
    '192.168.1.256',
    'ALLOWED_IP_BLOCKS entry "192.168.1.256": IPv4 field 256 exceeds 255',
  ],
  [
    'a wildcard',
    'ALLOWED_IP_BLOCKS',
    '10.0.*.*',
    'ALLOWED_IP_BLOCKS entry "10.0.*.*": ' +
      'wildcards are not supported; write a prefix such as 10.0.0.0/8',
  ],
  [
    'a leading zero, which parsers read differently',
    'TRUSTED_PROXIES',
    '10.0.0.1,010.0.0.2',
    'TRUSTED_PROXIES entry "010.0.0.2": ' +
      'IPv4 field "010" has a leading zero, which parsers read differently',
  ],
  [
    'a missing prefix length',
    'TRUSTED_PROXIES',
    '10.0.0.0/',
    'TRUSTED_PROXIES entry "10.0.0.0/": prefix length is missing after "/"',
  ],
  [
    'whitespace inside an entry',
    'TRUSTED_PROXIES',
    '10.0.0.1 10.0.0.2',
    'TRUSTED_PROXIES entry "10.0.0.1 10.0.0.2": contains whitespace',
  ],
  [
    'brackets',
    'TRUSTED_PROXIES',
    '[2001:db8::1]',
    'TRUSTED_PROXIES entry "[2001:db8::1]": brackets are not part of an address',
  ],
  // The bad entry is quoted, not a good one before it that starts alike.
  [
    'a bad entry that starts a good one',
    'ALLOWED_IP_BLOCKS',
    '1.2.3.4,1.2.3',
    'ALLOWED_IP_BLOCKS entry "1.2.3": IPv4 address needs 4 decimal fields, not 3',
  ],
  [
    'a bad prefix after a good one',
    'TRUSTED_PROXIES',
    '10.0.0.0/8,10.0.0.0/',
    'TRUSTED_PROXIES entry "10.0.0.0/": prefix length is missing after "/"',
  ],
];

for (const [why, variable, value, message] of BAD_RULES) {
  rules(`${variable}: ${why}`, () => {
    assertError(() => configFromEnv({ [variable]: value }), TypeError, 'ERR_INVALID_RULE', message);
  });
}

rules('quotes a long entry whole up to the cap, not the core error text', () => {
  const entry = `10.0.0.0/${'9'.repeat(300)}`;
  const error = raises(() => configFromEnv({ ALLOWED_IP_BLOCKS: entry }));
  assert.is(error.code, 'ERR_INVALID_RULE');
  assert.ok(error.message.startsWith(`ALLOWED_IP_BLOCKS entry "${entry.slice(0, 128)}"...: `));
});

const exempt = suite('configFromEnv exempt paths');

const BAD_SEGMENTS: Array<[why: string, value: string, message: string]> = [
  ['a leading slash', 'capture,/admin', `IPGATE_EXEMPT_PATHS entry "/admin": ${NOT_SEGMENT}`],
  ['two segments', 'api/e', `IPGATE_EXEMPT_PATHS entry "api/e": ${NOT_SEGMENT}`],
  ['a dot segment', 'e,..', 'IPGATE_EXEMPT_PATHS entry "..": a dot segment'],
  ['a percent-escape', 'cap%74ure', `IPGATE_EXEMPT_PATHS entry "cap%74ure": ${NOT_SEGMENT}`],
];

for (const [why, value, message] of BAD_SEGMENTS) {
  exempt(`refuses ${why}`, () => {
    assertError(
      () => configFromEnv({ IPGATE_EXEMPT_PATHS: value }),
      TypeError,
      'ERR_INVALID_ENV',
      message,
    );
  });
}

const warnings = suite('configFromEnv warnings');

const BEHIND_NO_PROXIES =
  'IS_BEHIND_PROXY is on but neither TRUSTED_PROXIES nor TRUST_ALL_PROXIES is set: ' +
  'client addresses cannot be read from X-Forwarded-For, and forwarded requests are ' +
  'denied when ALLOWED_IP_BLOCKS is set';
const SPOOFABLE =
  'TRUST_ALL_PROXIES believes every X-Forwarded-For hop, which any client can forge ' +
  'unless the nearest proxy overwrites the header; list the proxies in TRUSTED_PROXIES';

const WARNINGS: Array<[why: string, env: Env, expected: string[]]> = [
  ['none for an empty environment', {}, []],
  [
    'none for a proxy set up properly',
    { IS_BEHIND_PROXY: '1', TRUSTED_PROXIES: '10.0.0.1', ALLOWED_IP_BLOCKS: '192.0.2.0/24' },
    [],
  ],
  // PostHog warns about this one too.
  ['behind a proxy with neither proxy setting', { IS_BEHIND_PROXY: 'true' }, [BEHIND_NO_PROXIES]],
  [
    'trusted proxies without IS_BEHIND_PROXY',
    { TRUSTED_PROXIES: '10.0.0.1' },
    ['TRUSTED_PROXIES has no effect unless IS_BEHIND_PROXY is on'],
  ],
  [
    'trusted proxies with IS_BEHIND_PROXY explicitly off',
    { TRUSTED_PROXIES: '10.0.0.1', IS_BEHIND_PROXY: 'false' },
    ['TRUSTED_PROXIES has no effect unless IS_BEHIND_PROXY is on'],
  ],
  [
    'trusting all proxies behind a proxy',
    { TRUST_ALL_PROXIES: 'yes', IS_BEHIND_PROXY: 'yes' },
    [SPOOFABLE],
  ],
  [
    'trusting all proxies without IS_BEHIND_PROXY',
    { TRUST_ALL_PROXIES: 'yes' },
    ['TRUST_ALL_PROXIES has no effect unless IS_BEHIND_PROXY is on', SPOOFABLE],
  ],
  [
    'trusting all proxies and listing some',
    { TRUST_ALL_PROXIES: '1', IS_BEHIND_PROXY: '1', TRUSTED_PROXIES: '10.0.0.1' },
    [SPOOFABLE, 'TRUSTED_PROXIES is ignored because TRUST_ALL_PROXIES is on'],
  ],
  [
    'an IPv4 /0',
    { ALLOWED_IP_BLOCKS: '10.0.0.0/8,0.0.0.0/0' },
    ['ALLOWED_IP_BLOCKS entry "0.0.0.0/0" lets every IPv4 address in'],
  ],
  [
    'an IPv6 /0',
    { ALLOWED_IP_BLOCKS: '::/0' },
    ['ALLOWED_IP_BLOCKS entry "::/0" lets every IPv6 address in'],
  ],
  [
    'both families',
    { ALLOWED_IP_BLOCKS: '0.0.0.0/0, ::/0' },
    [
      'ALLOWED_IP_BLOCKS entry "0.0.0.0/0" lets every IPv4 address in',
      'ALLOWED_IP_BLOCKS entry "::/0" lets every IPv6 address in',
    ],
  ],
  // The same block in other spellings.
  [
    'a zero netmask',
    { ALLOWED_IP_BLOCKS: '0.0.0.0/0.0.0.0' },
    ['ALLOWED_IP_BLOCKS entry "0.0.0.0/0.0.0.0" lets every IPv4 address in'],
  ],
  [
    'a range over all of IPv4',
    { ALLOWED_IP_BLOCKS: '0.0.0.0-255.255.255.255' },
    ['ALLOWED_IP_BLOCKS entry "0.0.0.0-255.255.255.255" lets every IPv4 address in'],
  ],
  [
    'a mapped /96',
    { ALLOWED_IP_BLOCKS: '::ffff:0.0.0.0/96' },
    ['ALLOWED_IP_BLOCKS entry "::ffff:0.0.0.0/96" lets every IPv4 address in'],
  ],
  [
    'a /0 hidden behind longer rules at both ends',
    { ALLOWED_IP_BLOCKS: '0.0.0.0/0,0.0.0.0/8,255.0.0.0/8' },
    ['ALLOWED_IP_BLOCKS entry "0.0.0.0/0" lets every IPv4 address in'],
  ],
  // Two halves are a deliberate choice, and no single rule says "all".
  ['no warning for two halves', { ALLOWED_IP_BLOCKS: '0.0.0.0/1,128.0.0.0/1' }, []],
  ['no warning for /10', { ALLOWED_IP_BLOCKS: '100.64.0.0/10' }, []],
];

for (const [why, env, expected] of WARNINGS) {
  warnings(why, () => {
    assert.equal(configFromEnv(env).warnings, expected);
  });
}

const build = suite('buildRuleSet');

build('returns a set of the rules', () => {
  const set = buildRuleSet('RULES', ['10.0.0.0/8']);
  assert.is(set.match('10.1.2.3'), '10.0.0.0/8');
});

build('names the label and the entry for a bad rule', () => {
  assertError(
    () => buildRuleSet('createGate: allow', ['10.0.0.0/8', '300.0.0.1']),
    TypeError,
    'ERR_INVALID_RULE',
    'createGate: allow entry "300.0.0.1": IPv4 field 300 exceeds 255',
  );
});

fromEnv.run();
lists.run();
booleans.run();
mode.run();
secrets.run();
rules.run();
exempt.run();
warnings.run();
build.run();
