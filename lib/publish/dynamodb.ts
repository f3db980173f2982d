import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { InvalidChangeError, VersionConflictError } from '../errors.ts';
import {
  CORRELATION_ATTRIBUTE,
  DELETE_CORRELATION_ATTRIBUTE,
  itemKeyOf,
  itemOf,
  keyOfItem,
  versionAttributeOf,
  versionOfItem,
} from '../model/item.ts';
import type { JsonObject } from '../model/json-value.ts';
import { compareRevisions, type Revision } from '../model/revision.ts';
import { RevisionClock } from './clock.ts';
import { LIMITS } from './constants.ts';
import { chunk, forEachConcurrently } from '../aws/batch.ts';
import { settle, written, type Delivered, type PendingChange } from './pending.ts';
import { sendWithRetry, type EntryFailure, type RetryPolicy, type SendOutcome } from '../aws/retry.ts';
import type { DynamoDbTarget } from './types.ts';
import type { TargetWriter } from './writer.ts';

interface ItemEntry {
  readonly change: PendingChange;
  readonly key: Record<string, AttributeValue>;
  /** The item without its version, for a put. */
  readonly item?: Record<string, AttributeValue>;
}

const CONCURRENT_WRITES = 8;

/**
 * The DynamoDB target. `put`/`delete` read the item's version and write conditionally on it, so
 * the version grows with every write (one more than the item's, or the clock's revision when that
 * is larger) and a concurrent writer is never overwritten unseen;
 * with an expected revision the condition is the caller's. `publish()` without expected revisions
 * uses BatchWriteItem with versions from the publisher's clock (see docs/publish.md).
 */
