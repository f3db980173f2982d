import {
  BatchGetItemCommand, BatchWriteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, TransactWriteItemsCommand,
  UpdateItemCommand, DeleteItemCommand, ConditionalCheckFailedException, TransactionCanceledException,
  type AttributeValue, type QueryCommandInput, type WriteRequest, type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../aws/clients.ts';
import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import { chunk, forEachConcurrently } from '../aws/batch.ts';
import { DEFAULT_RETRY_POLICY, sendWithRetry, type EntryFailure } from '../aws/retry.ts';
import { StateFailedError } from '../errors.ts';
import type { FeedbackError } from '../feedback/record.ts';
import type { Change } from '../model/change.ts';
import type { Revision } from '../model/revision.ts';
import { snapshotOf, toPluginState, type PluginCursor, type PluginState } from './status.ts';
import {
  SORT, bucketOf, bucketRange, heldSort, keyOfSort, keySort, padRevision, pluginPartition, runPartition, snapshotPartition,
  snapshotSort, stateTableName, unpadRevision,
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

/** A change held for a plugin, with its row's sort key (for removal once applied). */
export interface HeldChange {
  readonly sort: string;
  readonly change: Change;
}

/** A resync run: the plugins it covers, in order, and how many of them are finished. */
export interface RunRow {
  readonly resyncId: string;
  readonly reason: string;
  readonly plugins: readonly string[];
  /** Index of the plugin being resynced (plugins before it are finished or failed). */
  readonly index: number;
  readonly startedAt: string;
}

const BATCH_GET_LIMIT = 100;
/** Characters of keys and revisions per snapshot row: at most 3 bytes each in UTF-8, so rows stay under DynamoDB's 400 KB. */
const SNAPSHOT_ROW_CHARS = 100_000;
/** Snapshot keys kept in memory per store, for lookups (whole buckets are kept or dropped). */
const SNAPSHOT_CACHE_KEYS = 200_000;
const PLUGIN_PARTITION = pluginPartition('');
const BATCH_WRITE_LIMIT = 25;
const TRANSACTION_LIMIT = 100;

/**
 * The sync-state table's operations. Every method either does what it says or throws
 * `StateFailedError` with the SDK error as cause; unprocessed batch items are retried with backoff.
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
  }

  /** The status row of a plugin (strongly consistent), or undefined when it never synced. */
  async status(plugin: string): Promise<StateRow | undefined> {
    const result = await this.#call('read the status of ' + plugin, () => this.#dynamodb.send(new GetItemCommand({
      TableName: this.tableName, Key: rowKey(pluginPartition(plugin), SORT.status), ConsistentRead: true,
    })));
    return result.Item;
  }

  /** The state of each named plugin, in the order given. */
  async states(plugins: readonly string[]): Promise<PluginState[]> {
    const rows = await this.#batchGet(plugins.map((plugin) => ({ pk: pluginPartition(plugin), sk: SORT.status })));
    return plugins.map((plugin) => toPluginState(plugin, rows.get(rowId(pluginPartition(plugin), SORT.status))));
  }

  /**
   * The state of every plugin that has a status row (a plugin that never synced has none), by
   * name; with `resyncId`, only the plugins whose last or running resync is that one. There is no
   * index of plugins, so this scans the whole table (key rows too): for status displays, not for
   * hot paths; `states(names)` reads named plugins directly.
   */
  async allStates(filter: { resyncId?: string } = {}): Promise<PluginState[]> {
    const states: PluginState[] = [];
    let startKey: StateRow | undefined;
    do {
      const page = await this.#call('list the plugins', () => this.#dynamodb.send(new ScanCommand({
        TableName: this.tableName,
        FilterExpression: filter.resyncId === undefined ? 'sk = :status' : 'sk = :status AND resyncId = :id',
        ExpressionAttributeValues: { ':status': { S: SORT.status }, ...(filter.resyncId === undefined ? {} : { ':id': { S: filter.resyncId } }) },
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      })));
      for (const row of page.Items ?? []) {
        const partition = row.pk?.S ?? '';
        if (partition.startsWith(PLUGIN_PARTITION)) states.push(toPluginState(partition.slice(PLUGIN_PARTITION.length), row));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return states.sort((a, b) => (a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0));
  }

  /**
   * The plugin's status row and what it holds for each key given: the later of the key's row and
   * its entry in the plugin's current snapshot (or in `snapshot`: a resync applying the changes
   * held during it reads its own, before it becomes current). Key rows and the status row are
   * read with BatchGetItem; a snapshot's buckets with one Query each, then kept in memory.
   */
  async heldKeys(plugin: string, keys: Iterable<string>, options: { snapshot?: string } = {}): Promise<{
    status: StateRow | undefined; keys: Map<string, HeldKey>;
  }> {
    const partition = pluginPartition(plugin);
    const unique = [...new Set(keys)];
    const rows = await this.#batchGet([{ pk: partition, sk: SORT.status }, ...unique.map((key) => ({ pk: partition, sk: keySort(key) }))]);
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
        if (entry && (row === undefined || (row.under !== snapshot && (row.at ?? 0) < entry.at))) held.set(key, snapshotHeld(entry));
      }
    }
    return { status, keys: held };
  }

  /**
   * Records the keys a resync handed over on one page of its snapshot: one row per bucket the
   * page's keys fall in. Writing the same page again replaces its rows.
   */
  async writeSnapshotPage(plugin: string, resyncId: string, page: number, entries: ReadonlyArray<{ key: string; revision?: Revision }>): Promise<void> {
    const byBucket = new Map<number, Array<[string] | [string, Revision]>>();
    for (const { key, revision } of entries) {
      const bucket = bucketOf(key);
      let list = byBucket.get(bucket);
      if (!list) byBucket.set(bucket, (list = []));
      list.push(revision === undefined ? [key] : [key, revision]);
    }
    const partition = snapshotPartition(plugin, resyncId);
    const at = { N: String(Date.now()) };
    const requests: WriteRequest[] = [];
    for (const [bucket, list] of byBucket) {
      for (const [part, text] of splitJson(list, SNAPSHOT_ROW_CHARS).entries()) {
        requests.push({ PutRequest: { Item: { ...rowKey(partition, snapshotSort(bucket, page, part)), keys: { S: text }, at } } });
      }
    }
    await this.#batchWrite(requests);
  }

  /** The keys a snapshot holds in buckets `first` to `last` (the latest record of each). */
  async snapshotKeys(plugin: string, resyncId: string, first: number, last: number): Promise<Map<string, SnapshotKey>> {
    const keys = new Map<string, SnapshotKey>();
    await this.#queryRange(snapshotPartition(plugin, resyncId), bucketRange('', first, last), 'read the snapshot of ' + plugin, (row) => addSnapshotRow(keys, row));
    return keys;
  }

  /** The plugin's key rows in buckets `first` to `last`. */
  async keyRows(plugin: string, first: number, last: number): Promise<Map<string, HeldKey>> {
    const keys = new Map<string, HeldKey>();
    await this.#queryRange(pluginPartition(plugin), bucketRange(SORT.key, first, last), 'read the key rows of ' + plugin, (row) => {
      keys.set(keyOfSort(row.sk!.S!), toHeldKey(row));
    });
    return keys;
  }

  /** The plugin's key rows recorded at or after `since` (milliseconds since the epoch). */
  async keyRowsSince(plugin: string, since: number): Promise<Map<string, HeldKey>> {
    const keys = new Map<string, HeldKey>();
    await this.#queryAll('read the recent key rows of ' + plugin, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :key)',
      FilterExpression: '#at >= :since',
      ExpressionAttributeNames: { '#at': 'at' },
      ExpressionAttributeValues: { ':pk': { S: pluginPartition(plugin) }, ':key': { S: SORT.key }, ':since': { N: String(since) } },
    }, (row) => keys.set(keyOfSort(row.sk!.S!), toHeldKey(row)));
    return keys;
  }

  /**
   * Removes the plugin's snapshots other than those named (the current one and the running
   * one): older ones and those of resyncs that never finished. The status row lists them.
   */
  async removeSnapshots(plugin: string, keep: readonly string[]): Promise<void> {
    const listed = (await this.status(plugin))?.snapshots?.SS ?? [];
    for (const resyncId of listed.filter((id) => !keep.includes(id))) {
      const partition = snapshotPartition(plugin, resyncId);
      const rows: WriteRequest[] = [];
      await this.#queryAll('list the snapshot rows of ' + plugin, {
        KeyConditionExpression: 'pk = :pk', ProjectionExpression: 'sk', ExpressionAttributeValues: { ':pk': { S: partition } },
      }, (row) => rows.push({ DeleteRequest: { Key: rowKey(partition, row.sk!.S!) } }));
      await this.#batchWrite(rows);
      await this.#update(plugin, 'forget a snapshot of ' + plugin, {
        UpdateExpression: 'DELETE #snapshots :id', ExpressionAttributeNames: { '#snapshots': 'snapshots' }, ExpressionAttributeValues: { ':id': { SS: [resyncId] } },
      });
    }
  }

  /**
   * Writes key records with BatchWriteItem, 25 rows a call. `under` is the plugin's snapshot the
   * records follow (the one current when the changes were planned), if any.
   */
  async writeKeys(plugin: string, records: readonly KeyRecord[], under?: string): Promise<void> {
    const partition = pluginPartition(plugin);
    const at = { N: String(Date.now()) };
    const snapshot: StateRow = under === undefined ? {} : { under: { S: under } };
    await this.#batchWrite(records.map((record) => ({
      PutRequest: {
        Item: {
          ...rowKey(partition, keySort(record.key)),
          present: { BOOL: record.present },
          ...(record.revision === undefined ? {} : { rev: { S: padRevision(record.revision) } }),
          at,
          ...snapshot,
        },
      },
    })));
  }

  /**
   * Removes key rows, each only if it is still the one read (its `at` unchanged), so a row a
   * delivery has just rewritten is kept.
   */
  async deleteKeyRows(plugin: string, rows: ReadonlyArray<{ key: string; at?: number }>): Promise<void> {
    const partition = pluginPartition(plugin);
    await forEachConcurrently(rows, this.#writeConcurrency, async ({ key, at }) => {
      try {
        await this.#dynamodb.send(new DeleteItemCommand({
          TableName: this.tableName, Key: rowKey(partition, keySort(key)),
          ...(at === undefined
            ? { ConditionExpression: 'attribute_not_exists(#at)', ExpressionAttributeNames: { '#at': 'at' } }
            : { ConditionExpression: '#at = :at', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':at': { N: String(at) } } }),
        }));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return;
        throw new StateFailedError('remove the key row of ' + key, error, { plugin });
      }
    });
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
        await this.#dynamodb.send(new TransactWriteItemsCommand({
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
              Put: { TableName: this.tableName, Item: { ...rowKey(partition, heldSort()), change: { S: JSON.stringify(change) } } },
            })),
          ],
        }));
      } catch (error) {
        if (start === 0 && error instanceof TransactionCanceledException
          && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
        throw new StateFailedError(`hold changes for ${plugin}`, error, { plugin });
      }
    }
    return true;
  }

  /** One page of a plugin's held changes in arrival order. */
  async heldChanges(plugin: string, limit = 100): Promise<HeldChange[]> {
    const result = await this.#call('read the held changes of ' + plugin, () => this.#dynamodb.send(new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :held)',
      ExpressionAttributeValues: { ':pk': { S: pluginPartition(plugin) }, ':held': { S: SORT.held } },
      ConsistentRead: true,
      Limit: limit,
    })));
    return (result.Items ?? []).map((row) => ({ sort: row.sk!.S!, change: JSON.parse(row.change!.S!) as Change }));
  }

  /** Removes held changes once applied. */
  async releaseHeld(plugin: string, sorts: readonly string[]): Promise<void> {
    const partition = pluginPartition(plugin);
    await this.#batchWrite(sorts.map((sort) => ({ DeleteRequest: { Key: rowKey(partition, sort) } })));
  }

  /**
   * Marks a plugin `resyncing` with its cursor (the changes that arrive from now on are held), and
   * lists the resync's snapshot among the plugin's.
   */
  async saveCursor(plugin: string, cursor: PluginCursor): Promise<void> {
    await this.#update(plugin, 'save the resync checkpoint of ' + plugin, {
      UpdateExpression: 'SET #status = :status, resyncId = :id, startedAt = :started, checkpoint = :cursor, updatedAt = :now ADD #snapshots :snapshot',
      ExpressionAttributeNames: { '#status': 'status', '#snapshots': 'snapshots' },
      ExpressionAttributeValues: {
        ':status': { S: 'resyncing' }, ':id': { S: cursor.resyncId }, ':snapshot': { SS: [snapshotOf(cursor)] },
        ':started': { S: new Date(cursor.startedAt).toISOString() }, ':cursor': { S: JSON.stringify(cursor) },
        ':now': { S: new Date().toISOString() },
      },
    });
  }

  /**
   * Records a finished resync: the plugin is `in-sync`, its snapshot is the current one, its
   * failures and checkpoint are cleared.
   */
  async finishResync(plugin: string, result: { resyncId: string; snapshot?: string; startedAt: number; items: number; deleted: number }): Promise<void> {
    await this.#update(plugin, 'record the resync of ' + plugin, {
      UpdateExpression: 'SET #status = :status, resyncId = :id, snapshotId = :snapshot, startedAt = :started, finishedAt = :now, itemCount = :items, deletedCount = :deleted, failures = :zero, updatedAt = :now REMOVE checkpoint, lastError',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':status': { S: 'in-sync' }, ':id': { S: result.resyncId }, ':snapshot': { S: result.snapshot ?? result.resyncId }, ':started': { S: new Date(result.startedAt).toISOString() },
        ':now': { S: new Date().toISOString() }, ':items': { N: String(result.items) }, ':deleted': { N: String(result.deleted) },
        ':zero': { N: '0' },
      },
    });
  }

  /**
   * Records a failed resync: the plugin is `out-of-sync` with the error; the checkpoint stays, so
   * a retry of the same resync id resumes after the last page the plugin finished.
   */
  async failResync(plugin: string, resyncId: string, error: FeedbackError): Promise<void> {
    await this.#update(plugin, 'record the failed resync of ' + plugin, {
      UpdateExpression: 'SET #status = :status, resyncId = :id, finishedAt = :now, lastError = :error, updatedAt = :now',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':status': { S: 'out-of-sync' }, ':id': { S: resyncId }, ':now': { S: new Date().toISOString() },
        ':error': { S: JSON.stringify(error) },
      },
    });
  }

  /** Counts one more failed change delivery and returns the count in a row. */
  async addFailure(plugin: string, error: FeedbackError): Promise<number> {
    const result = await this.#update(plugin, 'count a failure of ' + plugin, {
      UpdateExpression: 'ADD failures :one SET lastError = :error, updatedAt = :now',
      ExpressionAttributeValues: { ':one': { N: '1' }, ':error': { S: JSON.stringify(error) }, ':now': { S: new Date().toISOString() } },
      ReturnValues: 'UPDATED_NEW',
    });
    return Number(result?.failures?.N ?? 1);
  }

  /** Resets the failure count after a success (a no-op write is avoided when it is already 0). */
  async clearFailures(plugin: string): Promise<void> {
    await this.#update(plugin, 'reset the failures of ' + plugin, {
      UpdateExpression: 'SET failures = :zero',
      ConditionExpression: 'failures > :zero',
      ExpressionAttributeValues: { ':zero': { N: '0' } },
    }, true);
  }

  /**
   * Marks an `in-sync` plugin `out-of-sync`.
   * @returns false when it was not in sync (already out of sync or resyncing: nothing to do).
   */
  async markOutOfSync(plugin: string): Promise<boolean> {
    const result = await this.#update(plugin, 'mark ' + plugin + ' out of sync', {
      UpdateExpression: 'SET #status = :out, updatedAt = :now',
      ConditionExpression: '#status = :in',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':out': { S: 'out-of-sync' }, ':in': { S: 'in-sync' }, ':now': { S: new Date().toISOString() } },
      ReturnValues: 'UPDATED_NEW',
    }, true);
    return result !== undefined;
  }

  /** The run row of a resync, if it exists. */
  async run(resyncId: string): Promise<RunRow | undefined> {
    const result = await this.#call('read resync ' + resyncId, () => this.#dynamodb.send(new GetItemCommand({
      TableName: this.tableName, Key: rowKey(runPartition(resyncId), SORT.run), ConsistentRead: true,
    })));
    return result.Item?.run?.S ? (JSON.parse(result.Item.run.S) as RunRow) : undefined;
  }

  /** Saves a run row. */
  async saveRun(run: RunRow): Promise<void> {
    await this.#call('save resync ' + run.resyncId, () => this.#dynamodb.send(new PutItemCommand({
      TableName: this.tableName,
      Item: { ...rowKey(runPartition(run.resyncId), SORT.run), run: { S: JSON.stringify(run) } },
    })));
  }

  /** Removes a finished run's row. */
  async deleteRun(resyncId: string): Promise<void> {
    await this.#call('remove resync ' + resyncId, () => this.#dynamodb.send(new DeleteItemCommand({
      TableName: this.tableName, Key: rowKey(runPartition(resyncId), SORT.run),
    })));
  }

  async #update(
    plugin: string, action: string,
    input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName' | 'Key'>,
    conditional = false,
  ): Promise<StateRow | undefined> {
    try {
      const result = await this.#dynamodb.send(new UpdateItemCommand({
        TableName: this.tableName, Key: rowKey(pluginPartition(plugin), SORT.status), ...input,
      }));
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

  async #queryAll(action: string, input: Omit<QueryCommandInput, 'TableName' | 'ConsistentRead' | 'ExclusiveStartKey'>, each: (row: StateRow) => void): Promise<void> {
    let startKey: StateRow | undefined;
    do {
      const page = await this.#call(action, () => this.#dynamodb.send(new QueryCommand({
        TableName: this.tableName, ...input, ConsistentRead: true, ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      })));
      for (const row of page.Items ?? []) each(row);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async #queryRange(partition: string, [from, to]: readonly [string, string], action: string, each: (row: StateRow) => void): Promise<void> {
    await this.#queryAll(action, {
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': { S: partition }, ':from': { S: from }, ':to': { S: to } },
    }, each);
  }

  async #snapshotBuckets(plugin: string, resyncId: string, buckets: ReadonlySet<number>): Promise<Map<number, Map<string, SnapshotKey>>> {
    const found = new Map<number, Map<string, SnapshotKey>>();
    const missing: number[] = [];
    for (const bucket of buckets) {
      const cached = this.#buckets.get(`${plugin}\u0000${resyncId}\u0000${bucket}`);
      if (cached) found.set(bucket, cached);
      else missing.push(bucket);
    }
    await forEachConcurrently(missing, 8, async (bucket) => {
      const keys = await this.snapshotKeys(plugin, resyncId, bucket, bucket);
      found.set(bucket, keys);
      this.#buckets.set(`${plugin}\u0000${resyncId}\u0000${bucket}`, keys);
      this.#cachedKeys += keys.size;
      // Map order is insertion order: the oldest buckets go first.
      for (const [name, old] of this.#buckets) {
        if (this.#cachedKeys <= SNAPSHOT_CACHE_KEYS) break;
        this.#buckets.delete(name);
        this.#cachedKeys -= old.size;
      }
    });
    return found;
  }

  async #batchGet(keys: ReadonlyArray<{ pk: string; sk: string }>): Promise<Map<string, StateRow>> {
    const rows = new Map<string, StateRow>();
    for (const batch of chunk(keys.map((key) => rowKey(key.pk, key.sk)), BATCH_GET_LIMIT)) {
      const { failed } = await sendWithRetry(batch, async (pending) => {
        const result = await this.#dynamodb.send(new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }));
        for (const row of result.Responses?.[this.tableName] ?? []) rows.set(rowId(row.pk!.S!, row.sk!.S!), row);
        return { delivered: [], failed: unprocessed(result.UnprocessedKeys?.[this.tableName]?.Keys) };
      }, DEFAULT_RETRY_POLICY);
      throwIfFailed('read rows', failed);
    }
    return rows;
  }

  async #batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    await forEachConcurrently(chunk(requests, BATCH_WRITE_LIMIT), this.#writeConcurrency, async (batch) => {
      const { failed } = await sendWithRetry(batch, async (pending) => {
        const result = await this.#dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }));
        return { delivered: [], failed: unprocessed(result.UnprocessedItems?.[this.tableName]) };
      }, DEFAULT_RETRY_POLICY);
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

function rowKey(pk: string, sk: string): Record<string, AttributeValue> {
  return { pk: { S: pk }, sk: { S: sk } };
}

function rowId(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

function toHeldKey(row: StateRow): HeldKey {
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

/** JSON texts of consecutive slices of `list`, each at most about `limit` characters. */
function splitJson(list: readonly unknown[], limit: number): string[] {
  const texts: string[] = [];
  let slice: string[] = [];
  let length = 2;
  for (const element of list) {
    const text = JSON.stringify(element);
    if (slice.length > 0 && length + text.length + 1 > limit) {
      texts.push(`[${slice.join(',')}]`);
      slice = [];
      length = 2;
    }
    slice.push(text);
    length += text.length + 1;
  }
  if (slice.length > 0) texts.push(`[${slice.join(',')}]`);
  return texts;
}
