import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { forEachConcurrently } from '../aws/batch.ts';
import { ResyncBusyError, StateFailedError } from '../errors.ts';
import type { FeedbackError } from '../feedback/record.ts';
import type { Change } from '../model/change.ts';
import type { Revision } from '../model/revision.ts';
import { snapshotOf, type PluginCursor } from '../state/status.ts';
import type { SnapshotDigest } from './digest.ts';
import {
  positionIn,
  rowKey,
  stateTableOf,
  type HeldKey,
  type StateRow,
  type StateTable,
  type SyncStateStore,
} from '../state/store.ts';
import {
  parkClause,
  recordedLease,
  releaseClause,
  renewClause,
  takeClause,
  unheldClause,
  withLease,
  type LeaseHold,
} from './lease.ts';
import { decodeSnapshotRow, encodeSnapshotRows, type SnapshotRecord } from '../state/snapshot-rows.ts';
import {
  BUCKETS,
  LAYOUT_VERSION,
  SORT,
  chunkOfSnapshotSort,
  digestSort,
  keyOfSort,
  keyRowKey,
  keyRowRanges,
  pluginPartition,
  positionAttribute,
  runPartition,
  snapshotPartition,
  snapshotSort,
} from '../state/table.ts';

/** A change held for a plugin, with its row's sort key (for removal once applied). */
export interface HeldChange {
  readonly sort: string;
  readonly change: Change;
}

/** A snapshot a run shares among its plugins that read the same tables. */
export interface SharedSnapshot {
  /** The run that scanned it. */
  readonly resyncId: string;
  /** The plugins that may hold it. */
  readonly plugins: readonly string[];
}

/** A resync run: the plugins it covers, in order, and how many of them are finished. */
export interface RunRow {
  readonly resyncId: string;
  readonly reason: string;
  readonly plugins: readonly string[];
  /** Index of the plugin being resynced (plugins before it are finished or failed). */
  readonly index: number;
  readonly startedAt: string;
  /** When the request that started the run was made, if it said (see `ResyncRequest.requestedAt`). */
  readonly requestedAt?: string;
  /** The snapshots the run shares among its plugins, released when it ends. */
  readonly shared?: readonly string[];
}

/** Takes of a lease tried when each refusal turns out to have been a lease freed meanwhile. */
const TAKE_ATTEMPTS = 3;

/**
 * The rows of the sync-state table only a resync writes: its cursor and outcome on the plugin's
 * status row, its snapshot, the deletion sweep's key rows, held changes and run rows. Kept apart
 * from `SyncStateStore` (what every delivery needs), so only the resync function carries them.
 * Every method either does what it says or throws `StateFailedError` with the SDK error as cause.
 */
export class ResyncRows {
  readonly #store: SyncStateStore;
  readonly #table: StateTable;

  constructor(store: SyncStateStore) {
    this.#store = store;
    this.#table = stateTableOf(store);
  }

