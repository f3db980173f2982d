import type { TableConfig } from '../config.ts';
import { DatasyncError, InvalidChangeError, PublishError, type UnpublishedChange } from '../errors.ts';
import { tableOfKey } from '../model/item.ts';
import { normalizeKey } from '../model/key.ts';
import type { PrefixSchema } from '../model/value-schema.ts';
import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import { dynamoDbWriter } from './dynamodb.ts';
import type { PublishChange, PublishedChange, Publisher, PublisherOptions } from './types.ts';
import { publisherOver, retryPolicy } from './writer.ts';

/**
 * A publisher over several tables: each key goes to the table whose prefix holds it (the longest
 * prefix when several do). The HTTP API writes its puts through it: a client names a key, not
 * a table. With `schemas`, puts are checked as `createPublisher` checks them.
 * @throws DatasyncError `CONFIGURATION` when no tables are given.
 */
export function createTablesPublisher<const L extends readonly PrefixSchema[] = readonly PrefixSchema[]>(
  tables: readonly TableConfig[],
  options: Omit<PublisherOptions<L>, 'target'> = {},
): Publisher<L> {
  if (tables.length === 0) throw new DatasyncError('CONFIGURATION', 'publishing by key needs at least one table');
  const policy = retryPolicy(options.retry);
  const dynamodb = options.clients?.dynamodb ?? dynamoDbClient();
  const publishers = new Map<string, Publisher>();
  const publisherFor = (given: string): Publisher => {
    const key = normalizeKey(given);
    const table = tableOfKey(tables, key);
    if (!table) {
      throw new InvalidChangeError(
        `no table holds ${key}: the prefixes are ${tables.map((t) => t.prefix).join(', ')}`,
        { details: { key } },
      );
    }
    let publisher = publishers.get(table.name);
    if (!publisher) {
      publisher = publisherOver(dynamoDbWriter({ type: 'dynamodb', table }, dynamodb, policy), options.schemas);
      publishers.set(table.name, publisher);
    }
    return publisher;
  };

  const publisher: Publisher = {
    target: `dynamodb:${tables.map((t) => t.name).join(',')}`,
    put: async (key, value, putOptions) => publisherFor(key).put(key, value, putOptions),
    delete: async (key, deleteOptions) => publisherFor(key).delete(key, deleteOptions),
    validate(changes) {
      for (const change of changes) publisherFor(change.key).validate([change]);
    },
    async publish(changes: readonly PublishChange[]): Promise<PublishedChange[]> {
      // Every key is checked before anything is written, as a single-table publish does.
      const groups = new Map<Publisher, PublishChange[]>();
      for (const change of changes) {
        const publisher = publisherFor(change.key);
        groups.set(publisher, [...(groups.get(publisher) ?? []), change]);
      }
      // Each table's own rules too, before the first write: bad input sends nothing at all.
      for (const [publisher, group] of groups) publisher.validate(group);
      const published: PublishedChange[] = [];
      const unpublished: UnpublishedChange[] = [];
      for (const [publisher, group] of groups) {
        try {
          published.push(...(await publisher.publish(group)));
        } catch (error) {
          if (!(error instanceof PublishError)) throw error;
          unpublished.push(...error.unpublished);
          published.push(
            ...group
              .filter((change) => !error.unpublished.some((u) => u.key === change.key))
              .map((change) => ({ key: change.key, op: change.op })),
          );
        }
      }
      if (unpublished.length > 0) throw new PublishError(this.target, unpublished, published.length);
      const order = new Map(changes.map((change, index) => [change.key, index]));
      return published.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    },
  };
  // The schemas type `put` for callers; every key is checked by them at run time all the same.
  return publisher as Publisher<L>;
}
