import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type AttributeValue,
  type QueryCommandInput,
  type WriteRequest,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../aws/clients.ts';
import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import { chunk, forEachConcurrently } from '../aws/batch.ts';
import { DEFAULT_RETRY_POLICY, sendWithRetry, type EntryFailure } from '../aws/retry.ts';
import { StateFailedError } from '../errors.ts';
import type { FeedbackError } from '../feedback/record.ts';
import type { Change } from '../model/change.ts';
import type { Revision } from '../model/revision.ts';
import { toPluginState, type PluginState } from './status.ts';
import {
  SORT,
  bucketOf,
  bucketOfSnapshotSort,
  bucketRange,
  bucketRuns,
  heldSort,
  keyOfSort,
  keySort,
  padRevision,
  pluginPartition,
  snapshotPartition,
  stateTableName,
  unpadRevision,
} from './table.ts';

/** A row of the state table. */
export type StateRow = Record<string, AttributeValue>;

/** Where the sync state lives and how it is reached. */
export interface SyncStateOptions {
  /** The state table; default `DATASYNC_STATE_TABLE`. */
  readonly stateTable?: string;
  /** AWS clients (only `dynamodb` is used); default the process-wide ones. */
  readonly clients?: Partial<AwsClients>;
  /** BatchWriteItem calls in flight at once when writing many rows; default 4. */
  readonly writeConcurrency?: number;
}

/** What a plugin holds for one key: the revision (when known) and whether the key exists for it. */
export interface HeldKey {
  readonly revision?: Revision;
  /** False for a tombstone: the plugin saw the key deleted. */
  readonly present: boolean;
  /**
   * When it was recorded (milliseconds since the epoch). A key row and a snapshot entry of the
   * same key are two records of it; the later one is what the plugin holds.
   */
  readonly at?: number;
  /**
   * For a key row: the snapshot that was current when it was written. Such a row is newer than
   * anything in that snapshot, whatever the clocks of the hosts that wrote them say.
   */
  readonly under?: string;
}

/** One key record to write: the plugin now holds `revision` for `key`, or saw it deleted. */
export interface KeyRecord {
  readonly key: string;
  readonly revision?: Revision;
  readonly present: boolean;
}

/** A key a resync handed over, as its snapshot records it. */
export interface SnapshotKey {
  readonly revision?: Revision;
  /** When the page holding it was recorded. */
  readonly at: number;
}

const BATCH_GET_LIMIT = 100;
/** Snapshot keys kept in memory per store, for lookups (whole buckets are kept or dropped). */
const SNAPSHOT_CACHE_KEYS = 200_000;
const BATCH_WRITE_LIMIT = 25;
const TRANSACTION_LIMIT = 100;

type UpdateInput = Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName' | 'Key'>;
type QueryInput = Omit<QueryCommandInput, 'TableName' | 'ConsistentRead' | 'ExclusiveStartKey'>;

/**
 * The state table as the resync's and the status listing's operations reach it (internal: not
 * exported from the package). Each call fails with `StateFailedError`.
 */
export interface StateTable {
  readonly dynamodb: DynamoDBClient;
  readonly name: string;
  readonly writeConcurrency: number;
  call<T>(action: string, send: () => Promise<T>): Promise<T>;
  /** Updates a plugin's status row; with `conditional`, a failed condition answers undefined. */
  update(plugin: string, action: string, input: UpdateInput, conditional?: boolean): Promise<StateRow | undefined>;
  /** Every row a consistent Query finds, page by page. */
  queryAll(action: string, input: QueryInput, each: (row: StateRow) => void): Promise<void>;
  /** Every row of a partition with a sort key in the inclusive range. */
  queryRange(
    partition: string,
    range: readonly [string, string],
    action: string,
    each: (row: StateRow) => void,
  ): Promise<void>;
  /** BatchWriteItem, 25 requests a call, unprocessed ones retried. */
  batchWrite(requests: readonly WriteRequest[]): Promise<void>;
}

const TABLES = new WeakMap<SyncStateStore, StateTable>();

/** The table behind a store, for operations kept out of the store class. */
export function stateTableOf(store: SyncStateStore): StateTable {
  return TABLES.get(store)!;
}

/**
 * The sync-state table as every delivery uses it: plugin status, what a plugin holds per key,
 * held changes, failure counts. (What only a resync writes lives in `lib/resync/state-rows.ts`.)
 * Every method either does what it says or throws `StateFailedError` with the SDK error as cause;
 * unprocessed batch items are retried with backoff.
 */
