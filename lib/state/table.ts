import type { CreateTableInput } from '@aws-sdk/client-dynamodb';
import { DatasyncError } from '../errors.ts';
import { ENV } from '../config.ts';
import { toRevision, type Revision } from '../model/revision.ts';

/**
 * The layout of the sync-state table: one table, partition key `pk` and sort key `sk`, both
 * strings. Every row about a plugin shares the partition `plugin#<name>`, so one Query reads a
 * plugin's held keys or held changes and rows of different plugins never contend.
 *
 * | pk | sk | row |
 * |---|---|---|
 * | `plugin#<name>` | `status` | status, last resync, counts, last error, failures, checkpoint, snapshots |
 * | `plugin#<name>` | `key#<bucket>#<key>` | what the plugin holds for a key since a change (or a tombstone) |
 * | `plugin#<name>` | `held#<arrival>` | a change held until the plugin's resync finishes |
 * | `resync#<id>` | `run` | which plugins a resync covers and how far it got |
 * | `snapshot#<resync>#<name>` | `<bucket>#<page>-<n>` | keys and revisions a resync handed over: one row per bucket per page |
 *
 * What a plugin holds for a key is the latest of its key row and its entry in the plugin's current
 * snapshot. Snapshot rows hold many keys each, so a resync writes a few rows per scanned page
 * rather than one per item; each snapshot has its own partition, so reading one never reads
 * another, nor the plugin's key rows. Both kinds of row are grouped by a hash bucket of the key, so the
 * deletion sweep can compare a bucket of the previous snapshot, the new one and the key rows at
 * a time, and a lookup reads only the bucket of its key.
 */
export const STATE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** The row kinds' sort keys and prefixes. */
export const SORT = { status: 'status', key: 'key#', held: 'held#', run: 'run' } as const;

/** How many buckets keys are spread over (a snapshot bucket holds about 1/256 of its keys). */
export const BUCKETS = 256;

/**
 * The state table's definition, as tests and benchmarks create it; `infra/tables.yml` declares the
 * same key schema for deploys and the local runner.
 * On-demand capacity: resync bursts and quiet periods alternate.
 */
export function stateTableDefinition(tableName: string): CreateTableInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: STATE_KEY.partition, AttributeType: 'S' },
      { AttributeName: STATE_KEY.sort, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: STATE_KEY.partition, KeyType: 'HASH' },
      { AttributeName: STATE_KEY.sort, KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** The state table's name from the argument or `DATASYNC_STATE_TABLE`. */
export function stateTableName(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = explicit ?? env[ENV.stateTable];
  if (!name) throw new DatasyncError('CONFIGURATION', `no sync-state table: pass stateTable or set ${ENV.stateTable}`);
  return name;
}

/** The partition of a plugin's rows. */
export function pluginPartition(plugin: string): string {
  return `plugin#${plugin}`;
}

/** The partition of a resync run's row. */
export function runPartition(resyncId: string): string {
  return `resync#${resyncId}`;
}

/**
 * The bucket of a key: FNV-1a over its UTF-16 code units, modulo `BUCKETS`. Stored in sort keys,
 * so it must never change.
 */
export function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

function bucketText(bucket: number): string {
  return bucket.toString(16).padStart(2, '0');
}

/** The sort key of a plugin's row for one key. */
export function keySort(key: string): string {
  return `${SORT.key}${bucketText(bucketOf(key))}#${key}`;
}

/** The key a `key#` sort key names. */
export function keyOfSort(sort: string): string {
  return sort.slice(SORT.key.length + 3);
}

/** The bucket a snapshot row's sort key names. */
export function bucketOfSnapshotSort(sort: string): number {
  return Number.parseInt(sort.slice(0, 2), 16);
}

/** Consecutive runs of the given buckets (ascending), as inclusive [first, last] pairs. */
export function bucketRuns(buckets: Iterable<number>): Array<readonly [number, number]> {
  const runs: Array<[number, number]> = [];
  for (const bucket of [...buckets].sort((a, b) => a - b)) {
    const last = runs.at(-1);
    if (last && last[1] === bucket - 1) last[1] = bucket;
    else if (bucket >= 0 && bucket < BUCKETS) runs.push([bucket, bucket]);
  }
  return runs;
}

/** The partition of a plugin's snapshot taken by one resync (resync ids never contain `#`). */
export function snapshotPartition(plugin: string, resyncId: string): string {
  return `snapshot#${resyncId}#${plugin}`;
}

/** The sort key of one row of a snapshot: a bucket's keys from one page (`part` splits large ones). */
export function snapshotSort(bucket: number, page: number, part: number): string {
  return `${bucketText(bucket)}#${String(page).padStart(8, '0')}-${part}`;
}

/**
 * The inclusive sort-key range of buckets `first` to `last` under a prefix (`key#` for key rows,
 * none for snapshot rows): a bucket's rows all start with `<prefix><bucket>#`, and `$` sorts
 * right after `#`.
 */
export function bucketRange(prefix: string, first: number, last: number): readonly [string, string] {
  return [`${prefix}${bucketText(first)}#`, `${prefix}${bucketText(last)}$`];
}

const REVISION_DIGITS = 64;

/**
 * Revisions are stored left-padded to a fixed width so that DynamoDB's string order is their
 * numeric order (numbers cannot hold 40-digit stream sequence numbers exactly).
 */
export function padRevision(revision: Revision): string {
  return toRevision(revision).padStart(REVISION_DIGITS, '0');
}

/** The revision a padded text stands for. */
export function unpadRevision(text: string): Revision {
  return toRevision(text);
}

let arrivals = 0;

/**
 * A sort key that orders held changes by arrival: milliseconds, a per-process counter, and a
 * random tail so two processes writing in the same millisecond never collide.
 */
export function heldSort(now: number = Date.now()): string {
  arrivals = (arrivals + 1) % 1_000_000;
  const random = Math.floor(Math.random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
  return `${SORT.held}${String(now).padStart(15, '0')}#${String(arrivals).padStart(6, '0')}#${random}`;
}
