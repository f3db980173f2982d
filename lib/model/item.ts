import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TableConfig } from './table-config.ts';
import { InvalidChangeError } from '../errors.ts';
import {
  fromAttributeMapExcept,
  fromAttributeValue,
  toAttributeMap,
  type AnyAttributeValue,
  type JsonObject,
} from './json-value.ts';
import { keyMatchesPrefix, validateKey } from './key.ts';
import { toRevision, type Revision } from './revision.ts';

/**
 * How a change key maps to a DynamoDB item and back. The key is the table's prefix followed by the
 * item's key attribute values: with one key attribute the whole remainder is the partition key
 * (`config` + `interfaces/eth0`); with two, the first remaining segment is the partition key and
 * the rest the sort key (`config` + `interfaces` + `eth0`). Key attributes are strings.
 *
 * The change's value is the item without its key, version and correlation attributes, so an
 * existing table's items map naturally; a value written to a table must therefore be a JSON object.
 */

/** The version attribute used when a table config names none. */
export const DEFAULT_VERSION_ATTRIBUTE = 'version';

/**
 * The attribute in which a put's correlation id travels with the item (a stream record has no
 * other place for it). It belongs to the write that made the image, so it is never part of the
 * value, and values may not use the name.
 */
export const CORRELATION_ATTRIBUTE = 'datasyncCorrelationId';

/**
 * The attribute a publisher writes into an item just before deleting it, holding the delete's
 * correlation id: the stream record of a delete holds only the old item, so this is how the id
 * reaches the plugins' feedback. Never part of a value either.
 */
export const DELETE_CORRELATION_ATTRIBUTE = 'datasyncDeleteCorrelationId';

/** Attributes that belong to a write, never to the value. */
const WRITE_ATTRIBUTES = new Set([CORRELATION_ATTRIBUTE, DELETE_CORRELATION_ATTRIBUTE]);

/** The version attribute of a table: its configured one, else {@link DEFAULT_VERSION_ATTRIBUTE}. */
export function versionAttributeOf(table: TableConfig): string {
  return table.versionAttribute ?? DEFAULT_VERSION_ATTRIBUTE;
}

/** The correlation id a put stored in the item, if any. */
export function correlationOfItem(item: Record<string, AnyAttributeValue> | undefined): string | undefined {
  return item?.[CORRELATION_ATTRIBUTE]?.S;
}

/** The correlation id a delete stored in the item it then removed, if any. */
export function deleteCorrelationOfItem(item: Record<string, AnyAttributeValue> | undefined): string | undefined {
  return item?.[DELETE_CORRELATION_ATTRIBUTE]?.S;
}

/** The change key of an item, from its key attributes. */
export function keyOfItem(table: TableConfig, item: Record<string, AnyAttributeValue>): string {
  const parts = table.keyAttributes.map((name) => {
    const attribute = item[name];
    if (attribute?.S === undefined) {
      throw new InvalidChangeError(`item in table ${table.name} has no string key attribute "${name}"`, {
        details: { table: table.name },
      });
    }
    return attribute.S;
  });
  try {
    return validateKey([table.prefix, ...parts].join('/'));
  } catch (cause) {
    throw new InvalidChangeError(`item in table ${table.name} has an invalid key: ${(cause as Error).message}`, {
      cause,
      details: { table: table.name },
    });
  }
}

/**
 * The table that holds a key: the one whose prefix the key lies under (the longest prefix when
 * several do), if any. A key equal to a table's prefix names no item.
 */
export function tableOfKey(tables: readonly TableConfig[], key: string): TableConfig | undefined {
  let found: TableConfig | undefined;
  for (const table of tables) {
    if (
      key !== table.prefix &&
      keyMatchesPrefix(key, table.prefix) &&
      table.prefix.length > (found?.prefix.length ?? -1)
    ) {
      found = table;
    }
  }
  return found;
}

/** The key attributes of the item a change key names. */
export function itemKeyOf(table: TableConfig, key: string): Record<string, AttributeValue> {
  validateKey(key);
  if (!keyMatchesPrefix(key, table.prefix) || key === table.prefix) {
    throw new InvalidChangeError(`key ${key} is not under the prefix "${table.prefix}" of table ${table.name}`, {
      details: { key },
    });
  }
  const rest = key.slice(table.prefix.length + 1);
  const [partition, sort] = table.keyAttributes;
  if (sort === undefined) return { [partition!]: { S: rest } };
  const slash = rest.indexOf('/');
  if (slash < 0) {
    throw new InvalidChangeError(
      `key ${key} needs a partition and a sort part under "${table.prefix}" for table ${table.name}`,
      { details: { key } },
    );
  }
  return { [partition!]: { S: rest.slice(0, slash) }, [sort]: { S: rest.slice(slash + 1) } };
}

/** The change value an item carries: its attributes less the key and version attributes. */
export function valueOfItem(table: TableConfig, item: Record<string, AnyAttributeValue>): JsonObject {
  const versionAttribute = versionAttributeOf(table);
  return fromAttributeMapExcept(
    item,
    (name) => name === versionAttribute || WRITE_ATTRIBUTES.has(name) || table.keyAttributes.includes(name),
  );
}

/** The item's revision: its version attribute (see {@link versionAttributeOf}), when the item carries one. */
export function versionOfItem(
  table: TableConfig,
  item: Record<string, AnyAttributeValue> | undefined,
): Revision | undefined {
  if (!item) return undefined;
  const attribute = item[versionAttributeOf(table)];
  if (attribute === undefined) return undefined;
  // Read the number's text: a clock-made version is beyond what a JS number holds exactly.
  return toRevision(attribute.N ?? fromAttributeValue(attribute));
}

/** The full item for a key and value (plus the version, when the table keeps one). */
export function itemOf(
  table: TableConfig,
  key: string,
  value: JsonObject,
  version?: Revision,
): Record<string, AttributeValue> {
  const versionAttribute = versionAttributeOf(table);
  for (const name of [...table.keyAttributes, versionAttribute, ...WRITE_ATTRIBUTES]) {
    if (Object.hasOwn(value, name)) {
      throw new InvalidChangeError(
        `value member "${name}" collides with a key or version attribute of table ${table.name}`,
        { details: { key } },
      );
    }
  }
  return {
    ...toAttributeMap(value),
    ...itemKeyOf(table, key),
    ...(version !== undefined ? { [versionAttribute]: { N: version } } : {}),
  };
}
