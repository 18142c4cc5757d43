/**
 * Command-line parsing for the `ipgate` command, on node:util's parseArgs.
 * Every mistake becomes a UsageError whose message is one line naming the
 * option or the value, and the command exits with EXIT_USAGE.
 */
import { parseArgs } from 'node:util';
import { isAddress } from '../address.js';
import { quote } from '../errors.js';

/** EXIT_USAGE is the exit status for a command line that cannot be run. */
export const EXIT_USAGE = 2;

/**
 * UsageError is a mistake on the command line or in a value the command
 * reads. Its message is one line, without the command's name; `hasHint`
 * asks for a pointer to the command's `--help` after it.
 */
export class UsageError extends Error {
  readonly hasHint: boolean;

  constructor(message: string, hasHint = false) {
    super(message);
    this.name = 'UsageError';
    this.hasHint = hasHint;
  }
}

/** OptionSpec declares one option; `--help` and `-h` are always declared. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/** ParsedArgs are the options given, by name, and the positionals. */
export interface ParsedArgs {
  strings: Map<string, string>;
  flags: Set<string>;
  positionals: string[];
}

const HELP: OptionSpec = { type: 'boolean', short: 'h' };

/**
 * parseCommand reads `args` against `options`. It throws a UsageError for an
 * unknown option, a string option without a value (a following word that
 * starts with `-` is taken for a forgotten value, not as one), a boolean
 * option with `=value`, and an option given twice.
 */
export function parseCommand(args: string[], options: Record<string, OptionSpec>): ParsedArgs {
  const specs: Record<string, OptionSpec> = { ...options, help: HELP };
  const { tokens } = parseArgs({
    args,
    options: specs,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const parsed: ParsedArgs = { strings: new Map(), flags: new Set(), positionals: [] };
  for (const token of tokens) {
    if (token.kind === 'positional') parsed.positionals.push(token.value);
    if (token.kind !== 'option') continue;

    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    if (spec === undefined) throw new UsageError(`unknown option ${token.rawName}`, true);
    if (parsed.strings.has(token.name) || parsed.flags.has(token.name)) {
      throw new UsageError(`${token.rawName} is given more than once`, true);
    }
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`, true);
      parsed.flags.add(token.name);
      continue;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith('-'))) {
      throw new UsageError(`${token.rawName} needs a value`, true);
    }
    parsed.strings.set(token.name, value);
  }
  return parsed;
}

/**
 * noPositionals throws a UsageError for a command that takes no operands
 * and was given some.
 */
export function noPositionals(parsed: ParsedArgs): void {
  const [first] = parsed.positionals;
  if (first !== undefined) throw new UsageError(`unexpected argument ${quote(first)}`, true);
}

/** requireAddress throws a UsageError unless `value` is an IP address. */
export function requireAddress(label: string, value: string): string {
  if (!isAddress(value)) throw new UsageError(`${label} ${quote(value)} is not an IP address`);
  return value;
}

/**
 * splitList splits a comma-separated option value as the environment's
 * lists are split: entries trimmed, empty entries dropped.
 */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