export class SyncStateStore {
  /** The state table's name. */
  readonly tableName: string;
  readonly #dynamodb: DynamoDBClient;
  readonly #writeConcurrency: number;
  // Buckets of finished snapshots by plugin, snapshot and bucket. A snapshot never changes once
  // it is a plugin's current one, so its buckets can be kept as long as memory allows.
  readonly #buckets = new Map<string, Map<string, SnapshotKey>>();
  #cachedKeys = 0;

  constructor(options: SyncStateOptions = {}) {
    this.tableName = stateTableName(options.stateTable);
    this.#dynamodb = options.clients?.dynamodb ?? dynamoDbClient();
    this.#writeConcurrency = Math.max(1, options.writeConcurrency ?? 4);
    TABLES.set(this, {
      dynamodb: this.#dynamodb,
      name: this.tableName,
      writeConcurrency: this.#writeConcurrency,
      call: (action, send) => this.#call(action, send),
      update: (plugin, action, input, conditional) => this.#update(plugin, action, input, conditional),
      queryAll: (action, input, each) => this.#queryAll(action, input, each),
      queryRange: (partition, range, action, each) => this.#queryRange(partition, range, action, each),
      batchWrite: (requests) => this.#batchWrite(requests),
    });
  }

  /** The status row of a plugin (strongly consistent), or undefined when it never synced. */
  async status(plugin: string): Promise<StateRow | undefined> {
    const result = await this.#call(`read the status of ${plugin}`, () =>
      this.#dynamodb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: rowKey(pluginPartition(plugin), SORT.status),
          ConsistentRead: true,
        }),
      ),
    );
    return result.Item;
  }

  /** The state of each named plugin, in the order given. */
  async states(plugins: readonly string[]): Promise<PluginState[]> {
    const rows = await this.#batchGet(plugins.map((plugin) => ({ pk: pluginPartition(plugin), sk: SORT.status })));
    return plugins.map((plugin) => toPluginState(plugin, rows.get(rowId(pluginPartition(plugin), SORT.status))));
  }

  /**
   * The plugin's status row and what it holds for each key given: the later of the key's row and
   * its entry in the plugin's current snapshot (or in `snapshot`: a resync applying the changes
   * held during it reads its own, before it becomes current). Key rows and the status row are
   * read with BatchGetItem; a snapshot's buckets with one Query each, then kept in memory.
   */
  async heldKeys(
    plugin: string,
    keys: Iterable<string>,
    options: { snapshot?: string } = {},
  ): Promise<{
    status: StateRow | undefined;
    keys: Map<string, HeldKey>;
  }> {
    const partition = pluginPartition(plugin);
    const unique = [...new Set(keys)];
    const rows = await this.#batchGet([
      { pk: partition, sk: SORT.status },
      ...unique.map((key) => ({ pk: partition, sk: keySort(key) })),
    ]);
    const status = rows.get(rowId(partition, SORT.status));
    const held = new Map<string, HeldKey>();
    for (const row of rows.values()) {
      const sort = row.sk?.S ?? '';
      if (sort.startsWith(SORT.key)) held.set(keyOfSort(sort), toHeldKey(row));
    }
    const snapshot = options.snapshot ?? status?.snapshotId?.S;
    if (snapshot !== undefined && unique.length > 0) {
      const buckets = await this.#snapshotBuckets(plugin, snapshot, new Set(unique.map(bucketOf)));
      for (const key of unique) {
        const entry = buckets.get(bucketOf(key))?.get(key);
        const row = held.get(key);
        if (entry && (row === undefined || (row.under !== snapshot && (row.at ?? 0) < entry.at)))
          held.set(key, snapshotHeld(entry));
      }
    }
    return { status, keys: held };
  }

  /**
   * The keys a snapshot holds in the given buckets (the latest record of each), by bucket: one
   * Query per run of consecutive buckets, a few at once.
   */
  async snapshotKeys(
    plugin: string,
    resyncId: string,
    buckets: Iterable<number>,
  ): Promise<Map<number, Map<string, SnapshotKey>>> {
    const found = new Map<number, Map<string, SnapshotKey>>();
    for (const bucket of buckets) found.set(bucket, new Map());
    await forEachConcurrently(bucketRuns(found.keys()), 8, async ([first, last]) => {
      await this.#queryRange(
        snapshotPartition(plugin, resyncId),
        bucketRange('', first, last),
        `read the snapshot of ${plugin}`,
        (row) => {
          addSnapshotRow(found.get(bucketOfSnapshotSort(row.sk!.S!))!, row);
        },
      );
    });
    return found;
  }

  /**
   * Writes key records with BatchWriteItem, 25 rows a call. `under` is the plugin's snapshot the
   * records follow (the one current when the changes were planned), if any.
   */
  async writeKeys(plugin: string, records: readonly KeyRecord[], under?: string): Promise<void> {
    const partition = pluginPartition(plugin);
    const at = { N: String(Date.now()) };
    const snapshot: StateRow = under === undefined ? {} : { under: { S: under } };
    await this.#batchWrite(
      records.map((record) => ({
        PutRequest: {
          Item: {
            ...rowKey(partition, keySort(record.key)),
            present: { BOOL: record.present },
            ...(record.revision === undefined ? {} : { rev: { S: padRevision(record.revision) } }),
            at,
            ...snapshot,
          },
        },
      })),
    );
  }

  /**
   * Holds changes for a plugin that is not in sync, atomically with a check that it still is not
   * (so a change can never be held after the resync that would apply it has finished).
   * @returns false, holding nothing, when the plugin turned `in-sync` meanwhile.
   */
  async hold(plugin: string, changes: readonly Change[]): Promise<boolean> {
    const partition = pluginPartition(plugin);
    for (let start = 0; start < changes.length; start += TRANSACTION_LIMIT - 1) {
      const chunk = changes.slice(start, start + TRANSACTION_LIMIT - 1);
      try {
        await this.#dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: this.tableName,
                  Key: rowKey(partition, SORT.status),
                  ConditionExpression: 'attribute_not_exists(#status) OR #status <> :in',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':in': { S: 'in-sync' } },
                },
              },
              ...chunk.map((change) => ({
                Put: {
                  TableName: this.tableName,
                  Item: { ...rowKey(partition, heldSort()), change: { S: JSON.stringify(change) } },
                },
              })),
            ],
          }),
        );
      } catch (error) {
        if (
          start === 0 &&
          error instanceof TransactionCanceledException &&
          error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
        )
          return false;
        throw new StateFailedError(`hold changes for ${plugin}`, error, { plugin });
      }
    }
    return true;
  }

  /** Counts one more failed change delivery and returns the count in a row. */
  async addFailure(plugin: string, error: FeedbackError): Promise<number> {
    const result = await this.#update(plugin, `count a failure of ${plugin}`, {
      UpdateExpression: 'ADD failures :one SET lastError = :error, updatedAt = :now',
      ExpressionAttributeValues: {
        ':one': { N: '1' },
        ':error': { S: JSON.stringify(error) },
        ':now': { S: new Date().toISOString() },
      },
      ReturnValues: 'UPDATED_NEW',
    });
    return Number(result?.failures?.N ?? 1);
  }

  /** Resets the failure count after a success (a no-op write is avoided when it is already 0). */
  async clearFailures(plugin: string): Promise<void> {
    await this.#update(
      plugin,
      `reset the failures of ${plugin}`,
      {
        UpdateExpression: 'SET failures = :zero',
        ConditionExpression: 'failures > :zero',
        ExpressionAttributeValues: { ':zero': { N: '0' } },
      },
      true,
    );
  }

  /**
   * Marks an `in-sync` plugin `out-of-sync`.
   * @returns false when it was not in sync (already out of sync or resyncing: nothing to do).
   */
  async markOutOfSync(plugin: string): Promise<boolean> {
    const result = await this.#update(
      plugin,
      `mark ${plugin} out of sync`,
      {
        UpdateExpression: 'SET #status = :out, updatedAt = :now',
        ConditionExpression: '#status = :in',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':out': { S: 'out-of-sync' },
          ':in': { S: 'in-sync' },
          ':now': { S: new Date().toISOString() },
        },
        ReturnValues: 'UPDATED_NEW',
      },
      true,
    );
    return result !== undefined;
  }

  async #update(
    plugin: string,
    action: string,
    input: UpdateInput,
    conditional = false,
  ): Promise<StateRow | undefined> {
    try {
      const result = await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: rowKey(pluginPartition(plugin), SORT.status),
          ...input,
        }),
      );
      return result.Attributes ?? {};
    } catch (error) {
      // A failed condition is an answer ("not applicable"), not a failure of the state table.
      if (conditional && error instanceof ConditionalCheckFailedException) return undefined;
      throw new StateFailedError(action, error, { plugin });
    }
  }

  async #call<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StateFailedError(action, error);
    }
  }

  async #queryAll(action: string, input: QueryInput, each: (row: StateRow) => void): Promise<void> {
    let startKey: StateRow | undefined;
    do {
      const page = await this.#call(action, () =>
        this.#dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            ...input,
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const row of page.Items ?? []) each(row);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async #queryRange(
    partition: string,
    [from, to]: readonly [string, string],
    action: string,
    each: (row: StateRow) => void,
  ): Promise<void> {
    await this.#queryAll(
      action,
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: partition }, ':from': { S: from }, ':to': { S: to } },
      },
      each,
    );
  }

  async #snapshotBuckets(
    plugin: string,
    resyncId: string,
    buckets: ReadonlySet<number>,
  ): Promise<Map<number, Map<string, SnapshotKey>>> {
    const found = new Map<number, Map<string, SnapshotKey>>();
    const missing: number[] = [];
    for (const bucket of buckets) {
      const cached = this.#buckets.get(`${plugin}\u0000${resyncId}\u0000${bucket}`);
      if (cached) found.set(bucket, cached);
      else missing.push(bucket);
    }
    for (const [bucket, keys] of await this.snapshotKeys(plugin, resyncId, missing)) {
      found.set(bucket, keys);
      this.#buckets.set(`${plugin}\u0000${resyncId}\u0000${bucket}`, keys);
      this.#cachedKeys += keys.size;
    }
    // Map order is insertion order: the oldest buckets go first.
    for (const [name, old] of this.#buckets) {
      if (this.#cachedKeys <= SNAPSHOT_CACHE_KEYS) break;
      this.#buckets.delete(name);
      this.#cachedKeys -= old.size;
    }
    return found;
  }

  async #batchGet(keys: ReadonlyArray<{ pk: string; sk: string }>): Promise<Map<string, StateRow>> {
    const rows = new Map<string, StateRow>();
    for (const batch of chunk(
      keys.map((key) => rowKey(key.pk, key.sk)),
      BATCH_GET_LIMIT,
    )) {
      const { failed } = await sendWithRetry(
        batch,
        async (pending) => {
          const result = await this.#dynamodb.send(
            new BatchGetItemCommand({
              RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
            }),
          );
          for (const row of result.Responses?.[this.tableName] ?? []) rows.set(rowId(row.pk!.S!, row.sk!.S!), row);
          return { delivered: [], failed: unprocessed(result.UnprocessedKeys?.[this.tableName]?.Keys) };
        },
        DEFAULT_RETRY_POLICY,
      );
      throwIfFailed('read rows', failed);
    }
    return rows;
  }

  async #batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    await forEachConcurrently(chunk(requests, BATCH_WRITE_LIMIT), this.#writeConcurrency, async (batch) => {
      const { failed } = await sendWithRetry(
        batch,
        async (pending) => {
          const result = await this.#dynamodb.send(
            new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
          );
          return { delivered: [], failed: unprocessed(result.UnprocessedItems?.[this.tableName]) };
        },
        DEFAULT_RETRY_POLICY,
      );
      throwIfFailed('write rows', failed);
    });
  }
}

