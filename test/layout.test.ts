import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MAGIC,
  RESULT,
  RESULT_END,
  RESULT_FAMILY,
  RESULT_HI,
  RESULT_HOP,
  RESULT_LO,
  RESULT_START,
  RESULT_TEXT_END,
  RESULT_TEXT_START,
  RESULT_VALUE,
  Reason,
  SCRATCH,
  SCRATCH_SIZE,
  Status,
  TEXT,
  VERSION,
} from '../src/layout.js';
import { coreModule } from '../src/wasm.js';

// The module exports each constant of its memory map and status list as an
// immutable global; the TypeScript mirror must agree with every one.
const instance = new WebAssembly.Instance(coreModule(), {});
const exported = instance.exports as Record<string, WebAssembly.Global | undefined>;

function exportedValue(name: string): number {
  const global = exported[name];
  assert.ok(global instanceof WebAssembly.Global, `Expected the module to export ${name}`);
  return Number((global as WebAssembly.Global).value);
}

test('mirrors every offset of the memory map', () => {
  const mirror = {
    RESULT,
    RESULT_HI,
    RESULT_LO,
    RESULT_FAMILY,
    RESULT_START,
    RESULT_END,
    RESULT_HOP,
    RESULT_TEXT_START,
    RESULT_TEXT_END,
    RESULT_VALUE,
    SCRATCH,
    SCRATCH_SIZE,
    TEXT,
  };
  for (const [name, value] of Object.entries(mirror)) assert.is(value, exportedValue(name), name);
});

test('mirrors every status code', () => {
  for (const [name, value] of Object.entries(Status)) {
    assert.is(value, exportedValue(name), name);
  }
});

test('mirrors every reason code of the walk', () => {
  for (const [name, value] of Object.entries(Reason)) {
    assert.is(value, exportedValue(name), name);
  }
});

test('mirrors the image magic and version', () => {
  assert.is(MAGIC, exportedValue('MAGIC'));
  assert.is(VERSION, exportedValue('VERSION'));
});

test('keeps SCRATCH clear of the compiler-placed heap', () => {
  const heapBase = (instance.exports.heapBase as () => number)();
  assert.ok(SCRATCH + SCRATCH_SIZE <= heapBase);
});

test.run();
