import type { DynamoDBRecord } from 'aws-lambda';
import type { TableConfig } from '../../config.ts';
import { InvalidChangeError } from '../../errors.ts';
import type { Change } from '../../model/change.ts';
import {
  DELETE_CORRELATION_ATTRIBUTE,
  correlationOfItem,
  deleteCorrelationOfItem,
  keyOfItem,
  valueOfItem,
  versionAttributeOf,
  versionOfItem,
} from '../../model/item.ts';
import { asInvalidChange, checkChange } from '../../model/change-rules.ts';
import { MAX_VALUE_BYTES, type AnyAttributeValue, type JsonObject } from '../../model/json-value.ts';
import { toRevision, type Revision } from '../../model/revision.ts';

/**
 * The table name in a stream ARN
 * (`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`).
 */
export function tableNameOfStreamArn(arn: string | undefined): string | undefined {
  const match = /:table\/([^/]+)(?:\/stream\/|$)/.exec(arn ?? '');
  return match?.[1];
}

/** Whether a stream record is a deletion made by DynamoDB's time-to-live expiry. */
export function isTtlDelete(record: DynamoDBRecord): boolean {
  const identity = record.userIdentity as { type?: unknown; principalId?: unknown } | undefined;
  return (
    record.eventName === 'REMOVE' && identity?.type === 'Service' && identity.principalId === 'dynamodb.amazonaws.com'
  );
}

/**
 * Turns one DynamoDB stream record (Lambda event shape, `NEW_AND_OLD_IMAGES`) into a change.
 *
 * - INSERT and MODIFY are `put` with the new image's value (and the old image as `prevValue`);
 *   REMOVE is `delete` with the old image as `prevValue`.
 * - The key is the table's prefix and the item's key attributes; the table is the one named in
 *   `eventSourceARN`.
 * - The revision is the stream sequence number: the table's own order of the writes to an item,
 *   whoever made them (a publisher, the HTTP API, a tool that knows nothing of versions). The
 *   item's version attribute (default `version`), when the image has one, is the change's
 *   `version`: the new item's for a put, the removed item's for a delete. A write that left the
 *   version as it was (a tool rewriting an item it read) carries no version, since it is not the
 *   write that version stands for.
 * - A TTL deletion has `expired: true`; a put's correlation id is read from the item's
 *   correlation attribute and is not part of the value.
 * - The change passes the same rules as every source's (`checkChange`). Its value is checked
 *   against the plugins' schemas with the rest of the batch (`checkBatchSchemas`).
 * - A MODIFY that changed nothing but the delete correlation attribute is the publisher tagging an
 *   item it is about to delete (so the delete's record names its correlation id): no change, undefined.
 * @throws InvalidChangeError naming what is wrong with the record.
 */
