import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GENERATION_SIZE, Recent, TEXT_LIMIT } from '../src/recent.js';

/** hop is the header text of the i-th made-up client. */
const hop = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, 172.16.0.1`;

test('answers only for the peer and header it was given', () => {
  const recent = new Recent<string>();
  recent.remember('127.0.0.1', hop(1), 'one');
  recent.remember('192.0.2.1', '', 'bare');
  assert.is(recent.get('127.0.0.1', hop(1)), 'one');
  assert.is(recent.get('127.0.0.2', hop(1)), undefined);
  assert.is(recent.get('127.0.0.1', hop(2)), undefined);
  assert.is(recent.get('192.0.2.1', ''), 'bare');
  // The peer's text as a header from that peer is another request.
  assert.is(recent.get('192.0.2.1', '192.0.2.1'), undefined);
  assert.is(recent.get('', '192.0.2.1'), undefined);
});

test('a newer value for the same request replaces the older', () => {
  const recent = new Recent<number>();
  recent.remember('127.0.0.1', hop(1), 1);
  recent.remember('127.0.0.1', hop(1), 2);
  assert.is(recent.get('127.0.0.1', hop(1)), 2);
});

test('holds at most two generations, however many requests pass', () => {
  const recent = new Recent<number>();
  for (let i = 0; i < 20 * GENERATION_SIZE; i++) {
    recent.remember('127.0.0.1', hop(i), i);
    assert.ok(recent.size <= 2 * GENERATION_SIZE, `${recent.size} entries after ${i + 1}`);
  }
  const last = 20 * GENERATION_SIZE - 1;
  assert.is(recent.get('127.0.0.1', hop(last)), last);
  assert.is(recent.get('127.0.0.1', hop(0)), undefined);
});

test('keeps a request that comes back while a flood passes', () => {
  const recent = new Recent<string>();
  recent.remember('127.0.0.1', 'regular', 'kept');
  for (let i = 0; i < 20 * GENERATION_SIZE; i++) {
    recent.remember('127.0.0.1', hop(i), 'flood');
    if (i % (GENERATION_SIZE - 1) === 0) {
      assert.is(recent.get('127.0.0.1', 'regular'), 'kept', `after ${i} others`);
    }
  }
});

test('keeps nothing whose text is too long', () => {
  const recent = new Recent<string>();
  const long = 'x'.repeat(TEXT_LIMIT - '127.0.0.1'.length + 1);
  recent.remember('127.0.0.1', long, 'long');
  assert.is(recent.get('127.0.0.1', long), undefined);
  assert.is(recent.size, 0);
  const fits = long.slice(1);
  recent.remember('127.0.0.1', fits, 'fits');
  assert.is(recent.get('127.0.0.1', fits), 'fits');
});

test.run();
