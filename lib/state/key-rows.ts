import { createHash, randomInt } from 'node:crypto';
import {
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItem,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StateFailedError } from '../errors.ts';
import type { Revision } from '../model/revision.ts';
import { keyRowKey, positionAttribute } from './table.ts';

/**
 * One plugin's position on one key, as the key's row in the state table stores it. The rows are
 * shared by every plugin (see `table.ts`), so a position is kept small: one string attribute
 * `p:<plugin>` of the form `revision|version|present|at|under|stamp`, where `at` is base-36
 * milliseconds, `under` a short hash of the snapshot current when it was written and `stamp` a
 * random tag, so that every write stores a different text and a write conditional on the text it
 * read cannot overwrite a position written meanwhile. Ten plugins' positions and a short key fit
 * in the 1 KB that one write unit covers.
 */

/** What a plugin holds for one key. */
export interface HeldKey {
  /** The revision of the last change applied, when known. */
  readonly revision?: Revision;
  /** The item version held, when known. */
  readonly version?: Revision;
  /** False for a tombstone: the plugin saw the key deleted. */
  readonly present: boolean;
  /**
   * When it was recorded (milliseconds since the epoch). A key row and a snapshot entry of the
   * same key are two records of it; the later one is what the plugin holds.
   */
  readonly at?: number;
  /**
   * For a key row: the hash of the snapshot that was current when it was written. Such a row is
   * newer than anything in that snapshot, whatever the clocks of the hosts that wrote them say.
   */
  readonly under?: string;
  /** True when this comes from the plugin's current snapshot rather than its key row. */
  readonly fromSnapshot?: boolean;
  /** The stored text of the position, for a write conditional on it being unchanged. */
  readonly stored?: string;
}

/** One position to write: the plugin now holds `revision`/`version` for `key`, or saw it deleted. */
export interface KeyRecord {
  readonly key: string;
  readonly revision?: Revision;
  readonly version?: Revision;
  readonly present: boolean;
}

/** The hash of a snapshot id, as positions store it. */
export function snapshotTag(snapshot: string): string {
  return createHash('sha256').update(snapshot).digest('hex').slice(0, 8);
}

/** Reads a position attribute. */
export function parsePosition(text: string | undefined): HeldKey | undefined {
  if (text === undefined) return undefined;
  const [revision = '', version = '', present = '1', at = '', under = ''] = text.split('|');
  return {
    present: present === '1',
    ...(revision ? { revision } : {}),
    ...(version ? { version } : {}),
    ...(at ? { at: Number.parseInt(at, 36) } : {}),
    ...(under ? { under } : {}),
    stored: text,
  };
}

/** Writes a position attribute, with a fresh stamp. */
export function formatPosition(record: KeyRecord, at: number, under: string | undefined): string {
  return [
    record.revision ?? '',
    record.version ?? '',
    record.present ? '1' : '0',
    at.toString(36),
    under === undefined ? '' : snapshotTag(under),
    // Fixed width, so a position's size (and what a write of it costs) does not vary.
    randomInt(2 ** 40)
      .toString(36)
      .padStart(8, '0'),
  ].join('|');
}

/** A position to record: for a plugin, on a key, conditional on what was read (none: on there being none). */
export interface PositionWrite {
  readonly plugin: string;
  readonly record: KeyRecord;
  /** The snapshot current when the change was planned. */
  readonly under?: string;
  /**
   * Write only if the stored position is still this text; `null`: only if there is none.
   * Omitted: always (a resync, which alone writes a plugin's positions while it runs).
   */
  readonly expect?: string | null;
}

/** Actions per TransactWriteItems call: DynamoDB's limit. */
const TRANSACTION_ITEMS = 100;
/** Rounds of a transaction whose items were cancelled by a concurrent transaction, before giving up. */
const CONFLICT_ROUNDS = 4;

/**
 * Records positions: one update of each key's row, setting the positions of every plugin given
 * for it, up to 100 rows in one transaction. A transaction is how DynamoDB takes several
 * updates in one call (BatchWriteItem can only replace whole rows, which would overwrite other
 * plugins' positions); it costs two write units per row.
 * @returns the writes refused because a position changed since it was read (by plugin and key).
 * @throws StateFailedError when the state table fails.
 */
export async function writePositions(
  table: { readonly dynamodb: DynamoDBClient; readonly name: string },
  writes: readonly PositionWrite[],
): Promise<PositionWrite[]> {
  const byKey = new Map<string, PositionWrite[]>();
  for (const write of writes) {
    const list = byKey.get(write.record.key);
    if (list) list.push(write);
    else byKey.set(write.record.key, [write]);
  }
  const refused: PositionWrite[] = [];
  const groups = [...byKey.values()];
  for (let start = 0; start < groups.length; start += TRANSACTION_ITEMS) {
    let pending = groups.slice(start, start + TRANSACTION_ITEMS);
    const at = Date.now();
    for (let round = 0; pending.length > 0; round += 1) {
      const items = pending.map((group) => updateOf(table.name, group, at));
      try {
        await table.dynamodb.send(new TransactWriteItemsCommand({ TransactItems: items }));
        pending = [];
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) || round >= CONFLICT_ROUNDS) {
          throw new StateFailedError('record what plugins applied', error);
        }
        // Nothing was written. Rows whose condition failed are refused; the rest go again (a
        // row another transaction held at the same moment is tried again after a short wait).
        const reasons = error.CancellationReasons ?? [];
        const failed = new Set(
          reasons.flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : [])),
        );
        const busy = reasons.some((reason) => reason.Code === 'TransactionConflict');
        for (const index of failed) refused.push(...pending[index]!);
        pending = pending.filter((_, index) => !failed.has(index));
        if (failed.size === 0 && !busy) throw new StateFailedError('record what plugins applied', error);
        if (busy) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** round + randomInt(20)));
      }
    }
  }
  return refused;
}

function updateOf(tableName: string, group: readonly PositionWrite[], at: number): TransactWriteItem {
  const { pk, sk } = keyRowKey(group[0]!.record.key);
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const sets: string[] = [];
  const conditions: string[] = [];
  group.forEach((write, index) => {
    names[`#p${index}`] = positionAttribute(write.plugin);
    values[`:p${index}`] = { S: formatPosition(write.record, at, write.under) };
    sets.push(`#p${index} = :p${index}`);
    if (write.expect === null) conditions.push(`attribute_not_exists(#p${index})`);
    else if (write.expect !== undefined) {
      values[`:e${index}`] = { S: write.expect };
      conditions.push(`#p${index} = :e${index}`);
    }
  });
  return {
    Update: {
      TableName: tableName,
      Key: { pk: { S: pk }, sk: { S: sk } },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
    },
  };
}
