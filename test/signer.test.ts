import { createHmac } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLOCK_SKEW_SECONDS, Signer, type SignerOptions } from '../src/signer.js';
import { raises } from './support/assert.js';

const KEY = 'cd8a1823f5defa70d995452d9258908ef502da512f52c20eeaa7951d0bb96e75';
const OLD_KEY = '3b7e0c9a41f25d86e7a0b4c3d2f1e9087a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d';
const OTHER_KEY = 'f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface';

/** clock is a settable time source in milliseconds for expiry tests. */
function clock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

function signer(options: Partial<SignerOptions> = {}): Signer {
  return new Signer({ key: KEY, salt: 'session', ...options });
}

const roundTrip = suite('Signer round trip');

const VALUES: Array<[why: string, value: string]> = [
  ['an ordinary id', 'user:42'],
  ['the empty string', ''],
  // Dots are the token's separators; the value must not be split on them.
  ['dots', 'a.b.c'],
  ['non-ASCII text', 'grüße 🍪'],
  ['cookie-hostile characters', '; Path=/; Secure, "quoted" \\'],
  ['a long value', 'x'.repeat(10_000)],
];

for (const [why, value] of VALUES) {
  roundTrip(`gives back ${why}`, () => {
    const s = signer();
    assert.is(s.unsign(s.sign(value)), value);
  });
}

roundTrip('writes only cookie- and URL-safe characters', () => {
  for (const [, value] of VALUES) assert.match(signer().sign(value), /^[A-Za-z0-9_.-]+$/);
});

roundTrip('writes the documented format', () => {
  const time = clock();
  const token = signer({ now: time.now }).sign('hi');
  const [encoded, issued, tag] = token.split('.');
  assert.is(encoded, Buffer.from('hi').toString('base64url'));
  assert.is(issued, String(Date.UTC(2030, 0, 1) / 1000));
  const derived = createHmac('sha256', KEY).update('ipgate.signer\0session').digest();
  const expected = createHmac('sha256', derived).update(`${encoded}.${issued}`).digest();
  assert.is(tag, expected.toString('base64url'));
});

roundTrip('verifies with a second signer built from the same options', () => {
  assert.is(signer().unsign(signer().sign('v')), 'v');
});

const tampering = suite('Signer.unsign rejects');

tampering('every single-character change to a token, even in unused bits', () => {
  const s = signer();
  const token = s.sign('user:42');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  for (let i = 0; i < token.length; i++) {
    for (const char of alphabet) {
      if (char === token[i]) continue;
      const forged = token.slice(0, i) + char + token.slice(i + 1);
      assert.is(s.unsign(forged), null, `Expected ${forged} to be rejected`);
    }
  }
});

tampering('a swapped value with the original tag', () => {
  const s = signer();
  const [, issued, tag] = s.sign('user:42').split('.');
  const forged = `${Buffer.from('user:1').toString('base64url')}.${issued}.${tag}`;
  assert.is(s.unsign(forged), null);
});

tampering('a changed timestamp with the original tag', () => {
  const s = signer({ maxAge: 60 });
  const [value, issued, tag] = s.sign('v').split('.');
  assert.is(s.unsign(`${value}.${Number(issued) + 3600}.${tag}`), null);
});

const MALFORMED: Array<[why: string, token: unknown]> = [
  ['not a string', 42],
  ['undefined', undefined],
  ['an object', { toString: () => 'x' }],
  ['empty', ''],
  ['one field', 'abc'],
  ['two fields', 'abc.123'],
  ['four fields', 'a.1.b.c'],
  // Buffer's base64url decoder skips bad characters; the format must not.
  ['padding in the tag', `dg.1.${'A'.repeat(43)}=`],
  ['a non-decimal timestamp', `dg.1e3.${'A'.repeat(43)}`],
  ['a timestamp with a leading zero', `dg.01.${'A'.repeat(43)}`],
  ['a short tag', 'dg.1.AAAA'],
  ['spaces', ' dg.1.AAAA '],
];

for (const [why, token] of MALFORMED) {
  tampering(`a malformed token: ${why}, without throwing`, () => {
    assert.is(signer().unsign(token), null);
  });
}

tampering('a token signed for another salt', () => {
  const reset = signer({ salt: 'password-reset' });
  assert.is(signer({ salt: 'session' }).unsign(reset.sign('user:42')), null);
});

tampering('a token signed with another key', () => {
  assert.is(signer().unsign(signer({ key: OTHER_KEY }).sign('v')), null);
});

tampering('a token signed with a plain HMAC of the key (no derivation)', () => {
  const encoded = Buffer.from('v').toString('base64url');
  const payload = `${encoded}.${Math.floor(Date.now() / 1000)}`;
  const tag = createHmac('sha256', KEY).update(payload).digest('base64url');
  assert.is(signer().unsign(`${payload}.${tag}`), null);
});

const expiry = suite('Signer maxAge');

