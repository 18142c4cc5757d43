/**
 * Reading settings from environment variables the way PostHog documents them,
 * but strictly: an unknown word is a start-up error, never a silent `false`.
 */
import { invalid, quote } from './errors.js';

/** An environment: `process.env` or any plain object of strings. */
export type Env = Readonly<Record<string, string | undefined>>;

const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', 'off', '0']);

/**
 * readBoolean returns the boolean in `env[name]`, or `undefined` when the
 * variable is unset or blank. It accepts PostHog's tokens in any case with
 * surrounding whitespace (`true t yes y on 1`, `false f no n off 0`) and throws
 * a TypeError with code `ERR_INVALID_ENV` naming the variable and the value for
 * anything else.
 */
export function readBoolean(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const word = raw.trim().toLowerCase();
  if (word === '') return undefined;
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw invalid(
    'ERR_INVALID_ENV',
    `${name}=${quote(raw)}: not a boolean; use one of true, yes, on, 1 or false, no, off, 0`,
  );
}

/**
 * readList splits `env[name]` on commas, trims each entry and drops empty
 * ones. Unset or blank gives an empty list.
 */
export function readList(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The run mode an environment asks for. */
export interface Mode {
  /** isDebug: `DEBUG` is true, or `NODE_ENV` is `development`. */
  debug: boolean;
  /** isTest: `TEST` is true, or `NODE_ENV` is `test`. */
  test: boolean;
}

/**
 * modeFromEnv reads `DEBUG`, `TEST` and `NODE_ENV`. An explicit `DEBUG` or
 * `TEST` wins over `NODE_ENV`; production is neither debug nor test.
 */
export function modeFromEnv(env: Env): Mode {
  const nodeEnv = env.NODE_ENV?.trim().toLowerCase();
  return {
    debug: readBoolean(env, 'DEBUG') ?? nodeEnv === 'development',
    test: readBoolean(env, 'TEST') ?? nodeEnv === 'test',
  };
}
