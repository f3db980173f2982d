import { createHash } from 'node:crypto';
import { bucketOf } from '../state/table.ts';

/**
 * What a snapshot holds per key bucket, in a few numbers: how many keys and the sum of a 48-bit
 * hash of each (modulo 2^48). Two snapshots whose digests agree on a bucket hold the same keys
 * there, but for a chance of about 1 in 2^48; the deletion sweep skips such buckets instead of
 * reading both snapshots. Keyed by bucket number; empty buckets are absent.
 */
export type SnapshotDigest = Readonly<Record<string, readonly [count: number, sum: number]>>;

const MODULUS = 2 ** 48;

function keyHash(key: string): number {
  return createHash('sha1').update(key).digest().readUIntBE(0, 6);
}

/** The digest with `keys` added. */
export function addKeys(digest: SnapshotDigest, keys: Iterable<string>): SnapshotDigest {
  const next: Record<string, readonly [number, number]> = { ...digest };
  for (const key of keys) {
    const bucket = String(bucketOf(key));
    const [count, sum] = next[bucket] ?? [0, 0];
    next[bucket] = [count + 1, (sum + keyHash(key)) % MODULUS];
  }
  return next;
}

/** Whether two digests agree on a bucket (both empty counts as agreeing). */
export function sameKeys(a: SnapshotDigest, b: SnapshotDigest, bucket: number): boolean {
  const [x, y] = [a[String(bucket)], b[String(bucket)]];
  return x === undefined || y === undefined ? x === y : x[0] === y[0] && x[1] === y[1];
}
