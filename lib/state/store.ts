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
  parsePosition,
  snapshotTag,
  writePositions,
  type HeldKey,
  type KeyRecord,
  type PositionWrite,
} from './key-rows.ts';
import { keyMatchesPrefix } from '../model/key.ts';
import { decodeSnapshotRow } from './snapshot-rows.ts';
import { checkLayout, viewPrefixes } from './status.ts';
import {
  BUCKETS,
  SNAPSHOT_GROUPS,
  SORT,
  bucketOf,
  bucketRuns,
  groupOf,
  groupOfSnapshotSort,
  groupRange,
  heldSort,
  keyRowKey,
  pluginPartition,
  positionAttribute,
  snapshotPartition,
  stateTableName,
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

export type { HeldKey, KeyRecord } from './key-rows.ts';

/** A key a resync handed over, as its snapshot records it. */
export interface SnapshotKey {
  /** The item's version, when the table keeps one. */
  readonly version?: Revision;
  /** When the page holding it was recorded. */
  readonly at: number;
}

const BATCH_GET_LIMIT = 100;
/** Runs of missing snapshot groups past which the whole snapshot is read in one Query. */
const WHOLE_SNAPSHOT_RUNS = 4;
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
  // Buckets of finished snapshots by snapshot and bucket. A snapshot never changes once it is a
  // plugin's current one, so its buckets can be kept as long as memory allows.
  readonly #buckets = new Map<string, Map<string, SnapshotKey>>();
  #cachedKeys = 0;
  // Snapshot reads in flight, so plugins that share a snapshot wait for one read.
  readonly #reading = new Map<
    string,
    { buckets: ReadonlySet<number>; done: Promise<Map<number, Map<string, SnapshotKey>>> }
  >();

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
    const rows = await this.statusRows(plugins);
    return plugins.map((plugin, index) => toPluginState(plugin, rows[index]));
  }

  /** The status rows of the named plugins (strongly consistent), in the order given. */
  async statusRows(plugins: readonly string[]): Promise<Array<StateRow | undefined>> {
    const rows = await this.#batchGet(plugins.map((plugin) => ({ pk: pluginPartition(plugin), sk: SORT.status })));
    return plugins.map((plugin) => rows.get(rowId(pluginPartition(plugin), SORT.status)));
  }

  /**
   * Where each plugin stands: its status row, and what it holds for each of its keys. That is the
   * later of its position in the key's row and its entry in its current snapshot (or, for one
   * plugin, in `snapshot`, seen through `prefixes`: a resync applying the changes held during it
   * reads its own, before it becomes current). The status rows and the key rows are read together
   * with BatchGetItem, 100 rows a call; snapshot buckets come from memory, or are read once and
   * kept, once for every plugin that holds the same snapshot.
   * @throws DatasyncError `CONFIGURATION` when a status row was written by another layout.
   */
  async positions(
    shares: ReadonlyArray<{ plugin: string; keys: Iterable<string> }>,
    options: { snapshot?: string; prefixes?: readonly string[] } = {},
  ): Promise<Map<string, { status: StateRow | undefined; keys: Map<string, HeldKey> }>> {
    const wanted = shares.map(({ plugin, keys }) => ({ plugin, keys: [...new Set(keys)] }));
    const allKeys = [...new Set(wanted.flatMap((share) => share.keys))];
    const rows = await this.#batchGet([
      ...wanted.map(({ plugin }) => ({ pk: pluginPartition(plugin), sk: SORT.status })),
      ...allKeys.map((key) => keyRowKey(key)),
    ]);
    const result = new Map<string, { status: StateRow | undefined; keys: Map<string, HeldKey> }>();
    await Promise.all(
      wanted.map(async ({ plugin, keys }) => {
        const status = rows.get(rowId(pluginPartition(plugin), SORT.status));
        checkLayout(this.tableName, plugin, status);
        const held = new Map<string, HeldKey>();
        const attribute = positionAttribute(plugin);
        for (const key of keys) {
          const { pk, sk } = keyRowKey(key);
          const position = parsePosition(rows.get(rowId(pk, sk))?.[attribute]?.S);
          if (position) held.set(key, position);
        }
        const snapshot = options.snapshot ?? status?.snapshotId?.S;
        if (snapshot !== undefined && keys.length > 0) {
          // A snapshot can hold other plugins' keys too: the plugin holds those under the
          // prefixes it had when the snapshot was handed over.
          const view = options.snapshot === undefined ? viewPrefixes(status) : options.prefixes;
          const inView = (key: string) => view === undefined || view.some((prefix) => keyMatchesPrefix(key, prefix));
          const buckets = await this.#snapshotBuckets(snapshot, new Set(keys.filter(inView).map(bucketOf)));
          const tag = snapshotTag(snapshot);
          for (const key of keys) {
            const entry = inView(key) ? buckets.get(bucketOf(key))?.get(key) : undefined;
            const row = held.get(key);
            if (entry && (row === undefined || (row.under !== tag && (row.at ?? 0) < entry.at))) {
              held.set(key, snapshotHeld(entry, row));
            }
          }
        }
        result.set(plugin, { status, keys: held });
      }),
    );
    return result;
  }

  /** {@link positions} of one plugin. */
  async heldKeys(
    plugin: string,
    keys: Iterable<string>,
    options: { snapshot?: string; prefixes?: readonly string[] } = {},
  ): Promise<{ status: StateRow | undefined; keys: Map<string, HeldKey> }> {
    return (await this.positions([{ plugin, keys }], options)).get(plugin)!;
  }

  /**
   * The keys a snapshot holds in the given buckets (the latest record of each), by bucket: one
   * Query per run of consecutive groups (16 buckets each), a few at once, or with `whole` one
   * for the whole snapshot. Every bucket of the groups read is in the answer.
   */
  async snapshotKeys(
    snapshot: string,
    buckets: Iterable<number>,
    whole = false,
  ): Promise<Map<number, Map<string, SnapshotKey>>> {
    const found = new Map<number, Map<string, SnapshotKey>>();
    const groups = new Set<number>();
    for (const bucket of buckets) groups.add(groupOf(bucket));
    for (const group of whole ? Array.from({ length: SNAPSHOT_GROUPS }, (_, group) => group) : groups)
      for (let bucket = group * 16; bucket < group * 16 + 16; bucket += 1) found.set(bucket, new Map());
    const add = (row: StateRow) => {
      if (groupOfSnapshotSort(row.sk!.S!) === undefined) return;
      const at = Number(row.at?.N ?? 0);
      for (const [key, version] of decodeSnapshotRow(row)) {
        // A key recorded twice (a page read again after a crash) keeps its latest record.
        const keys = found.get(bucketOf(key))!;
        const known = keys.get(key);
        if (known === undefined || known.at <= at) keys.set(key, { at, ...(version === undefined ? {} : { version }) });
      }
    };
    const action = `read snapshot ${snapshot}`;
    if (whole) {
      await this.#queryAll(
        action,
        {
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: snapshotPartition(snapshot) } },
        },
        add,
      );
      return found;
    }
    await forEachConcurrently(bucketRuns(groups), 8, async ([first, last]) => {
      await this.#queryRange(snapshotPartition(snapshot), groupRange(first, last), action, add);
    });
    return found;
  }

  /**
   * Records a plugin's positions on keys, unconditionally (a resync, which alone writes the
   * positions of the plugin it runs). `under` is the plugin's snapshot the records follow.
   */
  async writeKeys(plugin: string, records: readonly KeyRecord[], under?: string): Promise<void> {
    if (records.length === 0) return;
    await writePositions(
      { dynamodb: this.#dynamodb, name: this.tableName },
      records.map((record) => ({ plugin, record, ...(under === undefined ? {} : { under }) })),
    );
  }

  /**
   * Records positions of several plugins at once, each conditional on what was read: one update
   * per key row.
   * @returns the writes refused because a position changed since it was read.
   */
  async commitPositions(writes: readonly PositionWrite[]): Promise<PositionWrite[]> {
    if (writes.length === 0) return [];
    return writePositions({ dynamodb: this.#dynamodb, name: this.tableName }, writes);
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
    snapshot: string,
    buckets: ReadonlySet<number>,
  ): Promise<Map<number, Map<string, SnapshotKey>>> {
    const found = new Map<number, Map<string, SnapshotKey>>();
    const missing: number[] = [];
    for (const bucket of buckets) {
      const cached = this.#buckets.get(`${snapshot}\u0000${bucket}`);
      if (cached) found.set(bucket, cached);
      else missing.push(bucket);
    }
    if (missing.length === 0) return found;
    // Plugins sharing a snapshot look it up at once: one read serves them all.
    const reading = this.#reading.get(snapshot);
    if (reading && missing.every((bucket) => reading.buckets.has(bucket))) {
      const read = await reading.done;
      for (const bucket of missing) found.set(bucket, read.get(bucket)!);
      return found;
    }
    // Many scattered groups (a cold container's first batch) cost one Query each; past a few,
    // reading the whole snapshot at once is fewer calls, and every bucket is then in memory.
    const whole = bucketRuns(new Set(missing.map(groupOf))).length > WHOLE_SNAPSHOT_RUNS;
    const done = this.snapshotKeys(snapshot, missing, whole);
    const entry = {
      buckets: whole ? new Set(Array.from({ length: BUCKETS }, (_, bucket) => bucket)) : new Set(missing),
      done,
    };
    this.#reading.set(snapshot, entry);
    let read: Map<number, Map<string, SnapshotKey>>;
    try {
      read = await done;
    } finally {
      if (this.#reading.get(snapshot) === entry) this.#reading.delete(snapshot);
    }
    for (const [bucket, keys] of read) {
      if (!found.has(bucket) && buckets.has(bucket)) found.set(bucket, keys);
      const name = `${snapshot}\u0000${bucket}`;
      if (this.#buckets.has(name)) continue;
      this.#buckets.set(name, keys);
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

/** A plugin's position in a key row, if it has one there. */
export function positionIn(row: StateRow, plugin: string): HeldKey | undefined {
  return parsePosition(row[positionAttribute(plugin)]?.S);
}

/**
 * What a plugin holds for a key from its snapshot: the item as the resync read it. The revision
 * of the position it replaces stays, so a stream record at or below it is still known as old.
 */
function snapshotHeld(entry: SnapshotKey, row: HeldKey | undefined): HeldKey {
  return {
    present: true,
    at: entry.at,
    fromSnapshot: true,
    ...(row?.revision === undefined ? {} : { revision: row.revision }),
    ...(entry.version === undefined ? {} : { version: entry.version }),
    // The key row's own text stays: a write of the position is conditional on it.
    ...(row?.stored === undefined ? {} : { stored: row.stored }),
  };
}
