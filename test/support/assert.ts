import * as assert from 'uvu/assert';

/** raises returns the error `fn` throws, failing when it throws none. */
export function raises(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new assert.Assertion({
    message: 'Expected the call to throw',
    operator: 'throws',
    expects: 'an error',
    actual: 'none',
  } as ConstructorParameters<typeof assert.Assertion>[0]);
}
