/**
 * `ipgate secret`: a new secret key, for `SECRET_KEY`.
 */
import { generateSecretKey } from '../secret.js';
import { noPositionals, parseCommand } from './args.js';
import type { Io } from './io.js';

/** SECRET_HELP is the text of `ipgate secret --help`. */
export const SECRET_HELP = `\
Usage: ipgate secret

Prints a new secret key: 32 random bytes from the operating system as 64
hex characters, the same form as \`openssl rand -hex 32\`. Use it as
SECRET_KEY; keep the old key in SECRET_KEY_FALLBACKS while rotating.

Options:
  -h, --help  show this help

Example:
  echo "SECRET_KEY=$(npx ipgate secret)" >> .env
`;

/** secret runs `ipgate secret` and returns its exit status. */
export function secret(args: string[], io: Io): number {
  const parsed = parseCommand(args, {});
  if (parsed.flags.has('help')) {
    io.out(SECRET_HELP);
    return 0;
  }
  noPositionals(parsed);

  io.out(`${generateSecretKey()}\n`);
  return 0;
}
