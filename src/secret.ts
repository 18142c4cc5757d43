/**
 * The application's secret key: generating one, judging one, and refusing to
 * start in production with a weak one, as PostHog's self-hosting guide asks.
 */
import { randomBytes } from 'node:crypto';
import { type Env, modeFromEnv, readList } from './env.js';
import { invalid } from './errors.js';

/** SECRET_KEY_BYTES is how many random bytes generateSecretKey draws. */
export const SECRET_KEY_BYTES = 32;

/**
 * SECRET_KEY_MIN_LENGTH and SECRET_KEY_MIN_DISTINCT are the thresholds of
 * Django's own deployment check (security.W009), which PostHog runs on.
 */
export const SECRET_KEY_MIN_LENGTH = 50;
export const SECRET_KEY_MIN_DISTINCT = 5;

/** INSECURE_PREFIX marks the development keys that Django generates. */
export const INSECURE_PREFIX = 'django-insecure-';

/** HOW_TO_GENERATE ends every refusal, so the fix is one copy away. */
const HOW_TO_GENERATE = 'generate one with `openssl rand -hex 32` or `npx ipgate secret`';

/**
 * PLACEHOLDERS are keys that documentation and templates ship, compared
 * after normalizing (see placeholderForm). The first is PostHog's default
 * `SECRET_KEY`, which its docker-compose file tells users to replace.
 */
const PLACEHOLDERS = new Set([
  'randomlygeneratedsecretkey',
  'changeme',
  'changeit',
  'secret',
  'secretkey',
  'password',
  'passw0rd',
  'mysecret',
  'mysecretkey',
  'supersecret',
  'topsecret',
  'default',
  'insecure',
  'test',
  'testing',
  'dev',
  'development',
  'example',
  'todo',
  'key',
  'xxx',
  'null',
  'undefined',
]);

/**
 * PLACEHOLDER_PHRASES flag a key that contains one of them anywhere, however
 * long it is ("please-change-me-before-going-live-..."). None of them can
 * occur in hex, and the chance of one in 64 random base64 characters is
 * below one in ten million, so a real key is never flagged.
 */
const PLACEHOLDER_PHRASES = [
  'randomlygenerated',
  'changeme',
  'changethis',
  'replaceme',
  'replacethis',
  'replacewith',
  'yoursecret',
  'insertyour',
  'putyour',
];

/**
 * generateSecretKey returns SECRET_KEY_BYTES bytes from the operating
 * system's random generator as 64 lower-case hex characters, the same form
 * `openssl rand -hex 32` prints.
 */
export function generateSecretKey(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('hex');
}

/**
 * checkSecretKey reports the problems with `key`, one sentence each, or an
 * empty list when it is good. A missing (`undefined`, `null`) or empty key
 * gives a single problem; anything else that is not a string gives one too.
 * A string is checked for: being a known placeholder, being shorter than
 * SECRET_KEY_MIN_LENGTH, having fewer than SECRET_KEY_MIN_DISTINCT distinct
 * characters other than whitespace and control characters, being a
 * shorter string repeated at least twice (`'password'.repeat(7)`), and
 * starting with INSECURE_PREFIX. These are Django's deployment checks and
 * more. The messages give the key's length and never any of its
 * characters, so they are safe to log.
 */
