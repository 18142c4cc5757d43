// Runs the benchmarks, each in a fresh Node process (so one's heap and JIT
// state cannot colour the next, and with --expose-gc for the memory
// figures) pinned to one CPU, prints their markdown reports and saves each
// report beside its JSON in bench/results/ (a run that writes no JSON, such
// as load --baseline, saves nothing).
//
//   npm run bench                     every benchmark
//   npm run bench -- match            one, by name
//   npm run bench -- match --sizes 4,64
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pinnedCommand, RESULTS_DIR } from './report.js';

/**
 * BENCHMARKS maps each name to its file, in the order a full run takes them,
 * and says whether it runs pinned to one CPU (see pinnedCommand). The load
 * test places its own processes.
 */
const BENCHMARKS: Record<string, { file: string; isPinned: boolean }> = {
  match: { file: 'match.bench.ts', isPinned: true },
  'client-ip': { file: 'client-ip.bench.ts', isPinned: true },
  gate: { file: 'gate.bench.ts', isPinned: true },
  load: { file: 'load.ts', isPinned: false },
};

/** runOne runs one benchmark file with the given arguments and returns its report. */
function runOne(file: string, isPinned: boolean, args: string[]): Promise<string> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', path, ...args];
  const [command, ...rest] = isPinned ? pinnedCommand(node) : node;
  const child = spawn(command!, rest, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let report = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    report += chunk;
    process.stdout.write(chunk);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(report);
      else reject(new Error(`${file} exited with code ${code}`));
    });
  });
}

async function main(args: string[]): Promise<void> {
  const name = args[0] && !args[0].startsWith('--') ? args[0] : undefined;
  if (name !== undefined && !(name in BENCHMARKS)) {
    process.stderr.write(
      `Unknown benchmark ${JSON.stringify(name)}; one of: ${Object.keys(BENCHMARKS).join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }

  const names = name === undefined ? Object.keys(BENCHMARKS) : [name];
  const rest = name === undefined ? args : args.slice(1);
  mkdirSync(RESULTS_DIR, { recursive: true });
  for (const each of names) {
    const { file, isPinned } = BENCHMARKS[each]!;
    const report = await runOne(file, isPinned, rest);
    // A run that wrote JSON results ends by naming the file; the markdown
    // goes beside it. One that wrote none (load --baseline) saves nothing.
    const written = /\n\nResults: .*\n?$/;
    if (written.test(report)) {
      writeFileSync(`${RESULTS_DIR}${each}.md`, report.replace(written, '\n'));
    }
    process.stdout.write('\n');
  }
}

await main(process.argv.slice(2));
