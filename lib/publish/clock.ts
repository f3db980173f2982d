import { randomInt } from 'node:crypto';
import type { Revision } from '../model/revision.ts';

/**
 * A hybrid logical clock for revisions: `((ms * 1000 + counter) * 1000 + node)`, as a decimal
 * string. The time part is the wall clock in milliseconds times 1000 plus a counter and never
 * less than one more than the last one handed out, so one publisher's revisions strictly
 * increase even when many changes share a millisecond or the wall clock steps back. The last
 * three digits are this clock's node number, drawn at random, so two publishers stamping the
 * same key in the same millisecond almost never produce the same revision (which a consumer
 * would take for a redelivery); revisions of publishers whose clocks agree interleave by time.
 */
export class RevisionClock {
  #last = 0n;
  readonly #now: () => number;
  readonly #node: bigint;

  /**
   * @param now the wall clock in ms (tests pass a fake one).
   * @param node this clock's number, 0 to 999; random by default.
   */
  constructor(now: () => number = Date.now, node: number = randomInt(1000)) {
    this.#now = now;
    this.#node = BigInt(node);
  }

  /** The next revision, as a decimal string. */
  next(): Revision {
    const wall = BigInt(Math.floor(this.#now())) * 1000n;
    this.#last = wall > this.#last ? wall : this.#last + 1n;
    return (this.#last * 1000n + this.#node).toString();
  }
}
