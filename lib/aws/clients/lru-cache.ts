/**
 * A least-recently-used cache with the part of mnemonist's `LRUCache` API the AWS SDK's endpoint
 * cache calls (DynamoDB endpoint discovery); the deployed functions carry it in place of mnemonist
 * (an esbuild alias of `mnemonist/lru-cache`, infra/esbuild.config.cjs), which with its iterator
 * helpers is 7 KiB of every bundle. A Map keeps insertion order, so its first key is the least
 * recently used one when every use moves the key to the end.
 */
export default class LRUCache<K, V> {
  readonly #capacity: number;
  readonly #entries = new Map<K, V>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0)
      throw new RangeError('LRUCache capacity must be a positive integer');
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, marked as just used. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key) as V;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** The value, without marking it used. */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores the value as just used, evicting the least recently used entry when full. */
  set(key: K, value: V): this {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as K);
    return this;
  }

  clear(): void {
    this.#entries.clear();
  }
}
