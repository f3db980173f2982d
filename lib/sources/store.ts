import {
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { forEachConcurrently } from '../aws/batch.ts';
import type { AwsClients } from '../aws/clients.ts';
import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import { InvalidChangeError } from '../errors.ts';
import type { Change } from '../model/change.ts';
import {
  CORRELATION_ATTRIBUTE,
  DELETE_CORRELATION_ATTRIBUTE,
  itemKeyOf,
  itemOf,
  tableOfKey,
  versionAttributeOf,
} from '../model/item.ts';
import type { JsonObject } from '../model/json-value.ts';
import { compareRevisions, type Revision } from '../model/revision.ts';
import type { TableConfig } from '../model/table-config.ts';
import { RevisionClock } from '../publish/clock.ts';
import { keyRowKey } from '../state/table.ts';

/**
 * Bus changes for keys that live in a table are written to that table, not delivered: the
 * table's stream then delivers them to the plugins, in the table's own order among every other
 * write to the key (see docs/state.md). This is the store. A bus change's revision becomes the
 * item's version, and a write happens only when it is newer than the version the item has:
 *
 * - put: only if the item has no version or an older one, and no newer deletion is remembered;
 * - delete: only if the item is there with no version or an older one; it leaves a tombstone (the
 *   deleted revision, for {@link TOMBSTONE_MS}) in the key's row of the state table, so an older
 *   put that arrives late does not bring the key back. A delete that finds nothing to delete
 *   changes nothing (no stream record follows): it is `superseded`, and still leaves its tombstone.
 *
 * A change that is not newer is `superseded`: the table already holds what follows it.
 */
export interface TableStoreOptions {
  /** The tables, by prefix. */
  readonly tables: readonly TableConfig[];
  /** The sync-state table, where deletions leave their tombstones; without it none are kept. */
  readonly stateTable?: string;
  readonly clients?: Partial<AwsClients>;
  /** Writes in flight at once; default 8. */
  readonly concurrency?: number;
}

/** How one change fared in the store. */
export type StoreOutcome =
  | { readonly change: Change; readonly result: 'stored' | 'superseded' }
  | { readonly change: Change; readonly error: Error };

/** How long a deletion is remembered: the longest an SQS message can wait (14 days). */
export const TOMBSTONE_MS = 14 * 24 * 60 * 60 * 1000;

/** Writes bus changes to the tables that hold their keys. */
export class TableStore {
  readonly #options: TableStoreOptions;
  readonly #dynamodb: DynamoDBClient;
  // Gives a change that came without a revision one, so the item still carries a version.
  readonly #clock = new RevisionClock();

  constructor(options: TableStoreOptions) {
    this.#options = options;
    this.#dynamodb = options.clients?.dynamodb ?? dynamoDbClient();
  }

  /** The table that holds a key, if any. */
  tableOf(key: string): TableConfig | undefined {
    return tableOfKey(this.#options.tables, key);
  }

  /**
   * Writes each change to its table. A key's changes are written one after another in revision
   * order; different keys at once.
   */
  async write(changes: readonly Change[]): Promise<StoreOutcome[]> {
    const byKey = new Map<string, Change[]>();
    for (const change of changes) byKey.set(change.key, [...(byKey.get(change.key) ?? []), change]);
    const outcomes = new Map<Change, StoreOutcome>();
    await forEachConcurrently([...byKey.values()], this.#options.concurrency ?? 8, async (list) => {
      const ordered = list.every((change) => change.revision !== undefined)
        ? [...list].sort((a, b) => compareRevisions(a.revision!, b.revision!))
        : list;
      for (const change of ordered) {
        try {
          outcomes.set(change, { change, result: (await this.#writeOne(change)) ? 'stored' : 'superseded' });
        } catch (error) {
          outcomes.set(change, { change, error: error as Error });
        }
      }
    });
    return changes.map((change) => outcomes.get(change)!);
  }

  /**
   * Settles deletes the table's stream reports, whoever made them (a tool, the publisher, the HTTP
   * API, this store): each is remembered as a tombstone of the removed version, so a bus put of
   * that version or an older one that arrives later is not written; and an item of that version
   * or an older one that such a put wrote before the tombstone was there (a redelivered message
   * racing a delete made straight in the table) is deleted again. Versions must increase, across
   * deletes too (see docs/state.md): an item at or below a deleted version is taken for such a put.
   * @param removals the stream's deletes of versioned items.
   * @returns the error of each removal that could not be settled (its record is retried).
   */
  async settleDeletes(removals: ReadonlyArray<{ key: string; version: Revision }>): Promise<Map<string, Error>> {
    const failed = new Map<string, Error>();
    const stateTable = this.#options.stateTable;
    await forEachConcurrently([...removals], this.#options.concurrency ?? 8, async ({ key, version }) => {
      const table = this.tableOf(key);
      if (!table) return;
      try {
        if (stateTable) {
          await conditional(() =>
            this.#dynamodb.send(new UpdateItemCommand(tombstoneUpdate(stateTable, key, version, Date.now()))),
          );
        }
        await conditional(() =>
          this.#dynamodb.send(
            new DeleteItemCommand({
              TableName: table.name,
              Key: itemKeyOf(table, key),
              ConditionExpression: 'attribute_exists(#v) AND #v <= :v',
              ExpressionAttributeNames: { '#v': versionAttributeOf(table) },
              ExpressionAttributeValues: { ':v': { N: version } },
            }),
          ),
        );
      } catch (error) {
        failed.set(key, error as Error);
      }
    });
    return failed;
  }

  /** @returns false when the table already holds a newer version (or deletion) of the key. */
  async #writeOne(change: Change): Promise<boolean> {
    const table = this.tableOf(change.key);
    if (!table) throw new InvalidChangeError(`no table holds ${change.key}`, { details: { key: change.key } });
    const revision = change.revision ?? this.#clock.next();
    const version = versionAttributeOf(table);
    const newer = {
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :r',
      ExpressionAttributeNames: { '#v': version },
      ExpressionAttributeValues: { ':r': { N: revision } } as Record<string, AttributeValue>,
    };
    const stateTable = this.#options.stateTable;
    const now = Date.now();
    if (change.op === 'put') {
      const item = itemOf(table, change.key, change.value as JsonObject, revision);
      if (change.correlationId !== undefined) item[CORRELATION_ATTRIBUTE] = { S: change.correlationId };
      const put = { TableName: table.name, Item: item, ...newer };
      if (!stateTable) return conditional(() => this.#dynamodb.send(new PutItemCommand(put)));
      return transaction(() =>
        this.#dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: put },
              {
                ConditionCheck: {
                  TableName: stateTable,
                  Key: stateKey(change.key),
                  ConditionExpression: 'attribute_not_exists(#t) OR #t < :r OR #until < :now',
                  ExpressionAttributeNames: { '#t': 'tomb', '#until': 'tombUntil' },
                  ExpressionAttributeValues: { ':r': { N: revision }, ':now': { N: String(now) } },
                },
              },
            ],
          }),
        ),
      );
    }
    // A delete happens only to an item that is there and older; one that finds nothing to delete
    // changes nothing, so no stream record will tell the plugins: it counts as superseded.
    const key = itemKeyOf(table, change.key);
    const remove: {
      TableName: string;
      Key: Record<string, AttributeValue>;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, AttributeValue>;
    } = {
      TableName: table.name,
      Key: key,
      ConditionExpression: `attribute_exists(#k) AND (${newer.ConditionExpression})`,
      ExpressionAttributeNames: { ...newer.ExpressionAttributeNames, '#k': table.keyAttributes[0]! },
      ExpressionAttributeValues: newer.ExpressionAttributeValues,
    };
    if (change.correlationId !== undefined) {
      // The stream record of a delete holds only the old item: the id goes into the item first
      // (a write the stream source passes over), and the delete then requires it to be there.
      const tagged = await conditional(() =>
        this.#dynamodb.send(
          new UpdateItemCommand({
            ...remove,
            UpdateExpression: 'SET #c = :c',
            ExpressionAttributeNames: { ...remove.ExpressionAttributeNames, '#c': DELETE_CORRELATION_ATTRIBUTE },
            ExpressionAttributeValues: { ...remove.ExpressionAttributeValues, ':c': { S: change.correlationId! } },
          }),
        ),
      );
      if (tagged) {
        remove.ConditionExpression = `${remove.ConditionExpression} AND #c = :c`;
        remove.ExpressionAttributeNames = { ...remove.ExpressionAttributeNames, '#c': DELETE_CORRELATION_ATTRIBUTE };
        remove.ExpressionAttributeValues = { ...remove.ExpressionAttributeValues, ':c': { S: change.correlationId } };
      }
    }
    if (!stateTable) return conditional(() => this.#dynamodb.send(new DeleteItemCommand(remove)));
    const tombstone = tombstoneUpdate(stateTable, change.key, revision, now);
    const deleted = await transaction(() =>
      this.#dynamodb.send(
        new TransactWriteItemsCommand({ TransactItems: [{ Delete: remove }, { Update: tombstone }] }),
      ),
    );
    // Nothing deleted (absent, or newer than this delete): the deletion is still remembered, so
    // an older put that arrives later does not bring the key back.
    if (!deleted) await conditional(() => this.#dynamodb.send(new UpdateItemCommand(tombstone)));
    return deleted;
  }
}

/** Remembers a deletion of `key` at `revision` in its state row, unless a later one is remembered. */
function tombstoneUpdate(stateTable: string, key: string, revision: Revision, now: number) {
  return {
    TableName: stateTable,
    Key: stateKey(key),
    UpdateExpression: 'SET #t = :r, #until = :until',
    ConditionExpression: 'attribute_not_exists(#t) OR #t < :r',
    ExpressionAttributeNames: { '#t': 'tomb', '#until': 'tombUntil' },
    ExpressionAttributeValues: { ':r': { N: revision }, ':until': { N: String(now + TOMBSTONE_MS) } },
  };
}

function stateKey(key: string): Record<string, AttributeValue> {
  const { pk, sk } = keyRowKey(key);
  return { pk: { S: pk }, sk: { S: sk } };
}

/** A conditional write: true when written, false when its condition said "already newer". */
async function conditional(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** A transaction of conditional writes: false when a condition failed, the error otherwise. */
async function transaction(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
    if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return false;
    throw error;
  }
}
