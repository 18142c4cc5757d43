import { IpSet } from '../../src/ipset.js';

/** SHOWN_FAILURES is how many disagreements a failure message lists. */
export const SHOWN_FAILURES = 12;

/** Failure is one disagreement between the core and its twin. */
export interface Failure {
  /** where names the seed and the input, so that the case can be replayed. */
  where: string;
  detail: string;
}

/** builds reports whether IpSet.from accepts `rule` alone. */
export function builds(rule: string): boolean {
  try {
    IpSet.from([rule]);
    return true;
  } catch {
    return false;
  }
}

/** describe turns disagreements into an assertion message. */
export function describe(failures: Failure[]): string {
  const shown = failures.slice(0, SHOWN_FAILURES).map((f) => `  ${f.where}\n    ${f.detail}`);
  return `Expected no disagreement, found ${failures.length}:\n${shown.join('\n')}`;
}
