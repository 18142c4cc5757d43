import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertSecretKey,
  checkSecretKey,
  generateSecretKey,
  SECRET_KEY_MIN_DISTINCT,
  SECRET_KEY_MIN_LENGTH,
} from '../src/secret.js';
import { raises } from './support/assert.js';

/** GOOD is a key every check accepts: 64 hex digits, as generated. */
const GOOD = 'cd8a1823f5defa70d995452d9258908ef502da512f52c20eeaa7951d0bb96e75';
const GOOD_TOO = '3b7e0c9a41f25d86e7a0b4c3d2f1e9087a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d';

const generate = suite('generateSecretKey');

generate('returns 64 lower-case hex characters, as openssl rand -hex 32 prints', () => {
  for (let i = 0; i < 100; i++) assert.match(generateSecretKey(), /^[0-9a-f]{64}$/);
});

generate('never repeats over many draws', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 10_000; i++) keys.add(generateSecretKey());
  assert.is(keys.size, 10_000);
});

generate('uses every hex digit across draws (no stuck nibble)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) for (const char of generateSecretKey()) seen.add(char);
  assert.is(seen.size, 16);
});

generate('passes its own check', () => {
  for (let i = 0; i < 100; i++) assert.equal(checkSecretKey(generateSecretKey()), []);
});

const check = suite('checkSecretKey');

check('accepts a strong key', () => {
  assert.equal(checkSecretKey(GOOD), []);
});

check('accepts a key of exactly the thresholds', () => {
  // GOOD's first 50 hex digits, mapped onto five letters: no repetition.
  const key = [...GOOD.slice(0, SECRET_KEY_MIN_LENGTH)]
    .map((digit) => 'abcde'[Number.parseInt(digit, 16) % 5])
    .join('');
  assert.is(key.length, SECRET_KEY_MIN_LENGTH);
  assert.is(new Set(key).size, SECRET_KEY_MIN_DISTINCT);
  assert.equal(checkSecretKey(key), []);
});

const PROBLEMS: Array<[why: string, key: unknown, expected: string[]]> = [
  // Unset environment variables read as undefined.
  ['missing', undefined, ['the key is missing']],
  ['null is missing too', null, ['the key is missing']],
  // `SECRET_KEY=` in an env file.
  ['empty', '', ['the key is empty']],
  ['not a string', 42, ['the key is a number, not a string']],
  // PostHog's docker-compose default, which its docs tell users to replace.
  [
    "PostHog's default text",
    '<randomly generated secret key>',
    [
      'the key (length 31) is a known placeholder, not a secret',
      'the key has 31 characters; at least 50 are needed',
    ],
  ],
  [
    'changeme',
    'changeme',
    [
      'the key (length 8) is a known placeholder, not a secret',
      'the key has 8 characters; at least 50 are needed',
    ],
  ],
  [
    'secret',
    'secret',
    [
      'the key (length 6) is a known placeholder, not a secret',
      'the key has 6 characters; at least 50 are needed',
    ],
  ],
  [
    'password, in capitals',
    'PASSWORD',
    [
      'the key (length 8) is a known placeholder, not a secret',
      'the key has 8 characters; at least 50 are needed',
    ],
  ],
  // A long placeholder passes the length checks; only its words give it away.
  [
    'a long placeholder sentence',
    'please-change-me-before-going-to-production-0123456789',
    ['the key (length 54) is a known placeholder, not a secret'],
  ],
  // Quotes copied from a compose file into an env file stay in the value.
  [
    "PostHog's default text in quotes",
    '"<randomly generated secret key>"',
    [
      'the key (length 33) is a known placeholder, not a secret',
      'the key has 33 characters; at least 50 are needed',
    ],
  ],
  ['short', GOOD.slice(0, 49), ['the key has 49 characters; at least 50 are needed']],
  [
    'few distinct characters',
    'abab'.repeat(20),
    ['the key (length 80) has 2 distinct characters; at least 5 are needed'],
  ],
  // Padding adds length but nothing to guess.
  [
    'few distinct characters but spaces',
    `${' '.repeat(46)}abcd`,
    ['the key (length 50) has 4 distinct characters other than whitespace; at least 5 are needed'],
  ],
  [
    'few distinct characters but control characters',
    `abcd${'\0'.repeat(60)}`,
    ['the key (length 64) has 4 distinct characters other than whitespace; at least 5 are needed'],
  ],
  // Long enough and varied enough, yet one short word over and over.
  ['a word repeated', 'secret'.repeat(9), ['the key (length 54) repeats a 6-character pattern']],
  [
    'digits repeated, the last copy cut short',
    '0123456789'.repeat(6).slice(0, 55),
    ['the key (length 55) repeats a 10-character pattern'],
  ],
  [
    'a key written twice',
    GOOD.slice(0, 25).repeat(2),
    ['the key (length 50) repeats a 25-character pattern'],
  ],
  [
    'a placeholder sentence asking for a real key',
    'please-replace-with-a-real-secret-key-in-production',
    ['the key (length 51) is a known placeholder, not a secret'],
  ],
  [
    "Django's development prefix",
    `django-insecure-${GOOD}`,
    [
      'the key (length 80) starts with "django-insecure-", ' +
        'the mark of a generated development key',
    ],
  ],
  [
    'several problems at once',
    'aaaa',
    [
      'the key has 4 characters; at least 50 are needed',
      'the key (length 4) has 1 distinct characters; at least 5 are needed',
    ],
  ],
];

for (const [why, key, expected] of PROBLEMS) {
  check(`reports: ${why}`, () => {
    assert.equal(checkSecretKey(key), expected);
  });
}

