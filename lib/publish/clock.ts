import type { Revision } from '../model/revision.ts';

/**
 * A hybrid logical clock for bus revisions: each revision is the wall clock in milliseconds times
 * 1000 plus a counter, and never less than one more than the last one handed out. Revisions of one
 * publisher therefore strictly increase even when many changes share a millisecond or the wall
 * clock steps back, and revisions of publishers whose clocks agree interleave by time.
 */
export class RevisionClock {
  #last = 0n;
  readonly #now: () => number;

  /** @param now the wall clock in ms (tests pass a fake one). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The next revision, as a decimal string. */
  next(): Revision {
    const wall = BigInt(Math.floor(this.#now())) * 1000n;
    this.#last = wall > this.#last ? wall : this.#last + 1n;
    return this.#last.toString();
  }
}