export function checkSecretKey(key: unknown): string[] {
  if (key === undefined || key === null) return ['the key is missing'];
  if (typeof key !== 'string') return [`the key is a ${typeof key}, not a string`];
  if (key === '') return ['the key is empty'];

  const problems: string[] = [];
  const length = key.length;
  if (isPlaceholder(key)) {
    problems.push(`the key (length ${length}) is a known placeholder, not a secret`);
  }
  if (length < SECRET_KEY_MIN_LENGTH) {
    problems.push(`the key has ${length} characters; at least ${SECRET_KEY_MIN_LENGTH} are needed`);
  }
  // Whitespace and control characters pad a key without making it harder
  // to guess, so they do not count as distinct.
  const visible = key.replace(/[\s\p{Cc}]/gu, '');
  const distinct = new Set(visible).size;
  if (distinct < SECRET_KEY_MIN_DISTINCT) {
    const which = visible.length < length ? ' other than whitespace' : '';
    problems.push(
      `the key (length ${length}) has ${distinct} distinct characters${which}; ` +
        `at least ${SECRET_KEY_MIN_DISTINCT} are needed`,
    );
  } else {
    const period = shortestPeriod(key);
    if (2 * period <= length) {
      problems.push(`the key (length ${length}) repeats a ${period}-character pattern`);
    }
  }
  if (key.startsWith(INSECURE_PREFIX)) {
    problems.push(
      `the key (length ${length}) starts with "${INSECURE_PREFIX}", ` +
        'the mark of a generated development key',
    );
  }
  return problems;
}

/**
 * assertSecretKey returns the key the application should use, read from
 * `env.SECRET_KEY`, with the run mode from modeFromEnv.
 *
 * In production (neither debug nor test mode) it throws a TypeError with
 * code `ERR_WEAK_SECRET_KEY` when checkSecretKey finds any problem with
 * `SECRET_KEY` or with any entry of `SECRET_KEY_FALLBACKS` (read with
 * readList); the message lists every problem and says how to generate a key.
 *
 * In debug or test mode it never throws for the key: a weak key is returned
 * as it is, and a missing or blank one is replaced by generateSecretKey(), so
 * development works and no constant key exists anywhere. Such a key changes
 * at every start, so values signed with it do not survive a restart.
 *
 * It throws `ERR_INVALID_ENV` in any mode when `DEBUG` or `TEST` is not a
 * boolean, as modeFromEnv does.
 */
export function assertSecretKey(env: Env = process.env): string {
  const mode = modeFromEnv(env);
  const key = env.SECRET_KEY;

  if (mode.debug || mode.test) {
    if (key === undefined || key.trim() === '') return generateSecretKey();
    return key;
  }

  const problems = checkSecretKey(key).map((problem) => `SECRET_KEY: ${problem}`);
  readList(env, 'SECRET_KEY_FALLBACKS').forEach((fallback, index) => {
    for (const problem of checkSecretKey(fallback)) {
      problems.push(`SECRET_KEY_FALLBACKS[${index}]: ${problem}`);
    }
  });
  if (problems.length > 0) {
    throw invalid(
      'ERR_WEAK_SECRET_KEY',
      `assertSecretKey: refusing to run in production with a weak secret key: ` +
        `${problems.join('; ')}; ${HOW_TO_GENERATE}`,
    );
  }
  return key as string;
}

/**
 * shortestPeriod returns the least p such that `text` is its first p
 * characters repeated (the last copy perhaps cut short): `text.length`
 * when it repeats nothing. Knuth-Morris-Pratt's failure function, linear.
 */
function shortestPeriod(text: string): number {
  const border = new Uint32Array(text.length + 1);
  for (let i = 1, k = 0; i < text.length; i++) {
    while (k > 0 && text[i] !== text[k]) k = border[k]!;
    if (text[i] === text[k]) k++;
    border[i + 1] = k;
  }
  return text.length - border[text.length]!;
}

/**
 * isPlaceholder reports whether `key` is, or plainly contains, template
 * text. Case, punctuation, spaces and surrounding quotes are ignored, so
 * `"<randomly generated secret key>"` copied with its quotes from a compose
 * file into an env file still counts.
 */
function isPlaceholder(key: string): boolean {
  const form = placeholderForm(key);
  if (PLACEHOLDERS.has(form)) return true;
  return PLACEHOLDER_PHRASES.some((phrase) => form.includes(phrase));
}

/** placeholderForm keeps only the letters and digits of `key`, lower-cased. */
function placeholderForm(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}
