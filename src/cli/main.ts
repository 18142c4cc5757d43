/**
 * The `ipgate` command: dispatch to a subcommand, and turn every usage
 * mistake into one line on standard error and exit status 2.
 */
import { readFileSync } from 'node:fs';
import type { Env } from '../env.js';
import { EXIT_USAGE, UsageError } from './args.js';
import { CHECK_HELP, check } from './check.js';
import { DOCTOR_HELP, doctor } from './doctor.js';
import { type Io, PROCESS_IO } from './io.js';
import { SECRET_HELP, secret } from './secret.js';
import { SERVE_HELP, serve } from './serve.js';

/** HELP is the text of `ipgate --help`. */
export const HELP = `\
Usage: ipgate COMMAND [options]

Guards a web app by client IP address, with the environment variables
PostHog documents for a self-hosted install.

Commands:
  serve    run a guarded demo server on 127.0.0.1:8080
  check    print whether an address would be allowed, and why
  doctor   check the configuration and the secret key in the environment
  secret   print a new secret key

Options:
  -h, --help     show this help; \`ipgate COMMAND --help\` shows a command's
  -v, --version  print the version

Run \`ipgate COMMAND --help\` for a command's options.
`;

const COMMAND_HELP: Readonly<Record<string, string>> = {
  serve: SERVE_HELP,
  check: CHECK_HELP,
  doctor: DOCTOR_HELP,
  secret: SECRET_HELP,
};

/**
 * main runs the command line `argv` (without `node` and the script) and
 * returns the exit status. It throws only for a fault of its own, never for
 * bad input.
 */
export async function main(
  argv: string[],
  env: Env = process.env,
  io = PROCESS_IO,
): Promise<number> {
  const [command, ...args] = argv;
  const name =
    command !== undefined && Object.hasOwn(COMMAND_HELP, command) ? `ipgate ${command}` : 'ipgate';
  try {
    return await dispatch(command, args, env, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const hint = error.hasHint ? `; see \`${name} --help\`` : '';
    io.err(`${name}: ${error.message}${hint}\n`);
    return EXIT_USAGE;
  }
}

/** dispatch runs one command. */
async function dispatch(
  command: string | undefined,
  args: string[],
  env: Env,
  io: Io,
): Promise<number> {
  switch (command) {
    case 'serve':
      return serve(args, env, io);
    case 'check':
      return check(args, env, io);
    case 'doctor':
      return doctor(args, env, io);
    case 'secret':
      return secret(args, io);
    case 'help':
      return help(args, io);
    case undefined:
    case '-h':
    case '--help':
      if (args.length > 0) throw new UsageError(`unexpected argument after ${command}`, true);
      io.out(HELP);
      return 0;
    case '-v':
    case '--version':
      io.out(`${version()}\n`);
      return 0;
    default:
      if (command.startsWith('-')) throw new UsageError(`unknown option ${command}`, true);
      throw new UsageError(`unknown command ${JSON.stringify(command)}`, true);
  }
}

/** help runs `ipgate help [COMMAND]`. */
function help(args: string[], io: Io): number {
  const [topic, extra] = args;
  if (extra !== undefined) throw new UsageError('help takes at most one COMMAND', true);
  if (topic === undefined) {
    io.out(HELP);
    return 0;
  }
  const text = Object.hasOwn(COMMAND_HELP, topic) ? COMMAND_HELP[topic] : undefined;
  if (text === undefined) throw new UsageError(`unknown command ${JSON.stringify(topic)}`, true);
  io.out(text);
  return 0;
}

/** version reads the package's version; src/ and dist/ sit at the same depth. */
function version(): string {
  const path = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
