// The modules the function bundles carry in place of parts of the AWS SDK they never use
// (infra/esbuild.config.cjs): an LRU cache with mnemonist's behaviour for the DynamoDB endpoint
// cache, and an event stream codec that refuses to work instead of misbehaving.
import * as mnemonist from 'mnemonist/lru-cache.js';
import LRUCache from '../../../lib/aws/clients/lru-cache.ts';
import { EventStreamSerde, eventStreamSerdeProvider } from '../../../lib/aws/clients/no-event-streams.ts';
import { DatasyncError } from '../../../lib/errors.ts';

type Cache = Pick<LRUCache<string, number>, 'get' | 'peek' | 'has' | 'set'>;
// mnemonist is CommonJS (`module.exports = LRUCache`), which the type declarations describe as a default export.
const MnemonistLRUCache = ((mnemonist as { default?: unknown }).default ?? mnemonist) as new (
  capacity: number,
) => Cache;

describe('LRU cache stand-in', () => {
  it('evicts the least recently used entry; get and set mark use, peek and has do not', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3); // evicts b
    expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.size]).toEqual([true, false, true, 2]);
    expect(cache.peek('a')).toBe(1); // does not refresh a
    cache.set('c', 4); // refreshes c
    cache.set('d', 5); // evicts a
    expect([cache.peek('a'), cache.peek('c'), cache.peek('d')]).toEqual([undefined, 4, 5]);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(() => new LRUCache(0)).toThrow(RangeError);
  });

  it('answers as mnemonist does to the same calls', () => {
    const real = new MnemonistLRUCache(3);
    const standIn = new LRUCache<string, number>(3);
    const seen = (cache: Cache) => {
      const answers: unknown[] = [];
      for (const [step, key] of [...'abcadbeafgcb'].entries()) {
        if (step % 3 === 0) cache.set(key, step);
        else if (step % 3 === 1) answers.push(cache.get(key));
        else answers.push(cache.peek(key), cache.has(key));
      }
      return answers;
    };
    expect(seen(standIn)).toEqual(seen(real));
  });
});

describe('event stream stand-in', () => {
  it('fails any use with a configuration error naming the alias', () => {
    expect(() => new EventStreamSerde()).toThrow(DatasyncError);
    expect(() => eventStreamSerdeProvider()).toThrow(/event stream codec/);
  });
});
