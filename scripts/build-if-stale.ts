/**
 * Runs `npm run build` when the build is missing or out of date (see
 * freshness.ts), so that `npm start` and `npm test` work on a fresh clone and after a
 * pull without a build step of its own.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { staleReason } from './freshness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const reason = staleReason(root);
if (reason !== null) {
  process.stderr.write(`Building first: ${reason}.\n`);
  // npm_execpath is the npm that runs this script; reuse it rather than PATH's.
  const npm = process.env.npm_execpath;
  const result = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: true });
  process.exitCode = result.status ?? 1;
}
