/**
 * Address text: strict parsing through the core and canonical output.
 */
import { SCRATCH } from './layout.js';
import { Matcher } from './matcher.js';
import { instantiate } from './wasm.js';

const SCRATCH_AT: number = SCRATCH;

let parser: Matcher | undefined;

// Every character below 0x80, so that byte offsets are string offsets.
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** shared returns an instance with no set attached, for parsing alone. */
function shared(): Matcher {
  parser ??= new Matcher(instantiate());
  return parser;
}

/**
 * canonicalAddress returns `text` as canonical address text, or null when it
 * is not a strict address (see IpSet for what that means). IPv4-mapped
 * addresses come back as IPv4, zones are dropped, IPv6 follows RFC 5952
 * (lower-case hex, no leading zeros, the longest run of two or more zero
 * groups written "::"). Never throws.
 */
export function canonicalAddress(text: unknown): string | null {
  const matcher = shared();
  if (matcher.parse(text) === 0) return null;
  return matcher.text(text as string, isAscii(text as string) ? SCRATCH_AT : -1);
}

/** isAddress reports whether `text` is a strict IPv4 or IPv6 address. */
export function isAddress(text: unknown): boolean {
  return shared().parse(text) !== 0;
}
