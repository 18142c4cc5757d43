/**
 * Signed values: a string the application hands out (a cookie value, a
 * reset token) and later takes back, knowing it was not altered.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalid, isList, quote } from './errors.js';

/** MAC_BYTES is the length of an HMAC-SHA256 tag. */
const MAC_BYTES = 32;

/**
 * CLOCK_SKEW_SECONDS is how far in the future a token's timestamp may lie
 * and still pass a maxAge check, for servers whose clocks disagree a little.
 */
export const CLOCK_SKEW_SECONDS = 300;

/** KEY_LABEL separates this library's derived keys from any other HMAC use. */
const KEY_LABEL = 'ipgate.signer\0';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** Options for a Signer. */
export interface SignerOptions {
  /** key is the current secret key; it signs, and it verifies. */
  key: string;
  /** fallbacks are retired keys that still verify, for key rotation. */
  fallbacks?: Iterable<string>;
  /**
   * salt names the purpose ("session", "password-reset"). A token signed
   * for one salt never verifies under another.
   */
  salt: string;
  /** maxAge, in seconds, rejects tokens older than this; default none. */
  maxAge?: number;
  /** now returns the time in milliseconds; default Date.now. For tests. */
  now?: () => number;
}

/**
 * Signer signs strings with HMAC-SHA256 and verifies them in constant time.
 *
 * A token has three base64url-or-decimal fields joined by dots:
 *
 *     base64url(utf8(value)) "." issued-at "." base64url(mac)
 *
 * where issued-at is whole seconds since the Unix epoch in decimal and the
 * mac is HMAC-SHA256 over the first two fields and their dot, keyed with
 * HMAC-SHA256(secret key, "ipgate.signer\0" + salt). Every character is
 * safe in a cookie value, a URL path and a query string. The value is
 * encoded, not encrypted: anyone holding a token can read it.
 *
 * Lone UTF-16 surrogates in a value do not survive UTF-8 and come back as
 * U+FFFD. Timestamps are kept with second precision.
 */
export class Signer {
  readonly #keys: Buffer[];
  readonly #maxAge: number | undefined;
  readonly #now: () => number;

  /**
   * Throws a TypeError or RangeError with code `ERR_INVALID_OPTION` when a
   * key or the salt is not a non-empty string, when fallbacks is a string
   * (one key, or a comma-separated list, which must be split first) or not
   * iterable, or when maxAge is not a positive finite number. Key checks
   * give lengths, never characters.
   */
  constructor(options: SignerOptions) {
    const { key, fallbacks = [], salt, maxAge, now = Date.now } = options ?? {};
    if (typeof salt !== 'string' || salt === '') {
      throw invalid('ERR_INVALID_OPTION', 'new Signer: salt must be a non-empty string');
    }
    // A string is iterable too, and spread into one-character keys it
    // would let anyone forge a token.
    if (!isList(fallbacks)) {
      const kind = typeof fallbacks === 'object' ? 'an object' : `a ${typeof fallbacks}`;
      throw invalid(
        'ERR_INVALID_OPTION',
        `new Signer: fallbacks must be a list of keys, not ${fallbacks === null ? 'null' : kind}`,
      );
    }
    const secrets = [key, ...fallbacks];
    secrets.forEach((secret, index) => {
      if (typeof secret !== 'string' || secret === '') {
        const which = index === 0 ? 'key' : `fallbacks[${index - 1}]`;
        throw invalid('ERR_INVALID_OPTION', `new Signer: ${which} must be a non-empty string`);
      }
    });
    if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge > 0)) {
      throw invalid(
        'ERR_INVALID_OPTION',
        `new Signer: maxAge ${quote(maxAge)} must be a positive number of seconds`,
        RangeError,
      );
    }
    if (typeof now !== 'function') {
      throw invalid('ERR_INVALID_OPTION', 'new Signer: now must be a function');
    }

    this.#keys = secrets.map((secret) => deriveKey(secret, salt));
    this.#maxAge = maxAge;
    this.#now = now;
  }

  /**
   * sign returns a token carrying `value` and the current time, signed with
   * the current key. Throws a TypeError when `value` is not a string.
   */
  sign(value: string): string {
    if (typeof value !== 'string') {
      throw invalid(
        'ERR_INVALID_OPTION',
        `Signer.sign: value must be a string, not ${typeof value}`,
      );
    }
    const issuedAt = Math.floor(this.#now() / 1000);
    const payload = `${Buffer.from(value, 'utf8').toString('base64url')}.${issuedAt}`;
    return `${payload}.${mac(this.#keys[0]!, payload).toString('base64url')}`;
  }

  /**
   * unsign returns the value inside `token` when the token is well formed,
   * its mac matches the current key or a fallback, and it is no older than
   * the maximum age (the call's `maxAge` wins over the constructor's).
   * Otherwise, including for a non-string, it returns null. Never throws.
   */
  unsign(token: unknown, options?: { maxAge?: number }): string | null {
    if (typeof token !== 'string') return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [encoded, issued, tag] = parts as [string, string, string];
    if (!BASE64URL.test(encoded) || !DECIMAL.test(issued) || !BASE64URL.test(tag)) return null;

    // Re-encoding refuses a tag whose unused low bits were changed, so that
    // each value and time have exactly one valid token.
    const given = Buffer.from(tag, 'base64url');
    if (given.length !== MAC_BYTES || given.toString('base64url') !== tag) return null;
    const payload = `${encoded}.${issued}`;
    if (!this.#keys.some((key) => timingSafeEqual(mac(key, payload), given))) return null;

    if (!this.#isFresh(Number(issued), options?.maxAge ?? this.#maxAge)) return null;
    return Buffer.from(encoded, 'base64url').toString('utf8');
  }

  /** #isFresh reports whether a token issued at `issuedAt` may be used now. */
  #isFresh(issuedAt: number, maxAge: number | undefined): boolean {
    if (maxAge === undefined) return true;
    // A maxAge that is not a positive number (a caller's mistake) must not
    // turn expiry off, so it accepts nothing.
    if (!(maxAge > 0)) return false;
    const age = this.#now() / 1000 - issuedAt;
    return age >= -CLOCK_SKEW_SECONDS && age <= maxAge;
  }
}

/** deriveKey gives each purpose its own key, so salts cannot be mixed. */
function deriveKey(secret: string, salt: string): Buffer {
  return createHmac('sha256', secret)
    .update(KEY_LABEL + salt)
    .digest();
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}