export function changeFromStreamRecord(
  record: DynamoDBRecord,
  tables: ReadonlyMap<string, TableConfig>,
): Change | undefined {
  const tableName = tableNameOfStreamArn(record.eventSourceARN);
  if (tableName === undefined)
    throw new InvalidChangeError(
      `stream record has no table in eventSourceARN ${JSON.stringify(record.eventSourceARN)}`,
    );
  const table = tables.get(tableName);
  if (!table)
    throw new InvalidChangeError(`stream record of table ${tableName}, which is not configured`, {
      details: { table: tableName },
    });
  const stream = record.dynamodb;
  const sequence = stream?.SequenceNumber;
  if (!stream || typeof sequence !== 'string')
    throw new InvalidChangeError('stream record has no dynamodb.SequenceNumber', { details: { table: tableName } });
  const revision = toRevision(sequence);
  const newImage = stream.NewImage as Record<string, AnyAttributeValue> | undefined;
  const oldImage = stream.OldImage as Record<string, AnyAttributeValue> | undefined;
  const keyItem = (stream.Keys ?? newImage ?? oldImage) as Record<string, AnyAttributeValue> | undefined;
  if (!keyItem)
    throw new InvalidChangeError('stream record has neither Keys nor an image', { details: { table: tableName } });
  const key = keyOfItem(table, keyItem);
  const source = { type: 'dynamodb' as const, name: tableName, id: sequence };
  const time =
    typeof stream.ApproximateCreationDateTime === 'number'
      ? new Date(stream.ApproximateCreationDateTime * 1000).toISOString()
      : new Date().toISOString();
  // Values converted from attribute maps are JSON-safe by construction; only their size can break
  // a rule, and a small stream record provably makes small values, so the costly check is skipped.
  const small = typeof stream.SizeBytes === 'number' && stream.SizeBytes <= SMALL_RECORD_BYTES;
  const prevValue = oldImage ? valueOfItem(table, oldImage) : undefined;
  const oldVersion = versionOf(table, oldImage, key);

  let op: 'put' | 'delete';
  let value: JsonObject | undefined;
  let version: Revision | undefined;
  if (record.eventName === 'INSERT' || record.eventName === 'MODIFY') {
    if (!newImage) {
      throw new InvalidChangeError(
        `${record.eventName} record has no NewImage: the stream view type must be NEW_AND_OLD_IMAGES`,
        { details: { key } },
      );
    }
    if (record.eventName === 'MODIFY' && oldImage && onlyCorrelationDiffers(oldImage, newImage)) return undefined;
    op = 'put';
    value = valueOfItem(table, newImage);
    const newVersion = versionOf(table, newImage, key);
    version = newVersion !== undefined && newVersion !== oldVersion ? newVersion : undefined;
  } else if (record.eventName === 'REMOVE') {
    op = 'delete';
    version = oldVersion;
  } else {
    throw new InvalidChangeError(`unknown stream eventName ${JSON.stringify(record.eventName)}`, { details: { key } });
  }
  // The publisher stores a write's correlation id in the item; it belongs to that write only.
  // A delete's id is the one the publisher tagged the item with just before deleting it.
  const correlationId = op === 'put' ? correlationOfItem(newImage) : deleteCorrelationOfItem(oldImage);
  // The same rules as every source. The key is only checked (another spelling would name another
  // item), and the table's own item rules hold by construction. A refusal names the write's
  // correlation id, so a writer waiting for its feedback hears of it.
  try {
    checkChange(
      { key, op, hasValue: value !== undefined, value, hasPrevValue: prevValue !== undefined, prevValue },
      { origin: 'table', valuesKnownSafe: small },
    );
  } catch (error) {
    throw asInvalidChange(error, correlationId === undefined ? {} : { correlationId });
  }
  return {
    key,
    op,
    ...(value === undefined ? {} : { value }),
    ...(prevValue === undefined ? {} : { prevValue }),
    revision,
    ...(version === undefined ? {} : { version }),
    source,
    time,
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(op === 'delete' && isTtlDelete(record) ? { expired: true } : {}),
  };
}

/**
 * Stream records up to this size cannot hold a value over `MAX_VALUE_BYTES` as JSON. The worst
 * growth from DynamoDB's byte count to JSON text is under twentyfold: a one-byte attribute name
 * and a one-element string set of a control character (`"\u0001":{"$stringSet":["\u0001"]},`).
 */
const SMALL_RECORD_BYTES = Math.floor((MAX_VALUE_BYTES - 4096) / 20);

function versionOf(
  table: TableConfig,
  item: Record<string, AnyAttributeValue> | undefined,
  key: string,
): Revision | undefined {
  try {
    return versionOfItem(table, item);
  } catch (cause) {
    throw new InvalidChangeError(`version attribute "${versionAttributeOf(table)}": ${(cause as Error).message}`, {
      cause,
      details: { key },
    });
  }
}

/** Whether two images differ in the delete's correlation attribute and nothing else (the publisher's tag). */
function onlyCorrelationDiffers(
  oldImage: Record<string, AnyAttributeValue>,
  newImage: Record<string, AnyAttributeValue>,
): boolean {
  if (sameAttribute(oldImage[DELETE_CORRELATION_ATTRIBUTE], newImage[DELETE_CORRELATION_ATTRIBUTE])) return false;
  const names = new Set([...Object.keys(oldImage), ...Object.keys(newImage)]);
  names.delete(DELETE_CORRELATION_ATTRIBUTE);
  for (const name of names) if (!sameAttribute(oldImage[name], newImage[name])) return false;
  return true;
}

/** Deep equality of two attribute values as a stream record carries them (set members in any order). */
function sameAttribute(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => sameAttribute(item, b[index]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const names = Object.keys(x);
  if (names.length !== Object.keys(y).length) return false;
  return names.every((name) =>
    (name === 'SS' || name === 'NS' || name === 'BS') && Array.isArray(x[name]) && Array.isArray(y[name])
      ? sameAttribute([...(x[name] as string[])].sort(), [...(y[name] as string[])].sort())
      : sameAttribute(x[name], y[name]),
  );
}
