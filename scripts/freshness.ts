/**
 * Whether the build is up to date: every output present and newer than
 * every source it is built from. `npm start` rebuilds when it is not, and
 * the tests of the command and the package refuse to run against it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** BUILD_OUTPUTS are the last file each build step writes. */
export const BUILD_OUTPUTS = ['build/ipgate.wasm', 'dist/cli/main.js', 'dist/index.cjs'];

/** BUILD_INPUTS are the sources and settings of all the build steps. */
export const BUILD_INPUTS = ['assembly', 'src', 'asconfig.json', 'tsconfig.build.json'];

/**
 * staleReason says why the build under `root` must run again, or returns
 * null when it need not: an output is missing, or an input is newer than
 * the oldest output.
 */
export function staleReason(root: string): string | null {
  const missing = BUILD_OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing !== undefined) return `${missing} is missing`;

  const built = Math.min(...BUILD_OUTPUTS.map((output) => statSync(join(root, output)).mtimeMs));
  const changed = BUILD_INPUTS.find((input) => newest(join(root, input)) > built);
  return changed === undefined ? null : `${changed} changed since the last build`;
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
