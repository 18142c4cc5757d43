/**
 * Errors thrown at configuration time, and checks the option parsers share.
 * Request-time input never throws; it is answered with `false`, `null` or a
 * verdict that names a reason.
 */

/** QUOTE_LIMIT is how many characters of a bad value an error message echoes. */
export const QUOTE_LIMIT = 128;

/** Error codes carried by every error that ipgate throws. */
export type ErrorCode =
  | 'ERR_INVALID_RULE'
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_ENV'
  | 'ERR_WEAK_SECRET_KEY';

/** An error carrying one of ipgate's `code`s, as Node's own errors do. */
export interface IpgateError extends Error {
  code: ErrorCode;
}

/**
 * quote returns `value` in double quotes for an error message, escaped as a
 * JSON string and cut to QUOTE_LIMIT characters, so that a megabyte of input
 * or a control byte cannot flood or forge a log line.
 */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  if (text.length <= QUOTE_LIMIT) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTE_LIMIT))}...`;
}

/** invalid builds a TypeError or RangeError that carries `code`. */
export function invalid(
  code: ErrorCode,
  message: string,
  Kind: typeof TypeError | typeof RangeError = TypeError,
): IpgateError {
  const error = new Kind(message) as IpgateError;
  error.code = code;
  return error;
}

/**
 * RuleError is thrown for a rule that does not parse. Besides the message, it
 * keeps the rule (cut to QUOTE_LIMIT characters), its index in the list it
 * came in and the bare reason, so that a caller such as `configFromEnv` can
 * restate it in its own terms.
 */
export class RuleError extends TypeError {
  readonly code = 'ERR_INVALID_RULE' as const;
  readonly rule: string;
  readonly index: number;
  readonly reason: string;

  constructor(where: string, rule: string, index: number, reason: string) {
    super(`${where}(${quote(rule)}): ${reason}`);
    this.name = 'TypeError';
    this.rule = rule.slice(0, QUOTE_LIMIT);
    this.index = index;
    this.reason = reason;
  }
}

/**
 * isList reports whether an option value is a list of entries: iterable and
 * not a string, which would iterate as its characters.
 */
export function isList(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}
