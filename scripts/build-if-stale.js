#!/usr/bin/env node
// Runs `npm run build` when an output of the build is missing or older than
// a source it is built from, so that `npm start` works on a fresh clone and
// after a pull without a build step of its own.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// The last file each build step writes, and the inputs of all of them.
const OUTPUTS = ['build/ipgate.wasm', 'dist/cli/main.js', 'dist/index.cjs'];
const INPUTS = ['assembly', 'src', 'asconfig.json', 'tsconfig.build.json', 'package.json'];

/** newest returns the latest modification time under `path`. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

/** staleReason says why the build must run, or returns null when it need not. */
function staleReason() {
  const missing = OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing !== undefined) return `${missing} is missing`;
  const built = Math.min(...OUTPUTS.map((output) => statSync(join(root, output)).mtimeMs));
  const changed = INPUTS.find((input) => newest(join(root, input)) > built);
  return changed === undefined ? null : `${changed} changed since the last build`;
}

const reason = staleReason();
if (reason !== null) {
  process.stderr.write(`Building first: ${reason}.\n`);
  const npm = process.env.npm_execpath;
  const result = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: true });
  process.exit(result.status ?? 1);
}
