/**
 * `ipgate doctor`: the configuration the environment gives, every warning,
 * every error and every secret-key problem, and whether a start would be
 * refused. Secrets are described by their length only.
 */
import { configFromEnv, type GateConfig } from '../config.js';
import { type Env, modeFromEnv, readList } from '../env.js';
import { assertSecretKey, checkSecretKey } from '../secret.js';
import { noPositionals, parseCommand } from './args.js';
import type { Io } from './io.js';
import { configLines } from './report.js';

/** DOCTOR_HELP is the text of `ipgate doctor --help`. */
export const DOCTOR_HELP = `\
Usage: ipgate doctor [--production]

Reads the environment as \`ipgate serve\` and the library's configFromEnv
do, and prints the effective configuration, every warning, every error and
every problem with SECRET_KEY and SECRET_KEY_FALLBACKS. Keys are described
by their length, never printed.

Options:
  --production  judge the secret key as production would, whatever DEBUG,
                TEST and NODE_ENV say
  -h, --help    show this help

Exit status: 0 when a start would succeed, 1 when it would be refused (a
configuration error, or a weak secret key in production), 2 for bad usage.
`;

/**
 * CHECKED_VARIABLES are the variables configFromEnv can refuse, each read on
 * its own by `doctor` so that every error is reported, not only the first.
 */
const CHECKED_VARIABLES = [
  'DEBUG',
  'TEST',
  'ALLOWED_IP_BLOCKS',
  'TRUSTED_PROXIES',
  'TRUST_ALL_PROXIES',
  'IS_BEHIND_PROXY',
  'SECURE_COOKIES',
  'DISABLE_SECURE_SSL_REDIRECT',
  'IPGATE_EXEMPT_PATHS',
];

/** doctor runs `ipgate doctor` and returns its exit status. */
export function doctor(args: string[], env: Env, io: Io): number {
  const parsed = parseCommand(args, { production: { type: 'boolean' } });
  if (parsed.flags.has('help')) {
    io.out(DOCTOR_HELP);
    return 0;
  }
  noPositionals(parsed);
  const isForcedProduction = parsed.flags.has('production');

  const { config, errors } = readConfig(env);
  const problems = keyProblems(env);
  const isProduction = isForcedProduction || isProductionMode(env);
  const judged = isForcedProduction ? productionEnv(env) : env;
  const isKeyRefused = errors.length === 0 && isKeyRefusedIn(judged);

  const lines: string[] = [];
  if (config !== null) lines.push('Configuration:', ...indent(configLines(config)), '');
  if (errors.length > 0) lines.push('Errors:', ...bullets(errors), '');
  if (config !== null) lines.push(...section('Warnings', config.warnings));
  lines.push(...section(keyHeading(isProduction), problems));
  lines.push(conclusion(errors.length > 0, isKeyRefused, problems.length > 0), '');
  io.out(lines.join('\n'));
  return errors.length > 0 || isKeyRefused ? 1 : 0;
}

/**
 * readConfig reads the whole environment, and on failure each variable on
 * its own, to collect every error rather than the first.
 */
function readConfig(env: Env): { config: GateConfig | null; errors: string[] } {
  try {
    return { config: configFromEnv(env), errors: [] };
  } catch (error) {
    const errors = new Set<string>();
    for (const name of CHECKED_VARIABLES) {
      try {
        configFromEnv({ [name]: env[name] });
      } catch (alone) {
        errors.add((alone as Error).message);
      }
    }
    if (errors.size === 0) errors.add((error as Error).message);
    return { config: null, errors: [...errors] };
  }
}

/** keyProblems lists checkSecretKey's problems for the key and fallbacks. */
function keyProblems(env: Env): string[] {
  const problems = checkSecretKey(env.SECRET_KEY).map((problem) => `SECRET_KEY: ${problem}`);
  readList(env, 'SECRET_KEY_FALLBACKS').forEach((key, index) => {
    for (const problem of checkSecretKey(key)) {
      problems.push(`SECRET_KEY_FALLBACKS[${index}]: ${problem}`);
    }
  });
  return problems;
}

/** isProductionMode reports whether `env` runs neither debug nor test. */
function isProductionMode(env: Env): boolean {
  try {
    const mode = modeFromEnv(env);
    return !(mode.debug || mode.test);
  } catch {
    return true;
  }
}

/** productionEnv is `env` with debug and test mode turned off. */
function productionEnv(env: Env): Env {
  return { ...env, DEBUG: 'false', TEST: 'false', NODE_ENV: 'production' };
}

/** isKeyRefusedIn reports whether assertSecretKey refuses `env`'s key. */
function isKeyRefusedIn(env: Env): boolean {
  try {
    assertSecretKey(env);
    return false;
  } catch {
    return true;
  }
}

/** keyHeading names the secret-key section for the mode it is judged in. */
function keyHeading(isProduction: boolean): string {
  if (isProduction) return 'Secret key';
  return 'Secret key (not enforced in debug or test mode; production would refuse these)';
}

/** conclusion is the report's last line. */
function conclusion(hasErrors: boolean, isKeyRefused: boolean, hasKeyProblems: boolean): string {
  if (hasErrors) return 'Refused: a start would fail on the errors above.';
  if (isKeyRefused) {
    return 'Refused: a production start would fail on the secret key; `ipgate secret` makes one.';
  }
  if (hasKeyProblems) return 'Ready for debug or test mode only: production would refuse the key.';
  return 'Ready: a start would succeed.';
}

/** section is a heading with its entries as bullets, or "none". */
function section(heading: string, entries: readonly string[]): string[] {
  if (entries.length === 0) return [`${heading}: none`, ''];
  return [`${heading}:`, ...bullets(entries), ''];
}

function bullets(entries: readonly string[]): string[] {
  return entries.map((entry) => `  - ${entry}`);
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => `  ${line}`);
}
