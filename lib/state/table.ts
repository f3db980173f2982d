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
 * | `plugin#<name>` | `status` | status, last resync, counts, last error, failures, checkpoint |
 * | `plugin#<name>` | `key#<key>` | the revision the plugin holds for a key (or a tombstone) |
 * | `plugin#<name>` | `held#<arrival>` | a change held until the plugin's resync finishes |
 * | `resync#<id>` | `run` | which plugins a resync covers and how far it got |
 */
export const STATE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** The row kinds' sort keys and prefixes. */
export const SORT = { status: 'status', key: 'key#', held: 'held#', run: 'run' } as const;

/**
 * The table definition the local runner and CloudFormation both create, so they cannot disagree.
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

/** The sort key of a plugin's row for one key. */
export function keySort(key: string): string {
  return `${SORT.key}${key}`;
}

/** The key a `key#` sort key names. */
export function keyOfSort(sort: string): string {
  return sort.slice(SORT.key.length);
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
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
  return `${SORT.held}${String(now).padStart(15, '0')}#${String(arrivals).padStart(6, '0')}#${random}`;
}
