import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_EXEMPT_PATHS, ExemptPaths, segmentProblem } from '../src/paths.js';
import { Rng, seedFromEnv } from './support/random.js';

const defaults = suite('DEFAULT_EXEMPT_PATHS');

defaults("is PostHog's list of public endpoints", () => {
  assert.equal(
    [...DEFAULT_EXEMPT_PATHS],
    ['e', 's', 'i', 'capture', 'batch', 'decide', 'engage', 'track', 'flags', 'static', '_health'],
  );
});

defaults('cannot be changed by a caller', () => {
  assert.ok(Object.isFrozen(DEFAULT_EXEMPT_PATHS));
});

defaults('passes its own check', () => {
  for (const entry of DEFAULT_EXEMPT_PATHS) assert.is(segmentProblem(entry), null, entry);
});

const problem = suite('segmentProblem');

const ENTRIES: Array<[why: string, entry: unknown, expected: string | null]> = [
  ['a plain word', 'capture', null],
  ['unreserved punctuation', 'a-b_c.d~e', null],
  ['a dot inside a name is no dot segment', '.well-known', null],
  ['digits', '2024', null],
  ['empty', '', 'empty'],
  // A dot segment would be normalised away by every router.
  ['the current directory', '.', 'a dot segment'],
  ['the parent directory', '..', 'a dot segment'],
  // A leading slash is refused rather than guessed at.
  ['a leading slash', '/capture', 'not a single path segment; use letters, digits and - . _ ~'],
  ['two segments', 'api/capture', 'not a single path segment; use letters, digits and - . _ ~'],
  ['a percent-escape', 'cap%74ure', 'not a single path segment; use letters, digits and - . _ ~'],
  ['a backslash', 'a\\b', 'not a single path segment; use letters, digits and - . _ ~'],
  ['a semicolon', 'capture;v=1', 'not a single path segment; use letters, digits and - . _ ~'],
  ['a space', 'cap ture', 'not a single path segment; use letters, digits and - . _ ~'],
  ['non-ASCII', 'caf\u00e9', 'not a single path segment; use letters, digits and - . _ ~'],
  ['a query', 'e?x', 'not a single path segment; use letters, digits and - . _ ~'],
  ['not a string', 42, 'not a string (number)'],
  ['undefined', undefined, 'not a string (undefined)'],
];

for (const [why, entry, expected] of ENTRIES) {
  problem(`${why}: ${JSON.stringify(entry) ?? 'undefined'}`, () => {
    assert.is(segmentProblem(entry), expected);
  });
}

const has = suite('ExemptPaths.has');
const exempt = new ExemptPaths(DEFAULT_EXEMPT_PATHS);

const URLS: Array<[why: string, url: unknown, expected: boolean]> = [
  // The endpoints themselves, with and without the trailing slash PostHog's
  // SDKs send, and with query strings.
  ['a bare endpoint', '/capture', true],
  ['a trailing slash', '/e/', true],
  ['deeper paths', '/static/chunks/app.js', true],
  ['a query string', '/e/?ip=1&_=1700000000', true],
  ['a query that looks like a path', '/capture?next=/admin', true],
  ['a query with escapes and dots', '/batch?x=%2e%2e/../admin', true],
  ['the health check', '/_health', true],
  ['a dot inside a later name', '/static/.well-known/x.txt', true],
  ['three dots are a name, not a dot segment', '/static/...', true],
  // Only the first segment counts, and it must equal an entry exactly.
  ['the root', '/', false],
  ['a prefix of an entry', '/cap', false],
  ['an entry as prefix', '/captures', false],
  ['an entry deeper in the path', '/admin/capture', false],
  ['case matters', '/Capture', false],
  ['case matters for one letter', '/E/', false],
  ['one longer than the longest entry', '/_healthz', false],
  ['a long first segment', '/dashboard/capture', false],
  ['the longest entry with a query', '/_health?full=1', true],
  ['an empty query', '/capture?', true],
  ['a query straight after the slash', '/?capture', false],
  // Dot segments, RFC 3986 section 5.2.4: normalised, these leave the
  // exempt segment.
  ['a parent segment', '/capture/../admin', false],
  ['a parent segment at the end', '/capture/..', false],
  ['a current segment', '/capture/./x', false],
  ['a current segment at the end', '/capture/.', false],
  ['a current segment before', '/./capture', false],
  ['a parent segment before the query', '/e/..?x', false],
  // Percent-escaped dots and slashes, once and twice, and overlong UTF-8.
  ['an escaped parent', '/capture/%2e%2e/admin', false],
  ['an upper-case escaped parent', '/capture/%2E%2E/admin', false],
  ['a half-escaped parent', '/capture/.%2e/admin', false],
  ['an escaped slash', '/capture%2f..%2fadmin', false],
  ['an escaped slash, upper case', '/capture/..%2Fadmin', false],
  ['an escaped backslash', '/capture/..%5cadmin', false],
  ['a double escape', '/capture/%252e%252e/admin', false],
  ['an overlong dot', '/capture/%c0%ae%c0%ae/admin', false],
  ['any escape at all', '/static/a%20b.js', false],
  // A backslash is a slash to the WHATWG URL parser.
  ['a backslash', '/capture\\..\\admin', false],
  ['a backslash alone', '/capture\\x', false],
  // Parameters, which some routers cut at.
  ['a parameter on the segment', '/capture;x', false],
  ['a parameter on a parent segment', '/capture/..;/admin', false],
  // Control characters and spaces, which the WHATWG URL parser drops.
  ['a tab inside a parent segment', '/capture/.\t./admin', false],
  ['a newline', '/capture/\n', false],
  ['a space', '/capture/a b', false],
  ['DEL', '/capture/\x7f', false],
  ['non-ASCII', '/static/caf\u00e9.js', false],
  ['a fragment', '/capture#/../admin', false],
  // Targets that are not an absolute path.
  ['an empty first segment', '//capture', false],
  ['an empty first segment and more', '//capture/x', false],
  ['the absolute form', 'http://example.com/capture', false],
  ['the absolute form with https', 'https://example.com/e/', false],
  ['a relative path', 'capture', false],
  ['the asterisk form', '*', false],
  ['the empty target', '', false],
  ['a query alone', '?capture', false],
  ['undefined', undefined, false],
  ['not a string', 42, false],
];

