// Shared pieces of the benchmarks: the machine line, timing with tinybench,
// memory deltas, markdown tables and the JSON results in bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Bench } from 'tinybench';

/** RESULTS_DIR is where each benchmark writes its machine-readable results. */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Machine describes where a benchmark ran. */
export interface Machine {
  cpu: string;
  cores: number;
  /** The CPUs the process may run on, as Linux lists them ("1"), or null when unknown. */
  allowedCpus: string | null;
  memoryGiB: number;
  node: string;
  v8: string;
  platform: string;
  date: string;
}

/**
 * pinnedCommand returns `command` wrapped to run on the machine's last CPU
 * alone, when Linux's `taskset` is there to do it, or else as it is.
 *
 * NOTE: unpinned, the scheduler puts a process on either core of the
 * project's two-core machine, and the same 10-hop walk in the core alone
 * took 420 ns on CPU 1 and from 450 to 800 ns on CPU 0 within minutes. The libraries share the
 * process, so pinning changes no ratio; it makes one run's figures
 * comparable with the next.
 */
export function pinnedCommand(command: readonly string[]): string[] {
  if (process.platform !== 'linux' || !hasTaskset()) return [...command];
  return ['taskset', '-c', String(cpus().length - 1), ...command];
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** machine reports the CPU, core count, memory and runtime of this process. */
export function machine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    allowedCpus: allowedCpus(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** allowedCpus reads which CPUs this process may run on, on Linux. */
function allowedCpus(): string | null {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** machineLine writes the machine as one line for a report's heading. */
export function machineLine(m: Machine): string {
  const runtime = `Node ${m.node} (V8 ${m.v8}), ${m.platform}`;
  const all = `0-${m.cores - 1}`;
  const pinned =
    m.allowedCpus === null || m.allowedCpus === all ? '' : `, pinned to CPU ${m.allowedCpus}`;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB${pinned}; ${runtime}`;
}

type Gc = () => void;

/**
 * collect runs a full garbage collection. Without --expose-gc it turns the
 * flag on at run time, which V8 allows before the first call.
 */
export const collect: Gc = (() => {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Gc;
})();

/** Footprint is what a process holds, in bytes, after a full collection. */
export interface Footprint {
  heap: number;
  external: number;
  rss: number;
}

/** footprint collects garbage twice and reads the process's memory. */
export function footprint(): Footprint {
  collect();
  collect();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.external, rss: usage.rss };
}

/** Timing is one timed task: how long one call takes and how sure we are. */
export interface Timing {
  /** Median time of one call of the task, in nanoseconds. */
  medianNs: number;
  meanNs: number;
  /** Relative margin of error of the mean, in percent (95%). */
  rmePercent: number;
  samples: number;
}

/** TimeOptions bounds a timed task. */
export interface TimeOptions {
  /** Time budget in milliseconds (tinybench keeps going until both are met). */
  time?: number;
  iterations?: number;
  warmupIterations?: number;
  /** Warm-up budget in milliseconds; tinybench's default, 100, when left out. */
  warmupTime?: number;
}

/**
 * time runs fn under tinybench and returns its timing. The function should
 * do many operations per call when one is shorter than the timer's overhead;
 * the caller divides by that number.
 */
export async function time(name: string, fn: () => unknown, options: TimeOptions = {}) {
  const bench = new Bench({
    time: options.time ?? 500,
    iterations: options.iterations ?? 20,
    warmupIterations: options.warmupIterations ?? 10,
    ...(options.warmupTime === undefined ? {} : { warmupTime: options.warmupTime }),
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();

  const result = bench.tasks[0]!.result;
  if (!result || !('latency' in result)) throw new Error(`${name}: no result`);
  const latency = result.latency;
  return {
    medianNs: latency.p50 * 1e6,
    meanNs: latency.mean * 1e6,
    rmePercent: latency.rme,
    samples: latency.samplesCount,
  } satisfies Timing;
}

/** Batch calls `op` on each pair `(firsts[i], seconds[i])` and counts the truthy answers. */
export type Batch<A, B> = (
  op: (first: A, second: B) => unknown,
  firsts: readonly A[],
  seconds: readonly B[],
) => number;

const BATCH_SOURCE = `let n = 0;
for (let i = 0; i < firsts.length; i++) if (op(firsts[i], seconds[i])) n++;
return n;`;

/**
 * batchLoop returns the loop a timed task runs, compiled anew on every call.
 * V8 keeps type feedback per function: one loop shared by every library turns
 * megamorphic at its call site once a second library has run through it, and
 * then inlines nobody, so whoever is timed later pays for the others. A loop
 * of its own gives each library the single-target call an application has.
 */
export function batchLoop<A, B>(): Batch<A, B> {
  return new Function('op', 'firsts', 'seconds', BATCH_SOURCE) as Batch<A, B>;
}

/** ROUNDS is how many turns each task of timeInRounds takes. */
export const ROUNDS = 7;

/** RoundTask is one task for timeInRounds. */
export interface RoundTask {
  name: string;
  fn: () => unknown;
  /** The budget for all rounds together, as for `time`. */
  options?: TimeOptions;
}

/**
 * RoundTiming is a task's timing over rounds: `medianNs` is its fastest
 * round's median, and each round's median is kept as well.
 */
export interface RoundTiming extends Timing {
  roundMedianNs: number[];
  /** The median of the rounds' medians. */
  medianRoundNs: number;
}

/**
 * timeInRounds times the tasks in turn, ROUNDS times over, each round
 * getting a share of every task's budget, and gives each task its fastest
 * round.
 *
 * NOTE: the project machine shares its host, and its speed flips between
 * two levels every tenth of a second or so: in a slow spell everything runs
 * up to 1.9 times longer (each round's median is in the JSON results). A
 * task timed in one stretch could fall wholly inside such a spell while the
 * next one missed it. Taken in turns, every task sees both speeds, and its
 * fastest round is the machine undisturbed, the same for every library.
 */
export async function timeInRounds(
  tasks: readonly RoundTask[],
  rounds = ROUNDS,
): Promise<RoundTiming[]> {
  const results = tasks.map(() => [] as Timing[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, task] of tasks.entries()) {
      const budget = task.options ?? {};
      results[i]!.push(
        await time(task.name, task.fn, {
          time: (budget.time ?? 500) / rounds,
          iterations: Math.max(1, Math.ceil((budget.iterations ?? 20) / rounds)),
          // The first turn warms the task up; later ones find it warm.
          warmupIterations: round === 0 ? (budget.warmupIterations ?? 10) : 1,
          warmupTime: round === 0 ? budget.warmupTime : 0,
        }),
      );
    }
  }
  return results.map((timings) => {
    const medians = timings.map((t) => t.medianNs);
    const best = timings[medians.indexOf(Math.min(...medians))]!;
    return {
      medianNs: best.medianNs,
      meanNs: best.meanNs,
      rmePercent: best.rmePercent,
      samples: timings.reduce((sum, t) => sum + t.samples, 0),
      roundMedianNs: medians,
      medianRoundNs: median(medians),
    };
  });
}

/** median returns the middle value of a non-empty list (the mean of the two middle ones). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** table writes rows as a markdown table; numbers are printed as given. */
export function table(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** fixed writes a number with a precision that suits its size. */
export function fixed(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** ratio writes how many times slower `other` is than `base` ("12.3x"). */
export function ratio(other: number, base: number): string {
  return `${fixed(other / base)}x`;
}

/** writeResults saves a benchmark's results as bench/results/NAME.json. */
export function writeResults(name: string, results: object): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${name}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** isMain reports whether the module at url is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/** print writes report text to stdout (benchmarks are the one place that prints). */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
