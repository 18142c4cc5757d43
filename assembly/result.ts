// Filling in the RESULT record (see layout.ts) for the address a call chose,
// so that JavaScript reads its answer with no further call: the address,
// where its text was, and where its canonical text is.

import { addrHi, addrLo, formatAddress, wasMapped } from './address';
import { isCanonicalIPv6 } from './fast';
import {
  RESULT_END,
  RESULT_FAMILY,
  RESULT_HI,
  RESULT_HOP,
  RESULT_LO,
  RESULT_START,
  RESULT_TEXT_END,
  RESULT_TEXT_START,
  TEXT,
} from './layout';

/**
 * report records the last address parseClientAddress read, of `family`
 * after unmapping, from the text [start, end), as hop `hop`, and finds its
 * canonical text: the text itself when it already is canonical, the dotted
 * quad before its zone when it is IPv4-mapped, or else the text written at
 * TEXT.
 */
export function report(family: i32, start: usize, end: usize, hop: i32): void {
  store<u64>(RESULT_HI, addrHi);
  store<u64>(RESULT_LO, addrLo);
  store<u32>(RESULT_FAMILY, family);
  store<u32>(RESULT_START, <u32>start);
  store<u32>(RESULT_END, <u32>end);
  store<u32>(RESULT_HOP, hop);

  let textStart = start;
  let textEnd = end;
  let isCanonical = true;
  if (family == 4 && wasMapped) {
    // A strict dotted quad is canonical, so the one a mapped address ends
    // with is too, its zone ("%eth0") cut off; a mapped address spelt in
    // hex ("::ffff:a00:1") is not.
    textEnd = start;
    while (textEnd < end && load<u8>(textEnd) != 0x25) textEnd++;
    textStart = textEnd;
    while (textStart > start && load<u8>(textStart - 1) != 0x3a) textStart--;
    let isDotted = false;
    for (let p = textStart; p < textEnd; p++) isDotted = isDotted || load<u8>(p) == 0x2e;
    isCanonical = isDotted;
  } else if (family == 6) {
    isCanonical = isCanonicalIPv6(start, end, addrHi, addrLo);
  }
  if (!isCanonical) {
    const length = <usize>formatAddress(family, addrHi, addrLo, TEXT);
    // isCanonicalIPv6 may only have been unsure (text past the first page).
    if (family == 4 || !isSame(start, end, TEXT, length)) {
      textStart = TEXT;
      textEnd = TEXT + length;
    }
  }
  store<u32>(RESULT_TEXT_START, <u32>textStart);
  store<u32>(RESULT_TEXT_END, <u32>textEnd);
}

/** isSame reports whether [start, end) holds the `length` bytes at `text`. */
function isSame(start: usize, end: usize, text: usize, length: usize): bool {
  if (end - start != length) return false;
  for (let i: usize = 0; i < length; i++) {
    if (load<u8>(start + i) != load<u8>(text + i)) return false;
  }
  return true;
}