expiry('accepts a token up to maxAge seconds old, then rejects it', () => {
  const time = clock();
  const s = signer({ maxAge: 60, now: time.now });
  const token = s.sign('v');
  time.advance(60);
  assert.is(s.unsign(token), 'v');
  time.advance(1);
  assert.is(s.unsign(token), null);
});

expiry('never expires a token when no maxAge is given', () => {
  const time = clock();
  const s = signer({ now: time.now });
  const token = s.sign('v');
  time.advance(10 * 365 * 24 * 3600);
  assert.is(s.unsign(token), 'v');
});

expiry("lets a call's maxAge override the signer's", () => {
  const time = clock();
  const s = signer({ maxAge: 3600, now: time.now });
  const token = s.sign('v');
  time.advance(120);
  assert.is(s.unsign(token), 'v');
  assert.is(s.unsign(token, { maxAge: 60 }), null);
  assert.is(signer({ now: time.now }).unsign(token, { maxAge: 60 }), null);
});

expiry('rejects everything for a maxAge that is not positive', () => {
  const s = signer();
  const token = s.sign('v');
  for (const maxAge of [0, -1, Number.NaN]) assert.is(s.unsign(token, { maxAge }), null);
});

expiry('tolerates a clock behind the signer by CLOCK_SKEW_SECONDS, no more', () => {
  const time = clock();
  const token = signer({ now: time.now }).sign('v');
  const behind = clock(Date.UTC(2030, 0, 1) - CLOCK_SKEW_SECONDS * 1000);
  assert.is(signer({ maxAge: 60, now: behind.now }).unsign(token), 'v');
  behind.advance(-1);
  assert.is(signer({ maxAge: 60, now: behind.now }).unsign(token), null);
});

const rotation = suite('Signer key rotation');

rotation('verifies tokens of a fallback key', () => {
  const old = signer({ key: OLD_KEY });
  const rotated = signer({ key: KEY, fallbacks: [OLD_KEY] });
  assert.is(rotated.unsign(old.sign('v')), 'v');
});

rotation('signs with the current key only', () => {
  const rotated = signer({ key: KEY, fallbacks: [OLD_KEY] });
  const token = rotated.sign('v');
  assert.is(signer({ key: KEY }).unsign(token), 'v');
  assert.is(signer({ key: OLD_KEY }).unsign(token), null);
});

rotation('stops accepting a key once it leaves the fallbacks', () => {
  const token = signer({ key: OLD_KEY }).sign('v');
  assert.is(signer({ key: KEY, fallbacks: [OTHER_KEY] }).unsign(token), null);
});

rotation('accepts any iterable of fallbacks', () => {
  const token = signer({ key: OLD_KEY }).sign('v');
  assert.is(signer({ fallbacks: new Set([OTHER_KEY, OLD_KEY]) }).unsign(token), 'v');
});

const config = suite('new Signer');

const BAD_OPTIONS: Array<[why: string, options: unknown, message: string]> = [
  ['no salt', { key: KEY }, 'new Signer: salt must be a non-empty string'],
  ['an empty salt', { key: KEY, salt: '' }, 'new Signer: salt must be a non-empty string'],
  ['no key', { salt: 's' }, 'new Signer: key must be a non-empty string'],
  ['an empty key', { key: '', salt: 's' }, 'new Signer: key must be a non-empty string'],
  [
    'an empty fallback',
    { key: KEY, salt: 's', fallbacks: [OLD_KEY, ''] },
    'new Signer: fallbacks[1] must be a non-empty string',
  ],
  // Spread, a string would become one-character keys that anyone can use.
  [
    'fallbacks given as a string',
    { key: KEY, salt: 's', fallbacks: `${OLD_KEY},${OTHER_KEY}` },
    'new Signer: fallbacks must be a list of keys, not a string',
  ],
  [
    'fallbacks that are not a list',
    { key: KEY, salt: 's', fallbacks: 42 },
    'new Signer: fallbacks must be a list of keys, not a number',
  ],
  [
    'a zero maxAge',
    { key: KEY, salt: 's', maxAge: 0 },
    'new Signer: maxAge "0" must be a positive number of seconds',
  ],
  [
    'an infinite maxAge',
    { key: KEY, salt: 's', maxAge: Number.POSITIVE_INFINITY },
    'new Signer: maxAge "Infinity" must be a positive number of seconds',
  ],
];

for (const [why, options, message] of BAD_OPTIONS) {
  config(`throws ERR_INVALID_OPTION for ${why}`, () => {
    const error = raises(() => new Signer(options as SignerOptions));
    assert.is(error.code, 'ERR_INVALID_OPTION');
    assert.is(error.message, message);
  });
}

config('never echoes a key in an error', () => {
  const error = raises(() => new Signer({ key: KEY, salt: 's', fallbacks: [42 as never] }));
  assert.not.ok(error.message.includes(KEY));
});

config('sign throws for a value that is not a string', () => {
  assert.is(raises(() => signer().sign(42 as never)).code, 'ERR_INVALID_OPTION');
});

roundTrip.run();
tampering.run();
expiry.run();
rotation.run();
config.run();