check('never puts any part of the key in a message', () => {
  const keys = [
    'django-insecure-zq',
    'hunter2',
    'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz',
    'changeme-qwerty-uiop',
  ];
  for (const key of keys) {
    const secretPart = key.replace('django-insecure-', '');
    for (const message of checkSecretKey(key)) {
      assert.not.ok(message.includes(secretPart), `Expected no key text in: ${message}`);
    }
  }
});

check('does not flag random keys of other alphabets as placeholders', () => {
  // base64 draws can contain letters of placeholder words by chance; a
  // thousand of them must all pass.
  for (let i = 0; i < 1000; i++) {
    const key = Buffer.from(generateSecretKey() + generateSecretKey(), 'hex').toString('base64');
    assert.equal(checkSecretKey(key), [], key);
  }
});

const production = suite('assertSecretKey in production');

production('returns a strong key', () => {
  assert.is(assertSecretKey({ SECRET_KEY: GOOD }), GOOD);
});

production('returns a strong key with strong fallbacks', () => {
  assert.is(assertSecretKey({ SECRET_KEY: GOOD, SECRET_KEY_FALLBACKS: GOOD_TOO }), GOOD);
});

production('refuses a missing key, saying how to make one', () => {
  const error = raises(() => assertSecretKey({}));
  assert.is(error.code, 'ERR_WEAK_SECRET_KEY');
  assert.instance(error, TypeError);
  assert.is(
    error.message,
    'assertSecretKey: refusing to run in production with a weak secret key: ' +
      'SECRET_KEY: the key is missing; ' +
      'generate one with `openssl rand -hex 32` or `npx ipgate secret`',
  );
});

production("refuses PostHog's default key", () => {
  const error = raises(() => assertSecretKey({ SECRET_KEY: '<randomly generated secret key>' }));
  assert.is(error.code, 'ERR_WEAK_SECRET_KEY');
  assert.ok(error.message.includes('SECRET_KEY: the key (length 31) is a known placeholder'));
  assert.not.ok(error.message.includes('randomly'));
});

production('refuses a weak fallback even when the key is strong', () => {
  const error = raises(() =>
    assertSecretKey({ SECRET_KEY: GOOD, SECRET_KEY_FALLBACKS: `${GOOD_TOO}, short-one` }),
  );
  assert.is(error.code, 'ERR_WEAK_SECRET_KEY');
  assert.is(
    error.message,
    'assertSecretKey: refusing to run in production with a weak secret key: ' +
      'SECRET_KEY_FALLBACKS[1]: the key has 9 characters; at least 50 are needed; ' +
      'generate one with `openssl rand -hex 32` or `npx ipgate secret`',
  );
  assert.not.ok(error.message.includes('short-one'));
});

production('lists the problems of the key and of every fallback', () => {
  const error = raises(() =>
    assertSecretKey({ SECRET_KEY: 'changeme', SECRET_KEY_FALLBACKS: 'secret' }),
  );
  assert.ok(error.message.includes('SECRET_KEY: the key (length 8) is a known placeholder'));
  assert.ok(error.message.includes('SECRET_KEY_FALLBACKS[0]: the key (length 6) is a known'));
});

production('treats NODE_ENV=production and DEBUG=false as production', () => {
  for (const env of [{ NODE_ENV: 'production' }, { DEBUG: 'false', NODE_ENV: 'development' }]) {
    assert.is(
      raises(() => assertSecretKey({ ...env, SECRET_KEY: 'x' })).code,
      'ERR_WEAK_SECRET_KEY',
    );
  }
});

production('reads process.env by default', () => {
  const saved = { ...process.env };
  try {
    for (const name of ['DEBUG', 'TEST', 'NODE_ENV', 'SECRET_KEY_FALLBACKS'])
      delete process.env[name];
    process.env.SECRET_KEY = GOOD;
    assert.is(assertSecretKey(), GOOD);
    process.env.SECRET_KEY = 'changeme';
    assert.is(raises(() => assertSecretKey()).code, 'ERR_WEAK_SECRET_KEY');
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});

const development = suite('assertSecretKey in debug and test mode');

const MODES: Array<[why: string, env: Record<string, string>]> = [
  ['DEBUG=1', { DEBUG: '1' }],
  ['TEST=true', { TEST: 'true' }],
  ['NODE_ENV=development', { NODE_ENV: 'development' }],
  ['NODE_ENV=test', { NODE_ENV: 'test' }],
];

for (const [why, mode] of MODES) {
  development(`${why}: a missing key becomes a fresh random one`, () => {
    const first = assertSecretKey(mode);
    const second = assertSecretKey(mode);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.is.not(first, second);
  });
}

development('an empty or blank key counts as missing', () => {
  assert.match(assertSecretKey({ DEBUG: '1', SECRET_KEY: '' }), /^[0-9a-f]{64}$/);
  assert.match(assertSecretKey({ DEBUG: '1', SECRET_KEY: '   ' }), /^[0-9a-f]{64}$/);
});

development('a weak key or fallback is returned, not refused', () => {
  assert.is(assertSecretKey({ TEST: '1', SECRET_KEY: 'changeme' }), 'changeme');
  assert.is(assertSecretKey({ DEBUG: '1', SECRET_KEY: GOOD, SECRET_KEY_FALLBACKS: 'short' }), GOOD);
});

development('a bad mode word is still a configuration error', () => {
  assert.is(raises(() => assertSecretKey({ DEBUG: 'maybe' })).code, 'ERR_INVALID_ENV');
});

generate.run();
check.run();
production.run();
development.run();
