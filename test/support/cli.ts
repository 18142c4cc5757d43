/**
 * The built `ipgate` command in child processes, for the command and
 * package tests: one-shot runs, and a `serve` process whose output can be
 * awaited line by line. Children get a clean environment (PATH only, plus
 * what a test gives), so that the tester's variables cannot leak in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from '../../scripts/freshness.js';

/** ROOT is the repository. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** BIN is the command's launcher, which runs dist/cli/main.js. */
export const BIN = join(ROOT, 'bin', 'ipgate.js');

/** WAIT_MS bounds every wait for a child, so a hang fails instead of stalling. */
export const WAIT_MS = 15_000;

/**
 * assertFreshBuild throws unless dist/ and build/ are built from the
 * current sources, since these tests run the built command.
 */
export function assertFreshBuild(): void {
  const reason = staleReason(ROOT);
  if (reason !== null) throw new Error(`Expected a fresh build (${reason}): run npm run build`);
}

/** Run is what a finished child left behind. */
export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** childEnv is the clean environment of a child, with `env` added. */
export function childEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...env };
}

/** finished resolves with the output and status of `child` once it exits. */
export function finished(child: ChildProcess): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Expected the child to exit within ${WAIT_MS} ms`));
    }, WAIT_MS);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** runCli runs `ipgate ...args` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child);
}

/** Served is a running `ipgate serve`. */
export interface Served {
  /** port is the port it reported binding. */
  port: number;
  /** stdout is everything it has printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** waitFor resolves with the first stdout line from `from` matching `pattern`. */
  waitFor(pattern: RegExp, from?: number): Promise<string>;
  /** lineCount is how many complete stdout lines have arrived. */
  lineCount(): number;
  /** stop sends `signal` and resolves once the process has exited. */
  stop(signal: NodeJS.Signals): Promise<Run>;
}

/** LISTENING matches the line serve prints once it is bound. */
const LISTENING = /^Listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(stop with Ctrl-C\)$/;

/**
 * startServe runs `ipgate serve` on 127.0.0.1 with PORT=0 (and `env`), and
 * resolves once it reports its port. It rejects if the process exits first,
 * with the output in the message.
 */
export async function startServe(env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: childEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = finished(child);
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr?.on('data', (chunk: string) => {
    output.stderr += chunk;
  });

  const lines = (): string[] => output.stdout.split('\n').slice(0, -1);
  const waitFor = async (pattern: RegExp, from = 0): Promise<string> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const line = lines()
        .slice(from)
        .find((candidate) => pattern.test(candidate));
      if (line !== undefined) return line;
      if (child.exitCode !== null || child.signalCode !== null) {
        const run = await exit;
        throw new Error(`Expected a line matching ${pattern}; serve exited: ${describe(run)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`Expected a line matching ${pattern} within ${WAIT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const listening = await waitFor(LISTENING);
  return {
    port: Number(LISTENING.exec(listening)?.[1]),
    get stdout() {
      return output.stdout;
    },
    get stderr() {
      return output.stderr;
    },
    waitFor,
    lineCount: () => lines().length,
    stop: (signal) => {
      child.kill(signal);
      return exit;
    },
  };
}

/** describe summarises a run for an assertion message. */
export function describe(run: Run): string {
  return `status ${run.status}, signal ${run.signal}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}
