/**
 * Exempt paths: the first path segments that stay open to every client (the
 * event-ingestion and health endpoints of a PostHog install).
 *
 * The check is deliberately narrower than any router. A path the gate calls
 * exempt is let in without looking at the client address, so it must be a
 * path that every router, proxy and URL parser resolves to the same first
 * segment. Anything that one of them might normalise into another path
 * (dot segments, percent-escapes, backslashes, parameters) is not exempt and
 * is judged by the allowlist instead: the cost of a wrong "no" is a 403 for a
 * client outside the allowlist, the cost of a wrong "yes" is an open admin.
 */

/**
 * DEFAULT_EXEMPT_PATHS is PostHog's list of endpoints that stay public behind
 * its allowlist: event capture (`e`, `s`, `i`, `capture`, `batch`, `engage`,
 * `track`), feature flags (`decide`, `flags`), static assets and the health
 * check.
 */
export const DEFAULT_EXEMPT_PATHS: readonly string[] = Object.freeze([
  'e',
  's',
  'i',
  'capture',
  'batch',
  'decide',
  'engage',
  'track',
  'flags',
  'static',
  '_health',
]);

/** RFC 3986 section 2.3 unreserved characters: the only ones an entry may use. */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * segmentProblem returns why `entry` cannot name an exempt first segment, or
 * null when it can. An entry is one path segment without slashes, made of
 * RFC 3986 unreserved characters (letters, digits, `-`, `.`, `_`, `~`), and
 * not `.` or `..`. A leading slash is not accepted: `/capture` is refused
 * rather than guessed at, so that a typo cannot silently open a path.
 */
export function segmentProblem(entry: unknown): string | null {
  if (typeof entry !== 'string') return `not a string (${typeof entry})`;
  if (entry === '') return 'empty';
  if (entry === '.' || entry === '..') return 'a dot segment';
  if (!SEGMENT.test(entry)) {
    return 'not a single path segment; use letters, digits and - . _ ~';
  }
  return null;
}

/**
 * ExemptPaths answers whether a request target is exempt from the allowlist.
 * Build it once per configuration; `has` is called on every request.
 */
export class ExemptPaths {
  // The segments by length, so that a request's first segment is compared
  // in place with the few of its length, never cut out of the URL and
  // hashed: most requests are not exempt, and this answers them in a few
  // character reads.
  readonly #byLength: readonly (readonly string[] | undefined)[];
  readonly #longest: number;
  readonly #size: number;

  /**
   * Builds the matcher from first path segments, which the caller has
   * checked with `segmentProblem`. An empty list exempts nothing.
   */
  constructor(segments: Iterable<string>) {
    const distinct = new Set(segments);
    const byLength: string[][] = [];
    for (const segment of distinct) {
      const same = byLength[segment.length];
      if (same === undefined) byLength[segment.length] = [segment];
      else same.push(segment);
    }
    this.#byLength = byLength;
    this.#longest = byLength.length - 1;
    this.#size = distinct.size;
  }

  /** size is the number of distinct exempt segments. */
  get size(): number {
    return this.#size;
  }

  /**
   * has reports whether the request target `url` (Node's `req.url`) is
   * exempt: its path, without the query string, has a first segment equal
   * to an exempt one (case matters) and nothing a router could normalise.
   * It never throws; anything that is not a string is not exempt.
   *
   * Never exempt, and so judged by the allowlist:
   * - targets that do not start with `/`: the absolute form
   *   (`http://host/capture`, RFC 9112 section 3.2.2), `*`, the empty string;
   * - an empty first segment (`//capture`), which some routers collapse;
   * - any `%`: escaped dots and slashes (`%2e`, `%2f`, `%5c`), double
   *   escapes (`%252e`) and overlong forms (`%c0%ae`) that a decoder may
   *   turn into `.` or `/`;
   * - `\`, which the WHATWG URL parser reads as `/`;
   * - `;`, which Tomcat-style routers and some proxies cut at
   *   (`/capture;x`, `/capture/..;/admin`);
   * - `#`, which a request should never carry and parsers disagree on;
   * - control characters, spaces and non-ASCII, which the WHATWG URL parser
   *   drops or rewrites (`/capture/.\t./admin` becomes `/admin`);
   * - a dot segment (`.` or `..`) anywhere in the path, RFC 3986 section
   *   5.2.4, since `/capture/../admin` is `/admin` once normalised.
   */
  has(url: unknown): boolean {
    if (typeof url !== 'string' || url.charCodeAt(0) !== 0x2f) return false;

    // The first segment ends at the next slash or at the query; one longer
    // than every exempt segment is not exempt.
    const limit = Math.min(url.length, this.#longest + 2);
    let slash = 1;
    while (slash < limit) {
      const c = url.charCodeAt(slash);
      if (c === 0x2f || c === 0x3f) break;
      slash++;
    }
    if (slash === limit && limit < url.length) return false;
    if (!this.#isSegment(url, slash - 1)) return false;

    // The path ends at the query.
    const end = url.indexOf('?', slash);
    return isPlainPath(url, end === -1 ? url.length : end);
  }

  /** #isSegment reports whether the `length` characters after url's slash are exempt. */
  #isSegment(url: string, length: number): boolean {
    const candidates = this.#byLength[length];
    if (candidates === undefined) return false;
    for (const segment of candidates) if (url.startsWith(segment, 1)) return true;
    return false;
  }
}

/**
 * isPlainPath reports whether `url.slice(0, end)` holds only printable ASCII
 * other than `%`, `\`, `;` and `#`, and no dot segment.
 */
function isPlainPath(url: string, end: number): boolean {
  let start = 1;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 0x2f : url.charCodeAt(i);
    if (c === 0x2f) {
      if (isDotSegment(url, start, i)) return false;
      start = i + 1;
      continue;
    }
    // Printable ASCII is 0x21 to 0x7e; % # ; \ are refused, see `has`.
    if (c < 0x21 || c > 0x7e) return false;
    if (c === 0x25 || c === 0x23 || c === 0x3b || c === 0x5c) return false;
  }
  return true;
}

/** isDotSegment reports whether `url.slice(start, end)` is `.` or `..`. */
function isDotSegment(url: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 1) return url.charCodeAt(start) === 0x2e;
  if (length === 2) {
    return url.charCodeAt(start) === 0x2e && url.charCodeAt(start + 1) === 0x2e;
  }
  return false;
}
