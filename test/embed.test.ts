import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// An embedder's view: the shipped .wasm and the bare WebAssembly API, with
// none of src/. The numbers below come from the README's interface section.
const SCRATCH = 256;
const OK = 0;
const REASON_PEER = 1;
const REASON_FORWARDED = 2;
const RESULT_HOP = 28;
const RESULT_TEXT_START = 32;
const RESULT_TEXT_END = 36;
const RESULT_VALUE = 40;

interface Exports {
  memory: WebAssembly.Memory;
  reset(): number;
  addRule(at: number, length: number, value: number): number;
  build(): number;
  lookup(at: number, length: number): number;
  imageOffset(): number;
  imageSize(): number;
  heapBase(): number;
  attach(at: number): number;
  attachClientSet(at: number): number;
  parse(at: number, length: number): number;
  format(): number;
  walk(
    peer: number,
    peerLength: number,
    header: number,
    headerLength: number,
    flags: number,
    maxHops: number,
  ): number;
}

const bytes = readFileSync(new URL('../build/ipgate.wasm', import.meta.url));

function load(): Exports {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return exports as unknown as Exports;
}

function put(core: Exports, at: number, text: string): number {
  new Uint8Array(core.memory.buffer).set(new TextEncoder().encode(text), at);
  return text.length;
}

function word(core: Exports, offset: number): number {
  return new DataView(core.memory.buffer).getUint32(offset, true);
}

/** builtImage builds `rules` (values 1, 2, ...) in a fresh instance and returns its image bytes. */
function builtImage(rules: string[]): Uint8Array {
  const builder = load();
  builder.reset();
  for (const [i, rule] of rules.entries()) {
    assert.is(builder.addRule(SCRATCH, put(builder, SCRATCH, rule), i + 1), OK);
  }
  assert.is(builder.build(), OK);
  return new Uint8Array(builder.memory.buffer, builder.imageOffset(), builder.imageSize());
}

test('builds a set and looks addresses up with the bare WebAssembly API', () => {
  const core = load();
  assert.is(core.reset(), OK);
  assert.is(core.addRule(SCRATCH, put(core, SCRATCH, '192.168.0.0/16'), 7), OK);
  assert.is(core.addRule(SCRATCH, put(core, SCRATCH, '2001:db8::/32'), 9), OK);
  assert.is(core.build(), OK);

  assert.is(core.lookup(SCRATCH, put(core, SCRATCH, '192.168.3.4')), 7);
  assert.is(core.lookup(SCRATCH, put(core, SCRATCH, '::ffff:192.168.3.4')), 7);
  assert.is(core.lookup(SCRATCH, put(core, SCRATCH, '2001:db8::1')), 9);
  assert.is(core.lookup(SCRATCH, put(core, SCRATCH, '10.0.0.1')), 0);
  assert.is(core.lookup(SCRATCH, put(core, SCRATCH, '10.1')), -1);
});

test('moves a built image into another instance with attach', () => {
  const builder = load();
  builder.reset();
  builder.addRule(SCRATCH, put(builder, SCRATCH, '10.0.0.0/8'), 1);
  builder.build();

  const reader = load();
  const size = builder.imageSize();
  const at = reader.heapBase();
  const missing = at + size - reader.memory.buffer.byteLength;
  if (missing > 0) reader.memory.grow(Math.ceil(missing / 65536));
  const image = new Uint8Array(builder.memory.buffer, builder.imageOffset(), size);
  new Uint8Array(reader.memory.buffer).set(image, at);

  assert.is(reader.attach(at), OK);
  assert.is(reader.lookup(SCRATCH, put(reader, SCRATCH, '10.9.8.7')), 1);
  assert.is(reader.lookup(SCRATCH, put(reader, SCRATCH, '11.0.0.0')), 0);
});

test('refuses to attach bytes that are not an image', () => {
  const core = load();
  assert.is.not(core.attach(core.heapBase()), OK);
});

test('walks X-Forwarded-For past the trusted proxies', () => {
  const core = load();
  core.reset();
  core.addRule(SCRATCH, put(core, SCRATCH, '10.0.0.0/8'), 1);
  core.build();

  const peer = '10.0.0.1';
  const header = '198.51.100.7, 10.0.0.2';
  put(core, SCRATCH, peer + header);
  const reason = core.walk(SCRATCH, peer.length, SCRATCH + peer.length, header.length, 0, 32);
  assert.is(reason, REASON_FORWARDED);
  assert.is(new DataView(core.memory.buffer).getUint32(RESULT_HOP, true), 2);
});

test('reports where the canonical text of a parsed address is', () => {
  const core = load();
  const cases: [text: string, canonical: string, isInPlace: boolean][] = [
    ['2001:db8::1', '2001:db8::1', true],
    ['2001:DB8:0:0::1', '2001:db8::1', false],
    ['192.0.2.1', '192.0.2.1', true],
    ['::ffff:192.0.2.1', '192.0.2.1', true],
    ['::ffff:c000:201', '192.0.2.1', false],
    ['fe80::1%eth0', 'fe80::1', false],
  ];
  for (const [text, canonical, isInPlace] of cases) {
    assert.is.not(core.parse(SCRATCH, put(core, SCRATCH, text)), 0, text);
    const start = word(core, RESULT_TEXT_START);
    const end = word(core, RESULT_TEXT_END);
    const got = new TextDecoder().decode(new Uint8Array(core.memory.buffer, start, end - start));
    assert.is(got, canonical, text);
    assert.is(start >= SCRATCH, isInPlace, `${text}: in place`);
  }
});

