/**
 * The core's fast paths against the reference parser, on text shaped to
 * reach their edges: the SIMD IPv6 reader (groups of 0-5 digits, runs of 1-3
 * colons, dotted tails, text across the 16-byte loads), the "::ffff:"
 * shortcut in every case, and the SIMD comma scan of X-Forwarded-For. Each
 * string is one the fast path may take or must decline; either way the
 * answer must be the strict parser's. Replay a failure with ORACLE_SEED.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalAddress } from '../src/address.js';
import { ProxyTrust } from '../src/proxy-trust.js';
import { Rng, seedFromEnv } from './support/random.js';
import { ReferenceTrust, canonicalAddress as referenceCanonical } from './support/reference.js';

const SEED = seedFromEnv(0x5eed0006);
const STRINGS = 150_000;
const HEADERS = 20_000;

const HEX = '0123456789abcdefABCDEF';
const STRAY = ['g', 'G', ' ', '%', '/', '.', ':', '\u00e9', '\u0000', '0x', '-', ','];

function hexDigits(rng: Rng, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += rng.pick(HEX.split(''));
  return text;
}

function decimalField(rng: Rng): string {
  const shape = rng.int(10);
  if (shape === 0) return `0${rng.int(10)}`;
  if (shape === 1) return String(rng.between(256, 999));
  if (shape === 2) return '';
  if (shape === 3) return String(rng.between(1000, 9999));
  return String(rng.int(256));
}

function dottedQuad(rng: Rng): string {
  const fields = rng.chance(0.85) ? 4 : rng.pick([3, 5]);
  const parts: string[] = [];
  for (let i = 0; i < fields; i++) parts.push(decimalField(rng));
  if (rng.chance(0.05)) parts[rng.int(fields)] = hexDigits(rng, 2);
  return parts.join('.');
}

/** ipv6ish returns text near IPv6: mostly valid, with one fault sometimes. */
function ipv6ish(rng: Rng): string {
  const tail = rng.chance(0.2);
  const groups = rng.between(0, tail ? 7 : 9);
  const parts: string[] = [];
  for (let i = 0; i < groups; i++) {
    const length = rng.chance(0.9) ? rng.between(1, 4) : rng.pick([0, 5]);
    parts.push(hexDigits(rng, length));
  }
  let text = '';
  const gap = rng.chance(0.6) ? rng.int(groups + 1) : -1;
  for (let i = 0; i <= groups; i++) {
    if (i === gap) text += rng.chance(0.95) ? '::' : ':::';
    else if (i > 0 && i < groups) text += ':';
    if (i < groups) text += parts[i];
  }
  if (tail) text += `${text.endsWith(':') ? '' : ':'}${dottedQuad(rng)}`;
  if (rng.chance(0.05)) text = `:${text}`;
  if (rng.chance(0.05)) text += ':';
  if (rng.chance(0.08)) {
    const at = rng.int(text.length + 1);
    text = text.slice(0, at) + rng.pick(STRAY) + text.slice(at);
  }
  if (rng.chance(0.03)) text += `%${rng.pick(['eth0', '1', '', 'a b'])}`;
  return text;
}

/** mapped returns "::ffff:" in a random case before something address-like. */
function mapped(rng: Rng): string {
  const tag = 'ffff'
    .split('')
    .map((c) => (rng.chance(0.5) ? c.toUpperCase() : c))
    .join('');
  const prefix = rng.chance(0.9) ? `::${tag}:` : rng.pick([`:${tag}:`, `::${tag}`, `::0:${tag}:`]);
  return prefix + (rng.chance(0.8) ? dottedQuad(rng) : ipv6ish(rng).slice(0, 9));
}

test('the fast paths give the strict parser’s answer on near-miss text', () => {
  const rng = new Rng(SEED);
  const failures: string[] = [];
  let accepted = 0;
  for (let i = 0; i < STRINGS && failures.length < 10; i++) {
    const text = rng.chance(0.25) ? mapped(rng) : ipv6ish(rng);
    const want = referenceCanonical(text);
    const got = canonicalAddress(text);
    if (want !== null) accepted++;
    if (got !== want) failures.push(`${JSON.stringify(text)}: ${got} instead of ${want}`);
  }
  assert.equal(failures, [], `seed ${SEED}`);
  // The shapes must reach both sides of the decision, not just one.
  assert.ok(accepted > STRINGS / 5 && accepted < (STRINGS * 4) / 5, `${accepted} accepted`);
});

test('the comma scan finds every entry wherever the commas fall', () => {
  const rng = new Rng(SEED + 1);
  const options = { trusted: ['10.0.0.0/8', 'fd00::/8'] };
  const trust = new ProxyTrust(options);
  const reference = new ReferenceTrust(options);
  const failures: string[] = [];
  for (let i = 0; i < HEADERS && failures.length < 10; i++) {
    const entries: string[] = [];
    const hops = rng.between(1, 8);
    for (let k = 0; k < hops; k++) {
      const proxy = rng.chance(0.5)
        ? `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`
        : `fd00::${rng.int(65536).toString(16)}`;
      entries.push(k === 0 ? ipv6ish(rng) : proxy);
    }
    const separators = entries.map(() => rng.pick([',', ', ', ' , ', ',\t', ',,']));
    const header = entries.map((entry, k) => (k === 0 ? entry : separators[k] + entry)).join('');
    const headers = { 'x-forwarded-for': header };
    const got = trust.resolve('10.0.0.1', headers);
    const want = reference.resolve('10.0.0.1', headers);
    if (got.clientIp !== want.clientIp || got.reason !== want.reason || got.hop !== want.hop) {
      failures.push(
        `${JSON.stringify(header)}: ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`,
      );
    }
  }
  assert.equal(failures, [], `seed ${SEED}`);
});

test.run();
