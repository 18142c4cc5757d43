import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CAPACITY,
  type Keyed,
  RESTING_HITS,
  RESTING_LOOKUPS,
  Recent,
  TEXT_LIMIT,
} from '../src/recent.js';

interface Entry extends Keyed {
  value: number | string;
}

const entry = (peer: string, header: string, value: number | string): Entry => ({
  peer,
  header,
  value,
});

/** hop is the header text of the i-th made-up client. */
const hop = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, 172.16.0.1`;

test('answers only for the peer and header it was given', () => {
  const recent = new Recent<Entry>();
  recent.remember(entry('127.0.0.1', hop(1), 'one'));
  recent.remember(entry('192.0.2.1', '', 'bare'));
  assert.is(recent.get('127.0.0.1', hop(1))?.value, 'one');
  assert.is(recent.get('127.0.0.2', hop(1)), undefined);
  assert.is(recent.get('127.0.0.1', hop(2)), undefined);
  assert.is(recent.get('192.0.2.1', '')?.value, 'bare');
  // The peer's text as a header from that peer is another request.
  assert.is(recent.get('192.0.2.1', '192.0.2.1'), undefined);
  assert.is(recent.get('', '192.0.2.1'), undefined);
});

test('a newer value for the same request replaces the older', () => {
  const recent = new Recent<Entry>();
  recent.remember(entry('127.0.0.1', hop(1), 1));
  recent.remember(entry('127.0.0.1', hop(1), 2));
  assert.is(recent.get('127.0.0.1', hop(1))?.value, 2);
});

/** fill remembers `count` new pairs, looking each up once so that the memory sees hits. */
function fill(recent: Recent<Entry>, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) {
    recent.remember(entry('127.0.0.1', hop(i), i));
    assert.is(recent.get('127.0.0.1', hop(i))?.value, i);
    assert.ok(recent.size <= CAPACITY, `${recent.size} entries after ${i + 1}`);
  }
}

test('holds at most CAPACITY entries, and forgets them all when full', () => {
  const recent = new Recent<Entry>();
  fill(recent, 20 * CAPACITY);
  assert.is(recent.get('127.0.0.1', hop(0)), undefined);
  // The next one past a full memory starts it again.
  const full = new Recent<Entry>();
  fill(full, CAPACITY);
  assert.is(full.size, CAPACITY);
  full.remember(entry('127.0.0.1', 'next', 'next'));
  assert.is(full.size, 1);
  assert.is(full.get('127.0.0.1', 'next')?.value, 'next');
  assert.is(full.get('127.0.0.1', hop(CAPACITY - 1)), undefined);
});

test('rests for a while when requests do not come back', () => {
  const recent = new Recent<Entry>();
  // Fill it with pairs nobody asks for again, but for a few.
  for (let i = 0; i < CAPACITY; i++) recent.remember(entry('127.0.0.1', hop(i), i));
  for (let i = 0; i < RESTING_HITS - 1; i++) recent.get('127.0.0.1', hop(i));
  recent.remember(entry('127.0.0.1', 'next', 'next'));
  assert.is(recent.size, 0);
  for (let i = 0; i < RESTING_LOOKUPS; i++) {
    recent.remember(entry('127.0.0.1', 'resting', i));
    assert.is(recent.get('127.0.0.1', 'resting'), undefined, `lookup ${i}`);
  }
  recent.remember(entry('127.0.0.1', 'awake', 'awake'));
  assert.is(recent.get('127.0.0.1', 'awake')?.value, 'awake');
});

test('does not rest while enough requests come back', () => {
  const recent = new Recent<Entry>();
  for (let i = 0; i < CAPACITY; i++) recent.remember(entry('127.0.0.1', hop(i), i));
  for (let i = 0; i < RESTING_HITS; i++) recent.get('127.0.0.1', hop(i));
  recent.remember(entry('127.0.0.1', 'next', 'next'));
  assert.is(recent.get('127.0.0.1', 'next')?.value, 'next');
});

test('keeps nothing whose text is too long', () => {
  const recent = new Recent<Entry>();
  const long = 'x'.repeat(TEXT_LIMIT - '127.0.0.1'.length + 1);
  recent.remember(entry('127.0.0.1', long, 'long'));
  assert.is(recent.get('127.0.0.1', long), undefined);
  assert.is(recent.size, 0);
  const fits = long.slice(1);
  recent.remember(entry('127.0.0.1', fits, 'fits'));
  assert.is(recent.get('127.0.0.1', fits)?.value, 'fits');
});

test.run();
