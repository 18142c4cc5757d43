/**
 * Whether the build is up to date: every output present and newer than
 * every source it is built from. `npm start` rebuilds when it is not, and
 * the tests of the command and the package refuse to run against it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * BUILD_STEPS pair the last file each build step writes with the sources
 * and settings it reads, so that a change to the TypeScript does not call
 * the WebAssembly stale.
 */
export const BUILD_STEPS: readonly { output: string; inputs: readonly string[] }[] = [
  { output: 'build/ipgate.wasm', inputs: ['assembly', 'asconfig.json'] },
  { output: 'dist/cli/main.js', inputs: ['src', 'tsconfig.json', 'tsconfig.build.json'] },
  { output: 'dist/index.cjs', inputs: ['src', 'scripts/build-cjs.js', 'scripts/cjs-shims.js'] },
];

/**
 * staleReason says why the build under `root` must run again, or returns
 * null when it need not: an output is missing, or one of its inputs is
 * newer than it.
 */
export function staleReason(root: string): string | null {
  for (const { output, inputs } of BUILD_STEPS) {
    const path = join(root, output);
    if (!existsSync(path)) return `${output} is missing`;
    const built = statSync(path).mtimeMs;
    const changed = inputs.find((input) => newest(join(root, input)) > built);
    if (changed !== undefined) return `${changed} changed since ${output} was built`;
  }
  return null;
}

/** newest returns the latest modification time of `path` or anything under it. */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}
