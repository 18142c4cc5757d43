/**
 * Loading the compiled core. The module is compiled once, synchronously, when
 * this file is imported, so that `IpSet.from` works on the next line; each
 * set then gets its own small instance, which the garbage collector reclaims
 * with the set.
 */
import { readFileSync } from 'node:fs';
import { instantiateSync } from '@assemblyscript/loader';

/** WASM_URL locates the compiled core shipped with the package. */
export const WASM_URL = new URL('../build/ipgate.wasm', import.meta.url);

/** The functions the core exports; see README "The WebAssembly interface". */
export interface CoreExports {
  memory: WebAssembly.Memory;
  reset(): number;
  addRule(at: number, length: number, value: number): number;
  build(): number;
  attach(at: number): number;
  attachClientSet(at: number): number;
  lookup(at: number, length: number): number;
  lookupParsed(family: number, w0: number, w1: number, w2: number, w3: number): number;
  parse(at: number, length: number): number;
  parseRaw(at: number, length: number): number;
  format(): number;
  imageOffset(): number;
  imageSize(): number;
  heapBase(): number;
  spare(length: number): number;
  walk(
    peerAt: number,
    peerLength: number,
    headerAt: number,
    headerLength: number,
    flags: number,
    maxHops: number,
  ): number;
}

let compiled: WebAssembly.Module | undefined;

/** coreModule returns the compiled module, compiling it on first use. */
export function coreModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
  return compiled;
}

/**
 * instantiate returns a fresh instance of the core with its own memory.
 * The loader supplies the `env.abort` import that a debug build needs; the
 * raw exports are used so that calls pay no wrapper.
 */
export function instantiate(): CoreExports {
  const { instance } = instantiateSync(coreModule(), {});
  return instance.exports as unknown as CoreExports;
}

/**
 * writeAscii copies `text` into `bytes` at `at`, one byte per UTF-16 unit.
 * Units above 0x7f become 0xff, which no parser accepts, so that a character
 * such as U+0131 cannot pass for the digit its low byte spells.
 */
export function writeAscii(bytes: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    bytes[at + i] = unit < 0x80 ? unit : 0xff;
  }
}
