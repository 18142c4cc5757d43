#!/usr/bin/env node
// Builds the CommonJS copy of the library next to the ES modules that tsc
// wrote: dist/x.cjs beside dist/x.js, and dist/x.d.cts beside dist/x.d.ts,
// so that require('ipgate') works on Node 20, which cannot require an ES
// module. Run it after `tsc -p tsconfig.build.json`.
//
// Each source file becomes one output file, with its relative imports kept
// as require() calls of the sibling .cjs files, so the CommonJS copy has the
// same modules as the ESM one and no module is bundled twice. The .cjs files
// sit in the same folders as the .js files, so that a path relative to the
// module (the .wasm file at ../build/ipgate.wasm) resolves the same in both.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

// The command runs as an ES module from bin/ipgate.js; only the library
// needs a CommonJS copy.
const ESM_ONLY = new Set(['cli']);

/** listFiles lists the files under `base` whose relative paths pass `test`. */
function listFiles(base, test) {
  return readdirSync(base, { recursive: true })
    .filter((path) => test(path) && !ESM_ONLY.has(path.split(sep)[0]))
    .map((path) => join(base, path));
}

/** RELATIVE_JS matches `./x.js` and `../x.js` specifiers in code and types. */
const RELATIVE_JS = /^\.{1,2}\/.*\.js$/;

// Keeps relative imports as imports of the sibling .cjs file instead of
// bundling them; packages stay external too.
const siblings = {
  name: 'siblings',
  setup(context) {
    context.onResolve({ filter: RELATIVE_JS }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      return { path: args.path.replace(/\.js$/, '.cjs'), external: true };
    });
  },
};

const sources = listFiles(src, (path) => path.endsWith('.ts'));
const isMeta = (path) => readFileSync(path, 'utf8').includes('import.meta');
const options = {
  outdir: dist,
  outbase: src,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  bundle: true,
  packages: 'external',
  plugins: [siblings],
  logLevel: 'warning',
};
await build({ ...options, entryPoints: sources.filter((path) => !isMeta(path)) });
// import.meta does not exist in CommonJS; the module's own file URL stands
// in for import.meta.url, in the files that read it and only there.
await build({
  ...options,
  entryPoints: sources.filter(isMeta),
  define: { 'import.meta.url': 'import_meta_url' },
  inject: [fileURLToPath(new URL('cjs-shims.js', import.meta.url))],
});

// The declarations: the same text, with relative specifiers pointing at the
// .cjs siblings, so that TypeScript reads them as CommonJS types.
for (const path of listFiles(dist, (path) => path.endsWith('.d.ts'))) {
  const types = readFileSync(path, 'utf8').replace(
    /(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]*)\.js\2/g,
    '$1$2$3.cjs$2',
  );
  writeFileSync(path.replace(/\.d\.ts$/, '.d.cts'), types);
}