// What a batch call left unprocessed is sent again (DynamoDB's answer to throttling).
function unprocessed<E>(entries: readonly E[] | undefined): EntryFailure<E>[] {
  return (entries ?? []).map((entry) => ({ entry, retryable: true, reason: 'left unprocessed' }));
}

function throwIfFailed<E>(action: string, failed: readonly EntryFailure<E>[]): void {
  const first = failed[0];
  if (first === undefined) return;
  throw new StateFailedError(action, first.cause ?? new Error(`${failed.length} item(s) failed: ${first.reason}`));
}

export function rowKey(pk: string, sk: string): Record<string, AttributeValue> {
  return { pk: { S: pk }, sk: { S: sk } };
}

function rowId(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

export function toHeldKey(row: StateRow): HeldKey {
  return {
    present: row.present?.BOOL ?? true,
    ...(row.rev?.S ? { revision: unpadRevision(row.rev.S) } : {}),
    ...(row.at?.N ? { at: Number(row.at.N) } : {}),
    ...(row.under?.S ? { under: row.under.S } : {}),
  };
}

function snapshotHeld(entry: SnapshotKey): HeldKey {
  return { present: true, at: entry.at, ...(entry.revision === undefined ? {} : { revision: entry.revision }) };
}

// A snapshot row's keys are a JSON list of [key] or [key, revision]. A key written twice (a page
// read again after a crash) keeps its latest record.
function addSnapshotRow(keys: Map<string, SnapshotKey>, row: StateRow): void {
  const at = Number(row.at?.N ?? 0);
  for (const [key, revision] of JSON.parse(row.keys?.S ?? '[]') as Array<[string, Revision?]>) {
    const known = keys.get(key);
    if (known === undefined || known.at <= at) keys.set(key, { at, ...(revision === undefined ? {} : { revision }) });
  }
}