for (const [why, url, expected] of URLS) {
  has(`${why}: ${JSON.stringify(url) ?? 'undefined'}`, () => {
    assert.is(exempt.has(url), expected);
  });
}

has('exempts nothing when built from an empty list', () => {
  const none = new ExemptPaths([]);
  assert.is(none.size, 0);
  for (const url of ['/', '/capture', '/e/', '/_health']) assert.is(none.has(url), false, url);
});

has('uses exactly the segments it is given', () => {
  const custom = new ExemptPaths(['healthz', 'healthz']);
  assert.is(custom.size, 1);
  assert.is(custom.has('/healthz'), true);
  assert.is(custom.has('/capture'), false);
});

/** firstSegment is the first path segment the WHATWG URL parser sees. */
function firstSegment(url: string): string {
  return new URL(url, 'http://example.com').pathname.split('/')[1] ?? '';
}

has('exempts only targets that a URL parser keeps under the same segment', () => {
  // Ground truth from an independent parser: whatever it makes of an exempt
  // target, the first segment is still an exempt one.
  for (const [, url, isExempt] of URLS) {
    if (!isExempt) continue;
    assert.ok(DEFAULT_EXEMPT_PATHS.includes(firstSegment(url as string)), String(url));
  }
});

has('refuses the tricks a URL parser would resolve to another path', () => {
  const tricks = ['/capture/../admin', '/capture\\..\\admin', '/capture/.\t./admin'];
  for (const url of tricks) {
    assert.is(firstSegment(url), 'admin', url);
    assert.is(exempt.has(url), false, url);
  }
});

/**
 * referenceHas is `has` as its documentation states it, written for
 * clarity: split the path, look the first segment up, refuse the rest.
 */
function referenceHas(segments: ReadonlySet<string>, url: string): boolean {
  if (!url.startsWith('/')) return false;
  const path = url.split('?')[0]!;
  const parts = path.split('/');
  if (!segments.has(parts[1]!)) return false;
  if (!/^[\x21-\x7e]*$/.test(path) || /[%#;\\]/.test(path)) return false;
  return !parts.some((part) => part === '.' || part === '..');
}

has('agrees with a plain reading of its rules on random targets', () => {
  const seed = seedFromEnv(0x5eed0011);
  const rng = new Rng(seed);
  const lists = [DEFAULT_EXEMPT_PATHS, ['healthz', 'api', 'a'], []];
  const pieces = ['/', '/', '?', '.', '..', '%2e', ';', '\\', '#', ' ', 'x', 'admin', 'É'];
  for (const list of lists) {
    const exemptPaths = new ExemptPaths(list);
    const segments = new Set(list);
    const words = [...list, ...list.map((w) => `${w}s`), ...pieces];
    for (let i = 0; i < 20_000; i++) {
      let url = rng.chance(0.9) ? '/' : '';
      const count = rng.between(0, 5);
      for (let k = 0; k < count; k++) url += rng.pick(words) + (rng.chance(0.5) ? '/' : '');
      const want = referenceHas(segments, url);
      assert.is(exemptPaths.has(url), want, `${JSON.stringify(url)} in [${list}], seed ${seed}`);
    }
  }
});

defaults.run();
problem.run();
has.run();