export function dynamoDbWriter(target: DynamoDbTarget, dynamodb: DynamoDBClient, policy: RetryPolicy): TargetWriter {
  const table = target.table;
  const version = versionAttributeOf(table);
  const name = `dynamodb:${table.name}`;
  const clock = new RevisionClock();

  const toEntry = (change: PendingChange): ItemEntry => {
    const key = itemKeyOf(table, change.key);
    if (change.op === 'delete') return { change, key };
    const value = change.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidChangeError(
        `a value written to table ${table.name} must be a JSON object (the item's attributes)`,
        { details: { key: change.key } },
      );
    }
    const item = itemOf(table, change.key, value as JsonObject);
    if (change.correlationId !== undefined) item[CORRELATION_ATTRIBUTE] = { S: change.correlationId };
    return { change, key, item };
  };

  const toEntries = (changes: readonly PendingChange[]): ItemEntry[] => {
    const seen = new Set<string>();
    for (const change of changes) {
      if (seen.has(change.key)) {
        throw new InvalidChangeError(
          `${change.key} appears more than once in one publish to a table; publish its changes one after another`,
          { details: { key: change.key } },
        );
      }
      seen.add(change.key);
    }
    return changes.map(toEntry);
  };

  const readVersion = async (key: Record<string, AttributeValue>): Promise<Revision | undefined> => {
    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: table.name,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: '#v',
        ExpressionAttributeNames: { '#v': version },
      }),
    );
    return versionOfItem(table, Item);
  };

  /**
   * A delete that carries a correlation id. The stream record of a delete holds only the old
   * item, so the id is written into the item first (a write that changes nothing else, which the
   * stream source passes over), then the item is deleted on the condition that it still carries
   * that id: the old item of the record is the tagged one, and the plugins' feedback names the id.
   */
  const deleteTagged = async (
    entry: ItemEntry,
    condition: {
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, AttributeValue>;
    },
  ): Promise<SendOutcome<ItemEntry, Delivered>> => {
    const { change } = entry;
    const id = change.correlationId!;
    const exists = `attribute_exists(#k)`;
    try {
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: table.name,
          Key: entry.key,
          UpdateExpression: 'SET #c = :c',
          ConditionExpression: condition.ConditionExpression
            ? `${exists} AND (${condition.ConditionExpression})`
            : exists,
          ExpressionAttributeNames: {
            ...condition.ExpressionAttributeNames,
            '#k': table.keyAttributes[0]!,
            '#c': DELETE_CORRELATION_ATTRIBUTE,
          },
          ExpressionAttributeValues: { ...condition.ExpressionAttributeValues, ':c': { S: id } },
        }),
      );
    } catch (error) {
      // Nothing to delete (unless an expected version made the condition fail: a conflict).
      if ((error as Error).name === 'ConditionalCheckFailedException' && change.expectedVersion === undefined) {
        return { delivered: [written(change, { unchanged: true })], failed: [] };
      }
      throw error;
    }
    const { Attributes } = await dynamodb.send(
      new DeleteItemCommand({
        TableName: table.name,
        Key: entry.key,
        ReturnValues: 'ALL_OLD',
        ConditionExpression: '#c = :c',
        ExpressionAttributeNames: { '#c': DELETE_CORRELATION_ATTRIBUTE },
        ExpressionAttributeValues: { ':c': { S: id } },
      }),
    );
    return { delivered: [written(change, { ...versionField(versionOfItem(table, Attributes)) })], failed: [] };
  };

  // One item, conditional on its version: the caller's expected one or the one just read.
  const writeConditional = async ([entry]: ItemEntry[]): Promise<SendOutcome<ItemEntry, Delivered>> => {
    const { change } = entry!;
    const expected = change.expectedVersion;
    const current =
      expected !== undefined
        ? expected === '0'
          ? undefined
          : expected
        : change.op === 'put'
          ? await readVersion(entry!.key)
          : undefined;
    const guarded = expected !== undefined || change.op === 'put';
    const condition = guarded
      ? {
          ConditionExpression: current === undefined ? 'attribute_not_exists(#v)' : '#v = :v',
          ExpressionAttributeNames: { '#v': version },
          ...(current === undefined ? {} : { ExpressionAttributeValues: { ':v': { N: current } } }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        }
      : {};
    try {
      if (change.op === 'delete' && change.correlationId !== undefined) return await deleteTagged(entry!, condition);
      if (change.op === 'put') {
        // Never behind the clock: one more than the item's version, or the clock's next revision
        // when that is larger (always, for a new item). A bus change to the key stamped before
        // this write, which the store writes only over an older version, must not land after it
        // and win; nor find a re-created item older than itself.
        const counted = current === undefined ? undefined : (BigInt(current) + 1n).toString();
        const stamped = clock.next();
        const next = counted !== undefined && compareRevisions(counted, stamped) > 0 ? counted : stamped;
        await dynamodb.send(
          new PutItemCommand({ TableName: table.name, Item: { ...entry!.item, [version]: { N: next } }, ...condition }),
        );
        return { delivered: [written(change, { version: next })], failed: [] };
      }
      const { Attributes } = await dynamodb.send(
        new DeleteItemCommand({ TableName: table.name, Key: entry!.key, ReturnValues: 'ALL_OLD', ...condition }),
      );
      return {
        delivered: [
          written(change, Attributes ? { ...versionField(versionOfItem(table, Attributes)) } : { unchanged: true }),
        ],
        failed: [],
      };
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      if (expected === undefined) {
        // Another writer moved the item between our read and write: read again and retry.
        return {
          delivered: [],
          failed: [
            {
              entry: entry!,
              retryable: true,
              errorCode: 'ConditionalCheckFailedException',
              reason: 'the item changed between reading its version and writing',
            },
          ],
        };
      }
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      const actual = old ? versionOfItem(table, old) : await readVersion(entry!.key);
      const conflict = new VersionConflictError(change.key, expected, actual, error);
      return {
        delivered: [],
        failed: [
          { entry: entry!, retryable: false, errorCode: conflict.code, reason: conflict.message, cause: conflict },
        ],
      };
    }
  };

  // Up to 25 items a call; only the unprocessed ones go again.
  const writeBatch = async (
    entries: ItemEntry[],
    versions: Map<ItemEntry, Revision>,
  ): Promise<SendOutcome<ItemEntry, Delivered>> => {
    const requests: WriteRequest[] = entries.map((entry) =>
      entry.item
        ? { PutRequest: { Item: { ...entry.item, [version]: { N: versions.get(entry)! } } } }
        : { DeleteRequest: { Key: entry.key } },
    );
    const response = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table.name]: requests } }));
    const pending = new Map(entries.map((entry) => [entry.change.key, entry]));
    const failed: EntryFailure<ItemEntry>[] = [];
    for (const request of response.UnprocessedItems?.[table.name] ?? []) {
      const attributes = request.PutRequest?.Item ?? request.DeleteRequest?.Key;
      const entry = attributes ? pending.get(keyOfItem(table, attributes)) : undefined;
      if (!entry) continue;
      pending.delete(entry.change.key);
      failed.push({
        entry,
        retryable: true,
        errorCode: 'UnprocessedItems',
        reason: 'BatchWriteItem left the item unprocessed',
      });
    }
    const delivered = [...pending.values()].map((entry) =>
      written(entry.change, entry.item ? { version: versions.get(entry)! } : {}),
    );
    return { delivered, failed };
  };

  return {
    name,
    checksVersions: true,
    tables: [table],
    check(changes) {
      toEntries(changes);
    },
    async write(changes, single) {
      const entries = toEntries(changes);
      const conditional = entries.filter(
        (entry) =>
          single ||
          target.batchMode === 'conditional' ||
          entry.change.expectedVersion !== undefined ||
          // A delete's correlation id is written into the item first, which a batch cannot do.
          (entry.change.op === 'delete' && entry.change.correlationId !== undefined),
      );
      const batched = entries.filter((entry) => !conditional.includes(entry));
      const delivered: Delivered[] = [];
      const failed: EntryFailure<ItemEntry>[] = [];

      await forEachConcurrently(conditional, CONCURRENT_WRITES, async (entry) => {
        const outcome = await sendWithRetry([entry], writeConditional, policy);
        delivered.push(...outcome.delivered);
        failed.push(...outcome.failed);
      });

      // A batch cannot be conditional, so its versions come from the clock: larger than any
      // count-based version, and increasing per publisher (see docs/publish.md for the trade-off).
      const versions = new Map(batched.filter((entry) => entry.item).map((entry) => [entry, clock.next()]));
      for (const batch of chunk(batched, LIMITS.batchWriteItems)) {
        const outcome = await sendWithRetry(batch, (pending) => writeBatch(pending, versions), policy);
        delivered.push(...outcome.delivered);
        failed.push(...outcome.failed);
      }

      const conflict = failed[0]?.cause;
      if (single && conflict instanceof VersionConflictError) throw conflict;
      return settle(name, changes.length, delivered, failed);
    },
  };
}

function versionField(version: Revision | undefined): { version?: Revision } {
  return version === undefined ? {} : { version };
}
