/**
 * The package as a user gets it: `npm pack`, installed from the tarball into
 * an empty project, then every entry point imported from ES modules and
 * required from CommonJS in child processes, the .wasm file instantiated
 * through its export path, the command run from node_modules/.bin, and the
 * type declarations resolved by TypeScript for both module systems. It
 * needs `npm run build` first; the install takes ipgate's own dependencies
 * from npm's cache when they are there.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertFreshBuild, ROOT } from './support/cli.js';

const run = promisify(execFile);

/** ENTRY_POINTS are the package's code subpaths, as a user names them. */
const ENTRY_POINTS = ['ipgate', 'ipgate/node', 'ipgate/express', 'ipgate/fastify'];

/**
 * REQUIRED_NAMES are what each entry point must export: the public API the
 * issues define, and what the README's examples import.
 */
const REQUIRED_NAMES: Record<string, string[]> = {
  ipgate: ['IpMap', 'IpSet', 'ProxyTrust', 'RuleError', 'canonicalAddress', 'isAddress'],
  'ipgate/node': ['guard', 'guardUpgrade'],
  'ipgate/express': ['middleware'],
  'ipgate/fastify': ['default', 'plugin'],
};

/** ROOT_API_NAMES are the gate and secret-key API the package root promises. */
const ROOT_API_NAMES = [
  'assertSecretKey',
  'checkSecretKey',
  'configFromEnv',
  'createGate',
  'generateSecretKey',
  'Signer',
];

/** WASM_EXPORTS are core functions an embedder calls (README, the WebAssembly interface). */
const WASM_EXPORTS = ['addRule', 'build', 'lookup', 'memory', 'reset', 'walk'];

/** Report is what the probe scripts print. */
interface Report {
  names: Record<string, string[]>;
  resolved: Record<string, string>;
  isMatch: boolean;
  wasmExports: string[];
}

/** PROBE_BODY is shared by both probes: `load` and `resolve` differ. */
const PROBE_BODY = `
const names = {};
const resolved = {};
for (const entry of ${JSON.stringify(ENTRY_POINTS)}) {
  names[entry] = Object.keys(await load(entry)).sort();
  resolved[entry] = resolve(entry);
}
resolved['ipgate/ipgate.wasm'] = resolve('ipgate/ipgate.wasm');
const { IpSet } = await load('ipgate');
const isMatch = IpSet.from(['10.0.0.0/8']).has('10.1.2.3');
const bytes = readFileSync(resolved['ipgate/ipgate.wasm']);
const { instance } = await WebAssembly.instantiate(bytes, {});
const wasmExports = Object.keys(instance.exports).sort();
console.log(JSON.stringify({ names, resolved, isMatch, wasmExports }));
`;

const ESM_PROBE = `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const load = (entry) => import(entry);
const resolve = (entry) => fileURLToPath(import.meta.resolve(entry));
${PROBE_BODY}`;

