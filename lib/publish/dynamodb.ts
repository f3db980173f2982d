import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { InvalidChangeError, RevisionConflictError } from '../errors.ts';
import {
  CORRELATION_ATTRIBUTE,
  itemKeyOf,
  itemOf,
  keyOfItem,
  versionAttributeOf,
  versionOfItem,
} from '../model/item.ts';
import type { JsonObject } from '../model/json-value.ts';
import type { Revision } from '../model/revision.ts';
import { RevisionClock } from './clock.ts';
import { LIMITS } from './constants.ts';
import { chunk, forEachConcurrently } from '../aws/batch.ts';
import { published, settle, type Delivered, type PendingChange } from './pending.ts';
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
 * the version counts up by one per write and a concurrent writer is never overwritten unseen;
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
    if (change.op === 'delete') {
      if (change.correlationId !== undefined) {
        // The stream record of a delete holds only the old item: the id could never reach feedback.
        throw new InvalidChangeError(
          `a delete on table ${table.name} cannot carry a correlation id: its stream record holds only the old item`,
          { details: { key: change.key } },
        );
      }
      return { change, key };
    }
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

  // One item, conditional on its version: the caller's expected one or the one just read.
  const writeConditional = async ([entry]: ItemEntry[]): Promise<SendOutcome<ItemEntry, Delivered>> => {
    const { change } = entry!;
    const expected = change.expectedRevision;
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
      if (change.op === 'put') {
        // A new item starts from the clock, not from 1: the key may have existed before, and its
        // delete carried the old version plus one, so a count from 1 would look older than the delete.
        const next = current === undefined ? clock.next() : (BigInt(current) + 1n).toString();
        await dynamodb.send(
          new PutItemCommand({ TableName: table.name, Item: { ...entry!.item, [version]: { N: next } }, ...condition }),
        );
        return { delivered: [published(change, next)], failed: [] };
      }
      const { Attributes } = await dynamodb.send(
        new DeleteItemCommand({ TableName: table.name, Key: entry!.key, ReturnValues: 'ALL_OLD', ...condition }),
      );
      return {
        delivered: [published(change, Attributes ? successor(versionOfItem(table, Attributes)) : undefined)],
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
      const conflict = new RevisionConflictError(change.key, expected, actual, error);
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
      published(entry.change, entry.item ? versions.get(entry) : undefined),
    );
    return { delivered, failed };
  };

  return {
    name,
    checksRevisions: true,
    check(changes) {
      toEntries(changes);
    },
    async write(changes, single) {
      const entries = toEntries(changes);
      const conditional = entries.filter(
        (entry) => single || target.batchMode === 'conditional' || entry.change.expectedRevision !== undefined,
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
      if (single && conflict instanceof RevisionConflictError) throw conflict;
      return settle(name, changes.length, delivered, failed);
    },
  };
}

function successor(revision: Revision | undefined): Revision {
  return revision === undefined ? '1' : (BigInt(revision) + 1n).toString();
}
