/**
 * Where the `ipgate` command writes. The commands take an Io rather than
 * writing to the process, so that a test or an embedder can capture them.
 */

/** Io receives a command's output and its diagnostics, as whole lines. */
export interface Io {
  /** out writes to standard output: results, reports, the request log. */
  out(text: string): void;
  /** err writes to standard error: warnings and errors. */
  err(text: string): void;
}

/** PROCESS_IO writes to the process's standard output and error. */
export const PROCESS_IO: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};
