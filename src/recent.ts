/**
 * A small memory of what was worked out for recent requests, keyed by the
 * socket peer and the forwarding header's text: the two things a client's
 * address is found from.
 */

/**
 * GENERATION_SIZE is how many entries each of the two generations holds,
 * and TEXT_LIMIT the longest peer and header text, together, that is kept:
 * so a memory holds at most 2 × 512 entries of at most 512 characters of
 * key, well under a megabyte, whatever its requests carry.
 */
export const GENERATION_SIZE = 512;
export const TEXT_LIMIT = 512;

interface Entry<T> {
  readonly peer: string;
  readonly header: string;
  readonly value: T;
}

/**
 * Recent remembers a value for each recent (peer, header) pair. Entries go
 * into the young generation; when it is full it becomes the old one and the
 * old one is dropped. An entry found in the old generation moves back to
 * the young one, so a pair that keeps coming back stays while a flood of
 * new pairs passes through. Nothing about an entry depends on anything but
 * its pair, so a caller must keep one Recent per configuration.
 */
export class Recent<T> {
  #young = new Map<string, Entry<T>>();
  #old = new Map<string, Entry<T>>();

  /** get returns the value remembered for `peer` and `header`, if any. */
  get(peer: string, header: string): T | undefined {
    if (peer.length + header.length > TEXT_LIMIT) return undefined;
    // Behind a proxy the header tells clients apart; without one, the peer.
    const key = header === '' ? peer : header;
    const young = this.#young.get(key);
    if (young !== undefined) return isFor(young, peer, header) ? young.value : undefined;
    const old = this.#old.get(key);
    if (old === undefined || !isFor(old, peer, header)) return undefined;
    this.#add(key, old);
    return old.value;
  }

  /** remember keeps `value` for `peer` and `header`, unless their text is too long. */
  remember(peer: string, header: string, value: T): void {
    if (peer.length + header.length > TEXT_LIMIT) return;
    this.#add(header === '' ? peer : header, { peer, header, value });
  }

  /** size is how many entries are held. */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #add(key: string, entry: Entry<T>): void {
    if (this.#young.size >= GENERATION_SIZE) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, entry);
  }
}

/** isFor reports whether `entry` is the one for `peer` and `header`. */
function isFor<T>(entry: Entry<T>, peer: string, header: string): boolean {
  return entry.peer === peer && entry.header === header;
}
