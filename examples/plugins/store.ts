import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { dynamoDbClient } from '../../lib/aws/clients/dynamodb.ts';
import { RevisionClock } from '../../lib/publish/clock.ts';
import type { Change, JsonObject, Plugin, TableConfig } from '../../lib/index.ts';
// Functions come from their own modules rather than the package index, so a function's bundle
// does not evaluate the whole library to get them.
import { itemKeyOf, itemOf, versionAttributeOf } from '../../lib/model/item.ts';
import { keyMatchesPrefix } from '../../lib/model/key.ts';

// Versions written by the publishers and this plugin are clock revisions below 2^63; stream
// sequence numbers are larger.
function isVersion(revision: string | undefined): boolean {
  return revision !== undefined && /^\d{1,19}$/.test(revision) && BigInt(revision) < 2n ** 63n;
}

/**
 * An example plugin that keeps the tables the store of record: a change that arrived over a bus
 * (SQS, EventBridge) is written into the table that holds its key, with its revision as the
 * item's version. The table's stream then carries the same change at the same revision, which
 * every plugin already holds and skips; and a later resync, which reads the tables, agrees with
 * what the bus delivered. Writes are conditional, so a stale or repeated change never overwrites
 * a newer item. Register it first: its own resync has nothing to apply.
 */
export function createStorePlugin(
  tables: readonly TableConfig[],
  options: { clients?: AwsClients; concurrency?: number } = {},
): Plugin {
  const byLongestPrefix = [...tables].sort((a, b) => b.prefix.length - a.prefix.length);
  const tableOf = (key: string) =>
    byLongestPrefix.find((table) => keyMatchesPrefix(key, table.prefix) && key !== table.prefix);

  // A change without a revision gets one from a clock, so the item still carries a version in
  // the publishers' revision space (an unversioned item's stream records would be ordered by
  // sequence numbers, which are not comparable with versions).
  const clock = new RevisionClock();
  const write = async (given: Change): Promise<void> => {
    const table = tableOf(given.key);
    if (!table) return;
    const revision = given.revision ?? clock.next();
    const change: Change = { ...given, revision };
    const dynamodb = options.clients?.dynamodb ?? dynamoDbClient();
    const version = versionAttributeOf(table);
    // Only a newer revision replaces the item.
    const condition = {
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
      ExpressionAttributeNames: { '#v': version },
      ExpressionAttributeValues: { ':v': { N: revision } },
    };
    try {
      if (change.op === 'put') {
        const value = change.value;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw new TypeError(`${change.key}: a value stored in table ${table.name} must be a JSON object`);
        }
        await dynamodb.send(
          new PutItemCommand({
            TableName: table.name,
            Item: itemOf(table, change.key, value as JsonObject, revision),
            ...condition,
          }),
        );
      } else {
        await dynamodb.send(
          new DeleteItemCommand({ TableName: table.name, Key: itemKeyOf(table, change.key), ...condition }),
        );
      }
    } catch (error) {
      // The table already holds this revision or a newer one: nothing to do.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  };

  return {
    name: 'store',
    prefixes: [...new Set(tables.map((table) => table.prefix))],
    async change(changes) {
      // Changes that came from a table's own stream are already stored, but for deletes: a deleted
      // item keeps no version, so a bus put older than the delete can have recreated it since (the
      // delete reached the table directly, not over a bus). The delete is written again; its
      // condition makes that a no-op unless such an older item is there. Only a delete ordered by
      // the removed item's version is comparable with versions (one ordered by a stream sequence
      // number, 21 digits and more, is not).
      const pending = changes.filter(
        (change) =>
          change.source.type !== 'resync' &&
          (change.source.type !== 'dynamodb' || (change.op === 'delete' && isVersion(change.revision))),
      );
      const concurrency = Math.max(1, options.concurrency ?? 8);
      // Per key in order (the dispatcher already sorted each key's changes); keys in parallel.
      const byKey = new Map<string, Change[]>();
      for (const change of pending) byKey.set(change.key, [...(byKey.get(change.key) ?? []), change]);
      const keys = [...byKey.values()];
      await Promise.all(
        Array.from({ length: Math.min(concurrency, keys.length) }, async () => {
          for (let next = keys.shift(); next; next = keys.shift()) for (const change of next) await write(change);
        }),
      );
    },
    async resync(snapshot) {
      // The tables are this plugin's source and its target: a snapshot of them changes nothing,
      // but it is read to the end, which is what makes the plugin in sync.
      for await (const page of snapshot.pages()) void page;
    },
  };
}