  /**
   * Records the keys a resync scanned on one page: one row per key group the page's keys fall in.
   * Writing the same page again (after a crash before the checkpoint) overwrites the rows of the
   * groups it writes; a group only the crashed write had stays, so a key deleted in between looks
   * present until the next resync (its held delete still follows).
   */
  async writeSnapshotPage(
    snapshot: string,
    page: number,
    entries: ReadonlyArray<{ key: string; version?: Revision }>,
  ): Promise<void> {
    const partition = snapshotPartition(snapshot);
    const at = { N: String(Date.now()) };
    await this.#table.batchWrite(
      encodeSnapshotRows(
        entries.map(({ key, version }): SnapshotRecord => (version === undefined ? [key] : [key, version])),
      ).map(({ group, part, attributes }) => ({
        PutRequest: { Item: { ...rowKey(partition, snapshotSort(group, page, part)), ...attributes, at } },
      })),
    );
  }

  /** The plugin's positions in the key rows of buckets `first` to `last`. */
  async keyRows(plugin: string, first: number, last: number): Promise<Map<string, HeldKey>> {
    const keys = new Map<string, HeldKey>();
    for (const { partition, range } of keyRowRanges(first, last)) {
      await this.#table.queryAll(
        `read the key rows of ${plugin}`,
        {
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          FilterExpression: 'attribute_exists(#p)',
          ExpressionAttributeNames: { '#p': positionAttribute(plugin) },
          ExpressionAttributeValues: { ':pk': { S: partition }, ':from': { S: range[0] }, ':to': { S: range[1] } },
        },
        (row) => {
          const position = positionIn(row, plugin);
          if (position) keys.set(keyOfSort(row.sk!.S!), position);
        },
      );
    }
    return keys;
  }

  /**
   * The plugin's positions recorded at or after `since` (milliseconds since the epoch), in the key
   * rows of one group of buckets or of all of them.
   */
  async keyRowsSince(plugin: string, since: number, group?: number): Promise<Map<string, HeldKey>> {
    const recent = new Map<string, HeldKey>();
    const [first, last] = group === undefined ? [0, BUCKETS - 1] : [group * 16, group * 16 + 15];
    for (const [key, position] of await this.keyRows(plugin, first, last)) {
      if ((position.at ?? 0) >= since) recent.set(key, position);
    }
    return recent;
  }

  /**
   * The keys a snapshot records, chunk by chunk in the order of its rows (a chunk is one group's
   * rows from one page), from the position `after` on (see `chunkEnd`, `groupEnd`).
   */
  async *snapshotChunks(snapshot: string, after?: string): AsyncGenerator<{ name: string; records: SnapshotRecord[] }> {
    const partition = snapshotPartition(snapshot);
    // Rows sort by chunk then part; `$` sorts after every group's rows (and before `~meta`).
    const from = after ?? '0#';
    let startKey: StateRow | undefined;
    let current: { name: string; records: SnapshotRecord[] } | undefined;
    do {
      const page = await this.#table.call(`read snapshot ${snapshot}`, () =>
        this.#table.dynamodb.send(
          new QueryCommand({
            TableName: this.#table.name,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': { S: partition }, ':from': { S: from }, ':to': { S: 'f$' } },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const row of page.Items ?? []) {
        const name = chunkOfSnapshotSort(row.sk!.S!);
        if (current && current.name !== name) {
          yield current;
          current = undefined;
        }
        current ??= { name, records: [] };
        current.records.push(...decodeSnapshotRow(row));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    if (current) yield current;
  }

  /**
   * Removes the plugin's snapshots other than those named (the current one and the running
   * one): older ones and those of resyncs that never finished. The status row lists them. A
   * snapshot shared with other plugins is only forgotten by this one; its rows go with the last
   * plugin that forgets it (see `releaseShared`).
   */
  async removeSnapshots(plugin: string, keep: readonly string[]): Promise<void> {
    const listed = (await this.#store.status(plugin))?.snapshots?.SS ?? [];
    for (const snapshot of listed.filter((id) => !keep.includes(id))) {
      const shared = await this.#sharedMeta(snapshot);
      if (!shared) await this.#deleteSnapshot(snapshot);
      await this.#table.call(`forget a digest of ${plugin}`, () =>
        this.#table.dynamodb.send(
          new DeleteItemCommand({
            TableName: this.#table.name,
            Key: rowKey(pluginPartition(plugin), digestSort(snapshot)),
          }),
        ),
      );
      await this.#table.update(plugin, `forget a snapshot of ${plugin}`, {
        UpdateExpression: 'DELETE #snapshots :id',
        ExpressionAttributeNames: { '#snapshots': 'snapshots' },
        ExpressionAttributeValues: { ':id': { SS: [snapshot] } },
      });
      if (shared) await this.releaseShared(snapshot, shared);
    }
  }

  /**
   * Records a snapshot that a run shares among its plugins: the run, and the plugins that may
   * come to hold it. Written before any of its pages.
   */
  async createShared(snapshot: string, meta: SharedSnapshot): Promise<void> {
    await this.#table.call(`record shared snapshot ${snapshot}`, () =>
      this.#table.dynamodb.send(
        new PutItemCommand({
          TableName: this.#table.name,
          Item: {
            ...rowKey(snapshotPartition(snapshot), SORT.meta),
            resyncId: { S: meta.resyncId },
            plugins: { SS: [...meta.plugins] },
          },
        }),
      ),
    );
  }

  /**
   * Removes a shared snapshot's rows once nothing can hold it any more: its run has ended and none
   * of its plugins lists it (as its current snapshot or the one a resync of it is recording). Each
   * plugin forgets it before this looks, so of two plugins forgetting it at once, at least one
   * sees the other's done.
   */
  async releaseShared(snapshot: string, meta?: SharedSnapshot): Promise<void> {
    const shared = meta ?? (await this.#sharedMeta(snapshot));
    if (!shared) return;
    if (await this.run(shared.resyncId)) return;
    const states = await this.#table.call(`read the holders of snapshot ${snapshot}`, () =>
      this.#store.statusRows(shared.plugins),
    );
    if (states.some((row) => row?.snapshots?.SS?.includes(snapshot))) return;
    await this.#deleteSnapshot(snapshot);
  }

  async #deleteSnapshot(snapshot: string): Promise<void> {
    const partition = snapshotPartition(snapshot);
    const rows: WriteRequest[] = [];
    await this.#table.queryAll(
      `list the rows of snapshot ${snapshot}`,
      {
        KeyConditionExpression: 'pk = :pk',
        ProjectionExpression: 'sk',
        ExpressionAttributeValues: { ':pk': { S: partition } },
      },
      (row) => rows.push({ DeleteRequest: { Key: rowKey(partition, row.sk!.S!) } }),
    );
    await this.#table.batchWrite(rows);
  }

  async #sharedMeta(snapshot: string): Promise<SharedSnapshot | undefined> {
    const { Item } = await this.#table.call(`read snapshot ${snapshot}`, () =>
      this.#table.dynamodb.send(
        new GetItemCommand({
          TableName: this.#table.name,
          Key: rowKey(snapshotPartition(snapshot), SORT.meta),
          ConsistentRead: true,
        }),
      ),
    );
    return Item?.resyncId?.S ? { resyncId: Item.resyncId.S, plugins: Item.plugins?.SS ?? [] } : undefined;
  }

  /**
   * Removes the plugin's positions on keys, each only if it is still the one read, so a position
   * a delivery has just written is kept. (The key's row stays for the other plugins.)
   */
  async deleteKeyRows(plugin: string, rows: ReadonlyArray<{ key: string; stored?: string }>): Promise<void> {
    await forEachConcurrently(rows, this.#table.writeConcurrency, async ({ key, stored }) => {
      const { pk, sk } = keyRowKey(key);
      try {
        await this.#table.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.#table.name,
            Key: rowKey(pk, sk),
            UpdateExpression: 'REMOVE #p',
            ExpressionAttributeNames: { '#p': positionAttribute(plugin) },
            ...(stored === undefined
              ? { ConditionExpression: 'attribute_not_exists(#p)' }
              : { ConditionExpression: '#p = :stored', ExpressionAttributeValues: { ':stored': { S: stored } } }),
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return;
        throw new StateFailedError(`remove the position of ${plugin} on ${key}`, error, { plugin });
      }
    });
  }

  /** One page of a plugin's held changes in arrival order. */
  async heldChanges(plugin: string, limit = 100): Promise<HeldChange[]> {
    const result = await this.#table.call(`read the held changes of ${plugin}`, () =>
      this.#table.dynamodb.send(
        new QueryCommand({
          TableName: this.#table.name,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :held)',
          ExpressionAttributeValues: { ':pk': { S: pluginPartition(plugin) }, ':held': { S: SORT.held } },
          ConsistentRead: true,
          Limit: limit,
        }),
      ),
    );
    return (result.Items ?? []).map((row) => ({ sort: row.sk!.S!, change: JSON.parse(row.change!.S!) as Change }));
  }

  /** Removes held changes once applied. */
  async releaseHeld(plugin: string, sorts: readonly string[]): Promise<void> {
    const partition = pluginPartition(plugin);
    await this.#table.batchWrite(sorts.map((sort) => ({ DeleteRequest: { Key: rowKey(partition, sort) } })));
  }

  /**
   * Takes the plugin's resync lease for one invocation of a resync (see `lease.ts`).
   * @throws ResyncBusyError when another resync, or another invocation of this one, holds it.
   */
  async takeLease(plugin: string, hold: LeaseHold): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const written = await this.#table.update(
        plugin,
        `take the resync lease of ${plugin}`,
        withLease({}, takeClause(hold, Date.now())),
        true,
      );
      if (written !== undefined) return;
      // The holder is read after the refusal: a lease released or run out in between is free, so
      // the take is tried again rather than reported busy with no live holder.
      const lease = recordedLease(await this.#store.status(plugin));
      if ((lease !== undefined && lease.until >= Date.now()) || attempt >= TAKE_ATTEMPTS)
        throw new ResyncBusyError(plugin, hold.resyncId, lease);
    }
  }

  /**
   * Renews the lease this invocation holds.
   * @throws ResyncBusyError when it was taken over (it ran out and another resync took it).
   */
  async renewLease(plugin: string, hold: LeaseHold): Promise<void> {
    await this.#leaseUpdate(
      plugin,
      hold,
      `renew the resync lease of ${plugin}`,
      withLease({}, renewClause(hold, Date.now())),
    );
  }

  /**
   * Keeps the lease for the resync's next part (a continuation, in another invocation), which
   * alone can take it back before it runs out.
   * @throws ResyncBusyError when it was taken over.
   */
  async parkLease(plugin: string, hold: LeaseHold): Promise<void> {
    await this.#leaseUpdate(
      plugin,
      hold,
      `keep the resync lease of ${plugin}`,
      withLease({}, parkClause(hold, Date.now())),
    );
  }

  /**
   * Releases the lease this invocation holds.
   * @throws ResyncBusyError when it was taken over.
   */
  async releaseLease(plugin: string, hold: LeaseHold): Promise<void> {
    await this.#leaseUpdate(plugin, hold, `release the resync lease of ${plugin}`, withLease({}, releaseClause(hold)));
  }

  /**
   * Marks a plugin `resyncing` with its cursor (the changes that arrive from now on are held), and
   * lists the resync's snapshot among the plugin's. With `hold`, the write also renews the lease
   * and happens only while this invocation holds it: once another resync took the plugin over,
   * this one's cursor and snapshot are no longer the plugin's.
   * @throws ResyncBusyError when the lease was taken over.
   */
  async saveCursor(plugin: string, cursor: PluginCursor, hold?: LeaseHold): Promise<void> {
    const now = Date.now();
    await this.#leaseUpdate(
      plugin,
      hold,
      `save the resync checkpoint of ${plugin}`,
      withLease(
        {
          set: '#status = :status, resyncId = :id, startedAt = :started, checkpoint = :cursor, #layout = :layout, updatedAt = :now',
          add: '#snapshots :snapshot',
          names: { '#status': 'status', '#snapshots': 'snapshots', '#layout': 'layout' },
          values: {
            ':status': { S: 'resyncing' },
            ':layout': { N: String(LAYOUT_VERSION) },
            ':id': { S: cursor.resyncId },
            ':snapshot': { SS: [snapshotOf(cursor)] },
            ':started': { S: new Date(cursor.startedAt).toISOString() },
            ':cursor': { S: JSON.stringify(cursor) },
            ':now': { S: new Date(now).toISOString() },
          },
        },
        hold ? renewClause(hold, now) : undefined,
      ),
    );
  }

  /**
   * Records a finished resync: the plugin is `in-sync`, its snapshot (seen through `prefixes`) is
   * the current one, its failures and checkpoint are cleared. With `hold`, only while this
   * invocation holds the lease, which it keeps (held changes are applied once more before it is
   * released).
   * @throws ResyncBusyError when the lease was taken over.
   */
  async finishResync(
    plugin: string,
    result: {
      resyncId: string;
      snapshot?: string;
      prefixes?: readonly string[];
      startedAt: number;
      items: number;
      deleted: number;
    },
    hold?: LeaseHold,
  ): Promise<void> {
    const now = Date.now();
    await this.#leaseUpdate(
      plugin,
      hold,
      `record the resync of ${plugin}`,
      withLease(
        {
          set: `#status = :status, resyncId = :id, snapshotId = :snapshot, ${result.prefixes ? 'snapshotPrefixes = :prefixes, ' : ''}startedAt = :started, finishedAt = :now, itemCount = :items, deletedCount = :deleted, failures = :zero, #layout = :layout, updatedAt = :now`,
          remove: `checkpoint, lastError${result.prefixes ? '' : ', snapshotPrefixes'}`,
          names: { '#status': 'status', '#layout': 'layout' },
          values: {
            ':status': { S: 'in-sync' },
            ':id': { S: result.resyncId },
            ':snapshot': { S: result.snapshot ?? result.resyncId },
            ...(result.prefixes ? { ':prefixes': { S: JSON.stringify(result.prefixes) } } : {}),
            ':started': { S: new Date(result.startedAt).toISOString() },
            ':now': { S: new Date(now).toISOString() },
            ':items': { N: String(result.items) },
            ':deleted': { N: String(result.deleted) },
            ':zero': { N: '0' },
            ':layout': { N: String(LAYOUT_VERSION) },
          },
        },
        hold ? renewClause(hold, now) : undefined,
      ),
    );
  }

  /**
   * Records the digest of the keys a resync has handed over to the plugin for a snapshot, and how
   * many items that is (a digest stands for the cursor with that count). Kept apart from the
   * status row, which every delivery reads and every page rewrites: a digest is ~6 KB.
   */
  async writeDigest(plugin: string, snapshot: string, digest: SnapshotDigest, items: number): Promise<void> {
    await this.#table.call(`record the digest of ${plugin}`, () =>
      this.#table.dynamodb.send(
        new PutItemCommand({
          TableName: this.#table.name,
          Item: {
            ...rowKey(pluginPartition(plugin), digestSort(snapshot)),
            items: { N: String(items) },
            buckets: { S: JSON.stringify(digest) },
          },
        }),
      ),
    );
  }

  /**
   * Records a failed resync: the plugin is `out-of-sync` with the error; the checkpoint stays, so
   * a retry of the same resync id resumes after the last page the plugin finished. With `hold`,
   * only while this invocation holds the lease, which it keeps (the run releases it once it has
   * recorded that the plugin's step is over); without, only while nobody holds a running lease,
   * and one that ran out is cleared.
   * @returns false when the row is another resync's: nothing is written.
   */
  async failResync(plugin: string, resyncId: string, error: FeedbackError, hold?: LeaseHold): Promise<boolean> {
    const now = Date.now();
    const recorded = await this.#table.update(
      plugin,
      `record the failed resync of ${plugin}`,
      withLease(
        {
          set: '#status = :status, resyncId = :id, finishedAt = :now, lastError = :error, #layout = :layout, updatedAt = :now',
          names: { '#status': 'status', '#layout': 'layout' },
          values: {
            ':status': { S: 'out-of-sync' },
            ':layout': { N: String(LAYOUT_VERSION) },
            ':id': { S: resyncId },
            ':now': { S: new Date(now).toISOString() },
            ':error': { S: JSON.stringify(error) },
          },
        },
        hold ? renewClause(hold, now) : unheldClause(now),
      ),
      true,
    );
    return recorded !== undefined;
  }

  /**
   * A status-row update that, when it carries a lease condition that fails, throws
   * `ResyncBusyError`: the lease this invocation held was lost (taking one is `takeLease`'s).
   */
  async #leaseUpdate(
    plugin: string,
    hold: LeaseHold | undefined,
    action: string,
    input: ReturnType<typeof withLease>,
  ): Promise<void> {
    const written = await this.#table.update(plugin, action, input, input.ConditionExpression !== undefined);
    // Only lease clauses carry a condition here, so a refusal always comes with a hold.
    if (written === undefined)
      throw new ResyncBusyError(plugin, hold!.resyncId, recordedLease(await this.#store.status(plugin)), true);
  }

  /**
   * The digest of what the plugin was handed for a snapshot, if one was recorded (and, with
   * `items`, only if it stands for that many items).
   */
  async snapshotDigest(plugin: string, snapshot: string, items?: number): Promise<SnapshotDigest | undefined> {
    const { Item } = await this.#table.call(`read the digest of ${plugin}`, () =>
      this.#table.dynamodb.send(
        new GetItemCommand({
          TableName: this.#table.name,
          Key: rowKey(pluginPartition(plugin), digestSort(snapshot)),
          ConsistentRead: true,
        }),
      ),
    );
    if (!Item?.buckets?.S || (items !== undefined && Number(Item.items?.N) !== items)) return undefined;
    return JSON.parse(Item.buckets.S) as SnapshotDigest;
  }

  /** The run row of a resync, if it exists. */
  async run(resyncId: string): Promise<RunRow | undefined> {
    const result = await this.#table.call(`read resync ${resyncId}`, () =>
      this.#table.dynamodb.send(
        new GetItemCommand({
          TableName: this.#table.name,
          Key: rowKey(runPartition(resyncId), SORT.run),
          ConsistentRead: true,
        }),
      ),
    );
    return result.Item?.run?.S ? (JSON.parse(result.Item.run.S) as RunRow) : undefined;
  }

  /**
   * Creates a run row unless one exists for the resync already (a copy of the request that got
   * there first), and returns the row that is now stored.
   */
  async createRun(run: RunRow): Promise<RunRow> {
    try {
      await this.#table.dynamodb.send(
        new PutItemCommand({
          TableName: this.#table.name,
          Item: runItem(run),
          ConditionExpression: 'attribute_not_exists(#run)',
          ExpressionAttributeNames: { '#run': 'run' },
        }),
      );
      return run;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException))
        throw new StateFailedError(`save resync ${run.resyncId}`, error);
    }
    const stored = await this.run(run.resyncId);
    // Removed in between: the other copy has already run the whole resync.
    return stored ?? { ...run, index: run.plugins.length };
  }

  /** Saves a run row. */
  async saveRun(run: RunRow): Promise<void> {
    await this.#table.call(`save resync ${run.resyncId}`, () =>
      this.#table.dynamodb.send(
        new PutItemCommand({
          TableName: this.#table.name,
          Item: runItem(run),
        }),
      ),
    );
  }

  /** Removes a finished run's row. */
  async deleteRun(resyncId: string): Promise<void> {
    await this.#table.call(`remove resync ${resyncId}`, () =>
      this.#table.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.#table.name,
          Key: rowKey(runPartition(resyncId), SORT.run),
        }),
      ),
    );
  }
}

/** The resync rows of a store's table. */
export function resyncRows(store: SyncStateStore): ResyncRows {
  return new ResyncRows(store);
}

/** A run row as stored. */
function runItem(run: RunRow): Record<string, AttributeValue> {
  return { ...rowKey(runPartition(run.resyncId), SORT.run), run: { S: JSON.stringify(run) } };
}
