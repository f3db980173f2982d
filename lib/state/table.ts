import type { CreateTableInput } from '@aws-sdk/client-dynamodb';
import { DatasyncError } from '../errors.ts';
import { ENV } from '../config.ts';
import { toRevision, type Revision } from '../model/revision.ts';

/**
 * The layout of the sync-state table: one table, partition key `pk` and sort key `sk`, both
 * strings.
 *
 * | pk | sk | row |
 * |---|---|---|
 * | `plugin#<name>` | `status` | status, last resync, counts, last error, failures, checkpoint, snapshots, lease, layout |
 * | `plugin#<name>` | `digest#<snapshot>` | the per-bucket digest of the keys a resync handed over for a snapshot |
 * | `plugin#<name>` | `held#<arrival>` | a change held until the plugin's resync finishes |
 * | `keys#<h>` | `<bucket>#<key>` | one row per key, shared by every plugin: each plugin's position on the key (`p:<name>`), and the store's tombstone |
 * | `resync#<id>` | `run` | which plugins a resync covers and how far it got |
 * | `snapshot#<id>` | `<group>#<page>-<n>` | keys and versions a resync scanned: one row per key group per page |
 * | `snapshot#<id>` | `~meta` | for a snapshot shared by a run's plugins: the run and the plugins that may hold it |
 *
 * A key's row holds every plugin's position on it, so a delivery reads each key once and writes
 * it once, however many plugins watch it. Keys are spread over 256 buckets by a hash of the key,
 * and the buckets over 16 partitions (`h` is the bucket's first hex digit): a bucket's rows are
 * one range of one partition, which the resync's deletion sweep reads a range of buckets at a time.
 * What a plugin holds for a key is the later of its position in the key's row and its entry in the
 * plugin's current snapshot (the keys under the plugin's prefixes). Snapshot rows hold many keys
 * each, in 16 groups of 16 buckets (the same as the key-row partitions), so a resync writes at most
 * 16 rows per scanned page; each snapshot has its own partition, and one scan's snapshot can serve
 * every plugin of a run that reads the same tables.
 */
export const STATE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** The row kinds' sort keys and prefixes. */
export const SORT = { status: 'status', digest: 'digest#', held: 'held#', run: 'run', meta: '~meta' } as const;

/** The sort key of the row holding the digest of what a plugin was handed for a snapshot. */
export function digestSort(snapshot: string): string {
  return `${SORT.digest}${snapshot}`;
}

/**
 * The version of this layout, stored in every status row a resync writes (`layout`). A status row
 * without it was written by an earlier layout, which this one cannot read (see `checkLayout`).
 */
export const LAYOUT_VERSION = 3;

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

/** How many partitions key rows are spread over (16 buckets each). */
export const KEY_PARTITIONS = 16;

/** The partition of the key rows of a bucket. */
export function keyPartition(bucket: number): string {
  return `keys#${(bucket >> 4).toString(16)}`;
}

/** The sort key of a key's row: its bucket, then the key. */
export function keySort(key: string): string {
  return `${bucketText(bucketOf(key))}#${key}`;
}

/** The key a key row's sort key names. */
export function keyOfSort(sort: string): string {
  return sort.slice(3);
}

/** The primary key of a key's row. */
export function keyRowKey(key: string): { pk: string; sk: string } {
  return { pk: keyPartition(bucketOf(key)), sk: keySort(key) };
}

/** The attribute of a key row that holds one plugin's position on the key. */
export function positionAttribute(plugin: string): string {
  return `p:${plugin}`;
}

/** The plugin a position attribute names, or undefined for another attribute. */
export function pluginOfAttribute(name: string): string | undefined {
  return name.startsWith('p:') ? name.slice(2) : undefined;
}

/**
 * The key rows of buckets `first` to `last` (inclusive): per partition involved, its inclusive
 * sort-key range.
 */
export function keyRowRanges(
  first: number,
  last: number,
): Array<{ partition: string; range: readonly [string, string] }> {
  const ranges: Array<{ partition: string; range: readonly [string, string] }> = [];
  for (let part = first >> 4; part <= last >> 4; part += 1) {
    const from = Math.max(first, part * 16);
    const to = Math.min(last, part * 16 + 15);
    ranges.push({ partition: keyPartition(from), range: bucketRange('', from, to) });
  }
  return ranges;
}

/** How many groups of buckets snapshot rows are split into (16 buckets each, as key-row partitions). */
export const SNAPSHOT_GROUPS = 16;

/** The group of a bucket (its first hex digit). */
export function groupOf(bucket: number): number {
  return bucket >> 4;
}

/** The group a snapshot row's sort key names, or undefined for a row that holds no keys (`~meta`). */
export function groupOfSnapshotSort(sort: string): number | undefined {
  return sort[1] === '#' ? Number.parseInt(sort[0]!, 16) : undefined;
}

/** The inclusive sort-key range of the snapshot rows of groups `first` to `last`. */
export function groupRange(first: number, last: number): readonly [string, string] {
  return [`${first.toString(16)}#`, `${last.toString(16)}$`];
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

/** The partition of a snapshot's rows. */
export function snapshotPartition(snapshot: string): string {
  return `snapshot#${snapshot}`;
}

/** The sort key of one row of a snapshot: a group's keys from one page (`part` splits large ones). */
export function snapshotSort(group: number, page: number, part: number): string {
  return `${snapshotChunk(group, page)}-${part}`;
}

/** What the sort keys of a group's rows from one page begin with: they make one chunk. */
export function snapshotChunk(group: number, page: number): string {
  return `${group.toString(16)}#${String(page).padStart(8, '0')}`;
}

/** The chunk a snapshot row belongs to (its sort key without the part). */
export function chunkOfSnapshotSort(sort: string): string {
  return sort.slice(0, sort.lastIndexOf('-'));
}

/** A position in a snapshot's rows just past those of a chunk (`~` sorts after every part number). */
export function chunkEnd(chunk: string): string {
  return `${chunk}-~`;
}

/** A position in a snapshot's rows just past those of a group (`~` sorts after every page number). */
export function groupEnd(group: number): string {
  return `${group.toString(16)}#~`;
}

/**
 * The inclusive sort-key range of buckets `first` to `last` under a prefix (none for key and
 * snapshot rows): a bucket's rows all start with `<prefix><bucket>#`, and `$` sorts right after `#`.
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
