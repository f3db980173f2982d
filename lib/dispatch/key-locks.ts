/**
 * Serializes work on the same keys within one process: two deliveries that share a key run one
 * after the other, so a plugin is never handed a key's change while an older one of the same
 * key is still being applied. Across processes the sources keep that order (a stream shard, a
 * FIFO message group); see docs/state.md. Keys are taken in sorted order, so two deliveries
 * waiting on each other's keys cannot deadlock.
 */
export class KeyLocks {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` once no other work holding any of `keys` is running. */
  async run<T>(keys: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: Array<() => void> = [];
    for (const key of sorted) {
      const before = this.#tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const done = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = before.then(() => done);
      this.#tails.set(key, tail);
      releases.push(() => {
        release();
        // The last holder of a key removes it, so the map does not grow with every key ever seen.
        if (this.#tails.get(key) === tail) this.#tails.delete(key);
      });
      await before;
    }
    try {
      return await work();
    } finally {
      for (const release of releases) release();
    }
  }
}
