import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Revision } from '../model/revision.ts';
import { bucketOf, groupOf } from './table.ts';

/**
 * How a snapshot row holds keys: `keys` is a JSON list of `[rest]` or `[rest, version]`, where each
 * key is `prefix` + `rest`; `prefix` is what every key of the row begins with (keys under a few
 * prefixes share most of their text, and a write unit is 1 KB, so the shared part is stored once).
 */

/** One key a snapshot recorded, with the item's version when the table keeps one. */
export type SnapshotRecord = readonly [key: string, version?: Revision];

/** Characters of keys and versions per snapshot row: at most 3 bytes each in UTF-8, so rows stay under DynamoDB's 400 KB. */
const SNAPSHOT_ROW_CHARS = 100_000;

/** The attributes of the rows recording `records`, by group: at least one row per group with keys. */
export function encodeSnapshotRows(
  records: readonly SnapshotRecord[],
): Array<{ group: number; part: number; attributes: Record<string, AttributeValue> }> {
  const byGroup = new Map<number, SnapshotRecord[]>();
  for (const record of records) {
    const group = groupOf(bucketOf(record[0]));
    let list = byGroup.get(group);
    if (!list) {
      list = [];
      byGroup.set(group, list);
    }
    list.push(record);
  }
  const rows: Array<{ group: number; part: number; attributes: Record<string, AttributeValue> }> = [];
  for (const [group, list] of byGroup) {
    const keys = list.map(([key]) => key).sort();
    const prefix = commonPrefix(keys[0]!, keys.at(-1)!);
    const texts = splitJson(
      list.map(([key, version]) =>
        version === undefined ? [key.slice(prefix.length)] : [key.slice(prefix.length), version],
      ),
      SNAPSHOT_ROW_CHARS,
    );
    texts.forEach((text, part) => {
      rows.push({ group, part, attributes: { keys: { S: text }, ...(prefix ? { prefix: { S: prefix } } : {}) } });
    });
  }
  return rows;
}

/** The keys a snapshot row records. */
export function decodeSnapshotRow(row: Record<string, AttributeValue>): SnapshotRecord[] {
  const prefix = row.prefix?.S ?? '';
  return (JSON.parse(row.keys?.S ?? '[]') as Array<[string, Revision?]>).map(([rest, version]) =>
    version === undefined ? [prefix + rest] : [prefix + rest, version],
  );
}

/** The longest common prefix of the least and the greatest of a sorted list: that of the whole list. */
function commonPrefix(first: string, last: string): string {
  let length = 0;
  while (length < first.length && first.charCodeAt(length) === last.charCodeAt(length)) length += 1;
  // Never split a surrogate pair: the rest of each key must stay valid text.
  if (length > 0 && /[\ud800-\udbff]/.test(first[length - 1]!)) length -= 1;
  return first.slice(0, length);
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
