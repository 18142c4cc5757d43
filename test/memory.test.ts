import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IpSet } from '../src/index.js';

// Each set owns a WebAssembly instance; dropping the set must let the
// collector take the instance and its memory. The suite runs with
// --expose-gc (scripts/run-tests.js).
const gc = (globalThis as { gc?: () => void }).gc;

function rules(count: number): string[] {
  const list: string[] = [];
  for (let i = 0; i < count; i++) list.push(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
  return list;
}

test('dropped sets give their memory back', async () => {
  assert.type(gc, 'function', 'Expected node to run with --expose-gc');
  const collect = async () => {
    for (let i = 0; i < 3; i++) {
      gc!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const list = rules(2000);
  for (let i = 0; i < 200; i++) IpSet.from(list).has('10.0.0.1');
  await collect();
  const settled = process.memoryUsage().rss;

  // 3,000 more sets of about 128 KiB each would hold ~400 MiB if kept.
  for (let round = 0; round < 15; round++) {
    for (let i = 0; i < 200; i++) IpSet.from(list).has('10.0.0.1');
    await collect();
  }
  const grown = process.memoryUsage().rss - settled;
  assert.ok(grown < 100 * 1024 * 1024, `Expected RSS to stay flat, grew ${grown >> 20} MiB`);
});

test('a collected set is really collected', async () => {
  let set: IpSet | undefined = IpSet.from(['10.0.0.0/8']);
  const ref = new WeakRef(set);
  set = undefined;
  // deref() keeps its target alive until the current job ends, so every
  // check comes after a turn of the event loop and a collection.
  let alive = true;
  for (let i = 0; i < 5 && alive; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc!();
    alive = ref.deref() !== undefined;
  }
  assert.not.ok(alive, 'Expected the set to be collected');
});

test.run();