test('formats a parsed address, or says its text already is canonical', () => {
  const core = load();
  const TEXT = 96;
  const cases: [text: string, result: number, written: string][] = [
    ['2001:db8::1', -11, ''],
    ['2001:DB8:0:0::1', 11, '2001:db8::1'],
    ['192.0.2.1', -9, ''],
    ['::ffff:192.0.2.1', 9, '192.0.2.1'],
    ['fe80::1%eth0', 7, 'fe80::1'],
  ];
  for (const [text, result, written] of cases) {
    core.parse(SCRATCH, put(core, SCRATCH, text));
    assert.is(core.format(), result, text);
    const bytes = new Uint8Array(core.memory.buffer, TEXT, written.length);
    assert.is(new TextDecoder().decode(bytes), written, text);
  }
});

test('walks and looks the client up in a client set in one call', () => {
  const trusted = builtImage(['10.0.0.0/8']);
  const allow = builtImage(['198.51.100.0/24', '203.0.113.0/24']);
  const core = load();
  const at = core.heapBase();
  const clientAt = at + ((trusted.length + 15) & ~15);
  const missing = clientAt + allow.length - core.memory.buffer.byteLength;
  if (missing > 0) core.memory.grow(Math.ceil(missing / 65536));
  new Uint8Array(core.memory.buffer).set(trusted, at);
  new Uint8Array(core.memory.buffer).set(allow, clientAt);
  assert.is(core.attach(at), OK);
  assert.is(core.attachClientSet(clientAt), OK);

  const walk = (peer: string, header: string) => {
    put(core, SCRATCH, peer + header);
    return core.walk(SCRATCH, peer.length, SCRATCH + peer.length, header.length, 0, 32);
  };
  assert.is(walk('10.0.0.1', '203.0.113.9, 10.0.0.2'), REASON_FORWARDED);
  assert.is(word(core, RESULT_VALUE), 2);
  assert.is(walk('10.0.0.1', '192.0.2.1'), REASON_FORWARDED);
  assert.is(word(core, RESULT_VALUE), 0);

  // Detached, the walk gives no value.
  assert.is(core.attachClientSet(0), OK);
  assert.is(walk('10.0.0.1', '203.0.113.9'), REASON_FORWARDED);
  assert.is(word(core, RESULT_VALUE), 0);
  assert.is.not(core.attachClientSet(core.heapBase() + 8), OK);
});

/**
 * twoImages builds the images of two rule lists and a fresh instance with
 * room at its heap base for either.
 */
function twoImages(first: string[], second: string[]) {
  const trusting = builtImage(first);
  const other = builtImage(second);
  const core = load();
  const at = core.heapBase();
  const missing = at + Math.max(trusting.length, other.length) - core.memory.buffer.byteLength;
  if (missing > 0) core.memory.grow(Math.ceil(missing / 65536));
  return { core, at, trusting, other };
}

test('looks a repeated peer up again in a newly attached image', () => {
  // A walk reuses what it found for the peer before; attaching another set
  // must not leave it answering for the old one.
  const { core, at, trusting, other } = twoImages(['10.0.0.0/8'], ['192.0.2.0/24']);
  const walk = (peer: string, header: string) => {
    put(core, SCRATCH, peer + header);
    return core.walk(SCRATCH, peer.length, SCRATCH + peer.length, header.length, 0, 32);
  };

  new Uint8Array(core.memory.buffer).set(trusting, at);
  assert.is(core.attach(at), OK);
  assert.is(walk('10.0.0.1', '203.0.113.9'), REASON_FORWARDED);
  new Uint8Array(core.memory.buffer).set(other, at);
  assert.is(core.attach(at), OK);
  assert.is(walk('10.0.0.1', '203.0.113.9'), REASON_PEER);
});

test('walks a repeated trusted tail again in a newly attached image', () => {
  // A walk starts left of the trusted hops the last header ended with;
  // attaching another set must make it judge those hops afresh.
  const { core, at, trusting, other } = twoImages(['10.0.0.0/8', '172.16.0.0/12'], ['10.0.0.0/8']);
  const walk = (peer: string, header: string) => {
    put(core, SCRATCH, header + peer);
    return core.walk(SCRATCH + header.length, peer.length, SCRATCH, header.length, 0, 32);
  };
  const hop = () => word(core, RESULT_HOP);

  new Uint8Array(core.memory.buffer).set(trusting, at);
  assert.is(core.attach(at), OK);
  assert.is(walk('10.0.0.1', '203.0.113.9, 172.16.4.5'), REASON_FORWARDED);
  assert.is(hop(), 2);
  assert.is(walk('10.0.0.1', '198.51.100.7, 172.16.4.5'), REASON_FORWARDED);
  assert.is(hop(), 2);
  new Uint8Array(core.memory.buffer).set(other, at);
  assert.is(core.attach(at), OK);
  assert.is(walk('10.0.0.1', '198.51.100.7, 172.16.4.5'), REASON_FORWARDED);
  assert.is(hop(), 1);
});

test.run();
