import {
  DeleteItemCommand,
  GetItemCommand,
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
import { DatasyncError, InvalidChangeError } from '../errors.ts';
import type { Change } from '../model/change.ts';
import {
  CORRELATION_ATTRIBUTE,
  DELETE_CORRELATION_ATTRIBUTE,
  itemKeyOf,
  itemOf,
  tableOfKey,
  versionAttributeOf,
  versionOfItem,
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
  | {
      readonly change: Change;
      readonly result: 'stored' | 'superseded';
      /**
       * A stored put: the item's version (the change's revision). A stored delete with a
       * correlation id: the version of the item it removed, when that item had one (a delete
       * without one cannot tell).
       */
      readonly version?: Revision;
    }
  | { readonly change: Change; readonly error: Error };

/** How one write went: written or not, and the version a stored one reports. */
interface Written {
  readonly stored: boolean;
  readonly version?: Revision;
}

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
          const { stored, version } = await this.#writeOne(change);
          outcomes.set(change, {
            change,
            result: stored ? 'stored' : 'superseded',
            ...(stored && version !== undefined ? { version } : {}),
          });
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

  /** @returns not stored when the table already holds a newer version (or deletion) of the key. */
  async #writeOne(change: Change): Promise<Written> {
    const table = this.tableOf(change.key);
    if (!table) throw new InvalidChangeError(`no table holds ${change.key}`, { details: { key: change.key } });
    const revision = change.revision ?? this.#clock.next();
    const now = Date.now();
    if (change.op === 'delete') return this.#delete(change, table, revision, now);
    const stateTable = this.#options.stateTable;
    const item = itemOf(table, change.key, change.value as JsonObject, revision);
    if (change.correlationId !== undefined) item[CORRELATION_ATTRIBUTE] = { S: change.correlationId };
    const put = {
      TableName: table.name,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :r',
      ExpressionAttributeNames: { '#v': versionAttributeOf(table) },
      ExpressionAttributeValues: { ':r': { N: revision } },
    };
    if (!stateTable)
      return { stored: await conditional(() => this.#dynamodb.send(new PutItemCommand(put))), version: revision };
    const stored = await transaction(() =>
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
    return { stored, version: revision };
  }

  /**
   * A delete happens only to an item that is there and older. Deciding so takes more than one
   * call, and another source's put of the key (an older one, sent just before the delete, that
   * the table has not taken yet) can land between them: so "nothing to delete" is concluded only
   * together with the tombstone, on the condition that no older item is there, and a delete that
   * finds one landed meanwhile starts over (at most {@link DELETE_ATTEMPTS} times).
   */
  async #delete(change: Change, table: TableConfig, revision: Revision, now: number): Promise<Written> {
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS; attempt++) {
      const outcome = await this.#tryDelete(change, table, revision, now);
      if (outcome === 'nothing') return { stored: false };
      if (outcome !== 'raced') return outcome;
    }
    throw new DatasyncError(
      'PUBLISH_FAILED',
      `delete of ${change.key} found an older item written meanwhile ${DELETE_ATTEMPTS} times; it will be retried`,
      {
        details: {
          key: change.key,
          ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
        },
      },
    );
  }

  async #tryDelete(
    change: Change,
    table: TableConfig,
    revision: Revision,
    now: number,
  ): Promise<Written | 'nothing' | 'raced'> {
    const stateTable = this.#options.stateTable;
    const key = itemKeyOf(table, change.key);
    const names = { '#v': versionAttributeOf(table), '#k': table.keyAttributes[0]! };
    const older = 'attribute_exists(#k) AND (attribute_not_exists(#v) OR #v < :r)';
    const remove = {
      TableName: table.name,
      Key: key,
      ConditionExpression: older,
      ExpressionAttributeNames: names as Record<string, string>,
      ExpressionAttributeValues: { ':r': { N: revision } } as Record<string, AttributeValue>,
    };
    let tagged = true;
    let removed: Revision | undefined;
    const { correlationId } = change;
    if (correlationId !== undefined) {
      // The stream record of a delete holds only the old item: the id goes into the item first
      // (a write the stream source passes over), and the delete then requires it to be there, so
      // the item deleted is the tagged one and its stream record names the id.
      const tagging = {
        ExpressionAttributeNames: { ...names, '#c': DELETE_CORRELATION_ATTRIBUTE },
        ExpressionAttributeValues: { ':r': { N: revision }, ':c': { S: correlationId } },
      };
      let old: Record<string, AttributeValue> | undefined;
      tagged = await conditional(async () => {
        ({ Attributes: old } = await this.#dynamodb.send(
          new UpdateItemCommand({
            TableName: table.name,
            Key: key,
            UpdateExpression: 'SET #c = :c',
            ConditionExpression: older,
            ReturnValues: 'ALL_OLD',
            ...tagging,
          }),
        ));
      });
      // The tagged item's version is the removed one's: the delete also requires it unchanged
      // (a write in between that kept the tag makes the delete start over).
      removed = old ? versionOfItem(table, old) : undefined;
      remove.ConditionExpression = `${older} AND #c = :c AND ${removed === undefined ? 'attribute_not_exists(#v)' : '#v = :old'}`;
      remove.ExpressionAttributeNames = tagging.ExpressionAttributeNames;
      remove.ExpressionAttributeValues = {
        ...tagging.ExpressionAttributeValues,
        ...(removed === undefined ? {} : { ':old': { N: removed } }),
      };
    }
    const tombstone = stateTable ? tombstoneUpdate(stateTable, change.key, revision, now) : undefined;
    if (tagged) {
      const deleted = tombstone
        ? await transaction(() =>
            this.#dynamodb.send(
              new TransactWriteItemsCommand({ TransactItems: [{ Delete: remove }, { Update: tombstone }] }),
            ),
          )
        : await conditional(() => this.#dynamodb.send(new DeleteItemCommand(remove)));
      if (deleted) return { stored: true, ...(removed === undefined ? {} : { version: removed }) };
    }
    // Nothing deleted: the item was absent or newer, or a newer deletion is remembered; or an
    // older item came (or took the tagged one's place) meanwhile, which this delete must remove.
    if (!tombstone) {
      // No deletion is remembered without a state table: a read tells which it was.
      const { Item } = await this.#dynamodb.send(
        new GetItemCommand({
          TableName: table.name,
          Key: key,
          ConsistentRead: true,
          ProjectionExpression: '#k, #v',
          ExpressionAttributeNames: names,
        }),
      );
      const version = Item ? versionOfItem(table, Item) : undefined;
      return Item && (version === undefined || compareRevisions(version, revision) < 0) ? 'raced' : 'nothing';
    }
    // The deletion is remembered, so a put older than it that arrives later does not bring the key
    // back: in one transaction with the check that no older item is there now.
    const failed = await cancelledConditions(() =>
      this.#dynamodb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: table.name,
                Key: key,
                ConditionExpression: `NOT (${older})`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: { ':r': { N: revision } },
              },
            },
            { Update: tombstone },
          ],
        }),
      ),
    );
    // An older item is there, unless a deletion as new or newer is remembered already (the table
    // then holds what follows this delete).
    return failed.has(0) && !failed.has(1) ? 'raced' : 'nothing';
  }
}

/** How many times a delete starts over when an older item of its key was written meanwhile. */
const DELETE_ATTEMPTS = 5;

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
  return (await cancelledConditions(send)).size === 0;
}

/**
 * A transaction of conditional writes: the positions of the items whose conditions failed (none
 * when it was written), the error when it failed otherwise.
 */
async function cancelledConditions(send: () => Promise<unknown>): Promise<Set<number>> {
  try {
    await send();
    return new Set();
  } catch (error) {
    const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
    const failed = new Set(
      reasons.flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : [])),
    );
    if (failed.size > 0) return failed;
    throw error;
  }
}
