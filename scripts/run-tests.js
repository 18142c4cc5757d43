#!/usr/bin/env node
// Runs every test/*.test.ts file under uvu and closes with one plain line,
// "N passed, N failed", because uvu's own summary is spread over several
// coloured lines that CI does not read.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const pattern = process.argv[2] ?? '\\.test\\.ts$';

const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', uvu, 'test', pattern], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

let output = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});

child.on('close', (code) => {
  // Colour codes sit between the labels and the numbers; drop them first.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts every colour code.
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number(plain.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  const failed = total - passed - skipped;
  const crashed = code !== 0 && failed === 0;
  console.log(`\n${passed} passed, ${crashed ? failed + 1 : failed} failed`);
  process.exit(code ?? 1);
});
