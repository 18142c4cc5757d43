/**
 * A small memory of what was worked out for recent requests, keyed by the
 * socket peer and the forwarding header's text: the two things a client's
 * address is found from.
 */

/**
 * CAPACITY is how many entries a memory holds, and TEXT_LIMIT the longest
 * peer and header text, together, that it keeps: so a memory holds at most
 * 1,024 entries of at most 512 characters of key, well under a megabyte,
 * whatever its requests carry.
 */
export const CAPACITY = 1024;
export const TEXT_LIMIT = 512;

/** Keyed is an entry of a Recent: what was found for `peer` and `header`. */
export interface Keyed {
  readonly peer: string;
  readonly header: string;
}

/**
 * A memory that fills up with fewer than RESTING_HITS hits rests for
 * RESTING_LOOKUPS lookups: remembering costs every miss a little, and
 * traffic in which clients rarely come back gains nothing for it.
 */
export const RESTING_HITS = CAPACITY / 16;
export const RESTING_LOOKUPS = 16 * CAPACITY;

/**
 * Recent remembers an entry for each recent (peer, header) pair. When it is
 * full it forgets everything and starts again. A flood of new pairs then
 * costs a pair that keeps coming back one more miss per CAPACITY new ones;
 * keeping the pairs that came back across a purge measured slower for
 * every miss than the misses it saved. When few lookups hit while it
 * filled, it stops looking and remembering for a while (see RESTING_HITS).
 * Nothing about an entry depends on anything but its pair, so a caller
 * must keep one Recent per configuration.
 */
export class Recent<T extends Keyed> {
  #entries = new Map<string, T>();
  /** hits counts the lookups that hit since the memory was last purged. */
  #hits = 0;
  /** resting counts down the lookups left until the memory is used again. */
  #resting = 0;

  /** get returns the entry remembered for `peer` and `header`, if any. */
  get(peer: string, header: string): T | undefined {
    if (this.#resting > 0) {
      this.#resting--;
      return undefined;
    }
    if (peer.length + header.length > TEXT_LIMIT) return undefined;
    const entry = this.#entries.get(keyOf(peer, header));
    if (entry === undefined || entry.peer !== peer || entry.header !== header) return undefined;
    this.#hits++;
    return entry;
  }

  /** remember keeps `entry`, unless its text is too long or the memory rests. */
  remember(entry: T): void {
    const { peer, header } = entry;
    if (this.#resting > 0 || peer.length + header.length > TEXT_LIMIT) return;
    if (this.#entries.size >= CAPACITY) {
      if (this.#hits < RESTING_HITS) this.#resting = RESTING_LOOKUPS;
      this.#hits = 0;
      this.#entries = new Map();
      if (this.#resting > 0) return;
    }
    this.#entries.set(keyOf(peer, header), entry);
  }

  /** size is how many entries are held. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * keyOf is the text an entry is filed under: behind a proxy the header
 * tells clients apart, and without one the peer. The entry itself holds
 * both, for get to check.
 */
function keyOf(peer: string, header: string): string {
  return header === '' ? peer : header;
}