const CJS_PROBE = `
const { readFileSync } = require('node:fs');
const load = async (entry) => require(entry);
const resolve = (entry) => require.resolve(entry);
(async () => {
${PROBE_BODY}
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** The type probes use each entry point as a user's TypeScript would. */
const ESM_TYPES = `
import { IpSet, ProxyTrust } from 'ipgate';
import { guard, guardUpgrade } from 'ipgate/node';
import { middleware } from 'ipgate/express';
import { plugin } from 'ipgate/fastify';
export const isMatch: boolean = IpSet.from(['10.0.0.0/8']).has('10.1.2.3');
export const clientIp: string | null = new ProxyTrust().clientIp('10.0.0.1', {});
export const adapters = [guard, guardUpgrade, middleware, plugin];
// @ts-expect-error: a typo must not type-check, so the types are not any
IpSet.from([]).hass('10.1.2.3');
`;

const CJS_TYPES = `
import ipgate = require('ipgate');
import node = require('ipgate/node');
import express = require('ipgate/express');
import fastify = require('ipgate/fastify');
export const isMatch: boolean = ipgate.IpSet.from(['10.0.0.0/8']).has('10.1.2.3');
export const adapters = [node.guard, node.guardUpgrade, express.middleware, fastify.plugin];
// @ts-expect-error: a typo must not type-check, so the types are not any
ipgate.IpSet.from([]).hass('10.1.2.3');
`;

/** Installed is the empty project with the tarball installed. */
interface Installed {
  dir: string;
  app: string;
  tarballFiles: string[];
}

let installed: Installed | undefined;

/** project returns the installed project, failing when the install failed. */
function project(): Installed {
  if (installed === undefined) throw new Error('Expected the package to have been installed');
  return installed;
}

/** node runs a script in the project and returns what it printed. */
async function node(script: string): Promise<string> {
  const { stdout } = await run(process.execPath, [script], { cwd: project().app });
  return stdout;
}

const pack = suite('the packed package');

pack('packs and installs into an empty project', async () => {
  assertFreshBuild();
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-package-'));
  const npm = { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 };
  // The build is fresh, so prepack's rebuild is skipped.
  const { stdout } = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
    npm,
  );
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed, 'Expected npm pack to report one tarball');

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-package-lock',
      join(dir, packed.filename),
    ],
    { ...npm, cwd: app },
  );
  installed = { dir, app, tarballFiles: packed.files.map((file) => file.path).sort() };
  assert.ok(existsSync(join(app, 'node_modules', 'ipgate', 'package.json')));
});

pack('holds what users need and nothing else', () => {
  const files = project().tarballFiles;
  for (const needed of [
    'bin/ipgate.js',
    'build/ipgate.wasm',
    'dist/cli/main.js',
    'dist/index.js',
    'dist/index.cjs',
    'dist/index.d.ts',
    'dist/index.d.cts',
    'package.json',
  ]) {
    assert.ok(files.includes(needed), `Expected ${needed} in the tarball`);
  }
  // Sources, tests, maps and build-only files stay out of users' installs.
  const extra = files.filter((file) =>
    /^(src|test|bench|assembly|scripts|\.ci)\/|\.map$|\.wat$|\.tgz$|^build\/(?!ipgate\.wasm$)/.test(
      file,
    ),
  );
  assert.equal(extra, []);
  // The CommonJS copy leaves the command out: it runs as an ES module.
  assert.not.ok(files.some((file) => file.startsWith('dist/cli/') && file.endsWith('.cjs')));
});

pack('has a file behind every path of the exports map', () => {
  const base = join(project().app, 'node_modules', 'ipgate');
  const manifest = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8'));
  const targets: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect(manifest.exports);
  collect(manifest.main);
  collect(manifest.types);
  collect(manifest.bin);

  assert.ok(targets.length >= 20, `Expected the exports map, found ${targets.length} targets`);
  for (const target of targets) {
    assert.ok(existsSync(join(base, target)), `Expected ${target} to exist in the package`);
  }
  assert.equal(Object.keys(manifest.exports), [
    '.',
    './node',
    './express',
    './fastify',
    './ipgate.wasm',
    './package.json',
  ]);
  // Frameworks are optional peers, never installed for users who do not use them.
  assert.equal(Object.keys(manifest.dependencies).sort(), ['@assemblyscript/loader', 'cookie']);
  assert.ok(manifest.peerDependenciesMeta.express.optional);
  assert.ok(manifest.peerDependenciesMeta.fastify.optional);
  assert.not.ok(existsSync(join(project().app, 'node_modules', 'express')));
});

/** checkReport asserts what a probe saw through one module system. */
function checkReport(report: Report, kind: 'esm' | 'cjs'): void {
  const suffix = kind === 'esm' ? '.js' : '.cjs';
  const base = join(project().app, 'node_modules', 'ipgate');
  assert.is(report.resolved.ipgate, join(base, 'dist', `index${suffix}`));
  assert.is(report.resolved['ipgate/node'], join(base, 'dist', 'adapters', `node${suffix}`));
  assert.is(report.resolved['ipgate/ipgate.wasm'], join(base, 'build', 'ipgate.wasm'));
  for (const [entry, names] of Object.entries(REQUIRED_NAMES)) {
    const missing = names.filter((name) => !report.names[entry]?.includes(name));
    assert.equal(missing, [], `Expected ${entry} (${kind}) to export ${missing.join(', ')}`);
  }
  // The matcher ran: the .wasm file was found from the installed module.
  assert.ok(report.isMatch);
  const missing = WASM_EXPORTS.filter((name) => !report.wasmExports.includes(name));
  assert.equal(missing, [], `Expected the .wasm file to export ${missing.join(', ')}`);
}

pack('imports every entry point from an ES module', async () => {
  writeFileSync(join(project().app, 'probe.mjs'), ESM_PROBE);
  checkReport(JSON.parse(await node('probe.mjs')), 'esm');
});

pack('requires every entry point from CommonJS', async () => {
  writeFileSync(join(project().app, 'probe.cjs'), CJS_PROBE);
  checkReport(JSON.parse(await node('probe.cjs')), 'cjs');
});

pack('exports the same names to both module systems', async () => {
  const esm: Report = JSON.parse(await node('probe.mjs'));
  const cjs: Report = JSON.parse(await node('probe.cjs'));
  assert.equal(cjs.names, esm.names);
});

pack('exports the gate, configuration and secret-key API from the root', async () => {
  const esm: Report = JSON.parse(await node('probe.mjs'));
  const missing = ROOT_API_NAMES.filter((name) => !esm.names.ipgate?.includes(name));
  assert.equal(missing, [], `Expected src/index.ts to re-export ${missing.join(', ')}`);
});

pack('runs the command from node_modules/.bin', async () => {
  const bin = join(project().app, 'node_modules', '.bin', 'ipgate');
  const secret = await run(bin, ['secret'], { cwd: project().app });
  assert.match(secret.stdout, /^[0-9a-f]{64}\n$/);
  const check = await run(bin, ['check', '10.1.2.3', '--allow', '10.0.0.0/8'], {
    cwd: project().app,
    env: { PATH: process.env.PATH ?? '' },
  });
  assert.ok(check.stdout.startsWith('verdict  allowed\n'), check.stdout);
});

pack('resolves the type declarations for ES modules and CommonJS', async () => {
  const { app } = project();
  writeFileSync(join(app, 'esm.mts'), ESM_TYPES);
  writeFileSync(join(app, 'cjs.cts'), CJS_TYPES);
  const compilerOptions = {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noEmit: true,
    // ipgate's declarations name express and fastify, which this project lacks.
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  const config = { compilerOptions, files: ['esm.mts', 'cjs.cts'] };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(config));

  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  let listing = '';
  try {
    const args = [tsc, '-p', 'tsconfig.json', '--listFiles'];
    listing = (await run(process.execPath, args, { cwd: app })).stdout;
  } catch (error) {
    assert.unreachable(`tsc failed:\n${(error as { stdout: string }).stdout}`);
  }
  const base = join(app, 'node_modules', 'ipgate', 'dist');
  const listed = listing.split('\n');
  for (const file of ['index.d.ts', 'index.d.cts', 'adapters/node.d.ts', 'adapters/node.d.cts']) {
    assert.ok(listed.includes(join(base, file)), `Expected TypeScript to read ${file}`);
  }
});

pack.after(() => {
  if (installed !== undefined) rmSync(installed.dir, { recursive: true, force: true });
});

pack.run();
