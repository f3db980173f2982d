import type { DynamoDBRecord } from 'aws-lambda';
import type { TableConfig } from '../../config.ts';
import { InvalidChangeError } from '../../errors.ts';
import type { Change } from '../../model/change.ts';
import { correlationOfItem, keyOfItem, valueOfItem, versionAttributeOf, versionOfItem } from '../../model/item.ts';
import { assertJsonSafe, MAX_VALUE_BYTES, type AnyAttributeValue } from '../../model/json-value.ts';
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
 * - The revision is the item's version attribute (default `version`) when the item carries it;
 *   a delete of a versioned item gets the removed version plus one, so it orders after the last
 *   put. Otherwise the revision is the stream sequence number (compared with BigInt).
 * - A TTL deletion has `expired: true`; a put's correlation id is read from the item's
 *   correlation attribute and is not part of the value.
 * @throws InvalidChangeError naming what is wrong with the record.
 */
export function changeFromStreamRecord(record: DynamoDBRecord, tables: ReadonlyMap<string, TableConfig>): Change {
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
  const sequenceRevision = toRevision(sequence);
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
  const prevValue = oldImage ? checked(valueOfItem(table, oldImage), 'OldImage', key, small) : undefined;

  if (record.eventName === 'INSERT' || record.eventName === 'MODIFY') {
    if (!newImage) {
      throw new InvalidChangeError(
        `${record.eventName} record has no NewImage: the stream view type must be NEW_AND_OLD_IMAGES`,
        { details: { key } },
      );
    }
    const value = checked(valueOfItem(table, newImage), 'NewImage', key, small);
    const revision = versionOf(table, newImage, key) ?? sequenceRevision;
    // The publisher stores a put's correlation id in the item; it belongs to this write only.
    const correlationId = correlationOfItem(newImage);
    return {
      key,
      op: 'put',
      value,
      ...(prevValue === undefined ? {} : { prevValue }),
      revision,
      source,
      time,
      ...(correlationId === undefined ? {} : { correlationId }),
    };
  }
  if (record.eventName === 'REMOVE') {
    const removed = versionOf(table, oldImage, key);
    const revision = removed === undefined ? sequenceRevision : (BigInt(removed) + 1n).toString();
    return {
      key,
      op: 'delete',
      ...(prevValue === undefined ? {} : { prevValue }),
      revision,
      source,
      time,
      ...(isTtlDelete(record) ? { expired: true } : {}),
    };
  }
  throw new InvalidChangeError(`unknown stream eventName ${JSON.stringify(record.eventName)}`, { details: { key } });
}

/**
 * Stream records up to this size cannot hold a value over `MAX_VALUE_BYTES` as JSON. The worst
 * growth from DynamoDB's byte count to JSON text is under twentyfold: a one-byte attribute name
 * and a one-element string set of a control character (`"\u0001":{"$stringSet":["\u0001"]},`).
 */
const SMALL_RECORD_BYTES = Math.floor((MAX_VALUE_BYTES - 4096) / 20);

function checked<T>(value: T, image: string, key: string, small: boolean): T {
  if (small) return value;
  try {
    assertJsonSafe(value);
    return value;
  } catch (cause) {
    throw new InvalidChangeError(`${image}: ${(cause as Error).message}`, { cause, details: { key } });
  }
}

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
