// Counts the AWS calls a set of SDK clients makes, by operation, and the read and write units
// DynamoDB would charge for them (bench/cost/capacity.ts), by table. It is SDK middleware on the
// clients the code under test uses; the sizes of items a call does not return (a write's before
// and after images, the items a filtered Query evaluated) are read through a second client the
// meter does not count.
import {
  BatchGetItemCommand,
  DescribeTableCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { chunk } from '../../lib/aws/batch.ts';
import { runOutsideFunctions } from '../../lib/aws/clients/call-log.ts';
import { itemSize, readUnits, writeUnits } from './capacity.ts';

type Item = Record<string, AttributeValue>;
// biome-ignore lint/suspicious/noExplicitAny: the inputs and outputs of every DynamoDB operation, read loosely
type Input = Record<string, any>;

/** What one table was charged. */
export interface TableUsage {
  readUnits: number;
  writeUnits: number;
  /** Of the write units, those charged twice because a transaction wrote the item. */
  transactionalWriteUnits: number;
  /** Items looked up or evaluated (GetItem/BatchGetItem keys, Query/Scan items before filters). */
  rowsRead: number;
  /** Items put, updated or deleted. */
  rowsWritten: number;
}

/** What the clients did since the meter was last reset. */
export interface Usage {
  /** Calls by operation (`BatchGetItem`, `SendMessageBatch`, ...), as the code made them (before SDK retries). */
  readonly calls: Readonly<Record<string, number>>;
  /** By table name. */
  readonly tables: Readonly<Record<string, TableUsage>>;
  /** By table name and kind of row (`<table> <kind>`), for tables the meter was told how to tell rows apart. */
  readonly kinds: Readonly<Record<string, TableUsage>>;
  /** Messages sent to SQS. */
  readonly messages: number;
}

/** The total number of calls of a usage. */
export function totalCalls(usage: Usage): number {
  return Object.values(usage.calls).reduce((sum, count) => sum + count, 0);
}

/** One table's usage, zero when the table was not touched. */
export function tableUsage(usage: Usage, table: string): TableUsage {
  return usage.tables[table] ?? emptyTable();
}

/** The usage of `name` in `map`, added when missing. */
export function usageIn(map: Record<string, TableUsage>, name: string): TableUsage {
  let usage = map[name];
  if (!usage) {
    usage = emptyTable();
    map[name] = usage;
  }
  return usage;
}

function emptyTable(): TableUsage {
  return { readUnits: 0, writeUnits: 0, transactionalWriteUnits: 0, rowsRead: 0, rowsWritten: 0 };
}

type Next = (args: { input: Input }) => Promise<{ output: Input }>;
interface Stack {
  add(
    middleware: (next: Next, context: { commandName?: string }) => Next,
    options: { step: 'initialize'; name: string; priority: 'high' },
  ): void;
}

/** A write of one item, as the meter charges it. */
interface ItemWrite {
  readonly table: string;
  readonly key: Item;
  readonly kind: 'put' | 'update' | 'delete' | 'check';
  /** The new item of a put. */
  readonly item?: Item;
}

/** Names the kind of a row of a table (from its key), or undefined when the table's rows are not told apart. */
export type RowKind = (table: string, key: Item) => string | undefined;

export class CostMeter {
  readonly #side: DynamoDBClient;
  readonly #kindOf: RowKind;
  readonly #schemas = new Map<string, Promise<KeySchemaElement[]>>();
  #calls: Record<string, number> = {};
  #tables: Record<string, TableUsage> = {};
  #kinds: Record<string, TableUsage> = {};
  #messages = 0;

  /**
   * @param side a DynamoDB client without the meter, for the sizes calls do not return.
   * @param kindOf how rows are told apart, for figures per kind of row.
   */
  constructor(side: DynamoDBClient, kindOf: RowKind = () => undefined) {
    this.#side = side;
    this.#kindOf = kindOf;
  }

  /** Meters every client of the set. */
  attach(clients: AwsClients): void {
    this.#attach(clients.dynamodb, true);
    for (const client of [clients.sqs, clients.eventbridge, clients.streams]) this.#attach(client, false);
  }

  /** What was used since the last `take`, and a fresh start. */
  take(): Usage {
    const usage: Usage = { calls: this.#calls, tables: this.#tables, kinds: this.#kinds, messages: this.#messages };
    this.#calls = {};
    this.#tables = {};
    this.#kinds = {};
    this.#messages = 0;
    return usage;
  }

  #attach(client: { middlewareStack: unknown }, dynamodb: boolean): void {
    (client.middlewareStack as Stack).add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? '?').replace(/Command$/, '');
        this.#calls[operation] = (this.#calls[operation] ?? 0) + 1;
        if (operation === 'SendMessageBatch') this.#messages += (args.input.Entries as unknown[]).length;
        if (operation === 'SendMessage') this.#messages += 1;
        if (!dynamodb) return next(args);
        const writes = this.#writesOf(operation, args.input);
        const before = writes ? await this.#sizes(writes) : [];
        let result: { output: Input };
        try {
          result = await next(args);
        } catch (error) {
          if (writes) this.#chargeRefused(operation, writes, before, error);
          throw error;
        }
        if (writes) await this.#chargeWrites(operation, writes, before, result.output);
        else await this.#chargeReads(operation, args.input, result.output);
        return result;
      },
      // Before the SDK's retries: one count per call the code makes.
      { step: 'initialize', name: 'costMeter', priority: 'high' },
    );
  }

  /** Adds figures to a table's usage and to its row kind's (named from `key`, a row's key or whole item). */
  #add(table: string, key: Item | undefined, figures: Partial<TableUsage>): void {
    const kind = key === undefined ? undefined : this.#kindOf(table, key);
    const targets = [usageIn(this.#tables, table)];
    if (kind !== undefined) targets.push(usageIn(this.#kinds, `${table} ${kind}`));
    for (const usage of targets)
      for (const [field, value] of Object.entries(figures) as Array<[keyof TableUsage, number]>) usage[field] += value;
  }

  async #chargeReads(operation: string, input: Input, output: Input): Promise<void> {
    if (operation === 'GetItem') {
      this.#add(input.TableName, input.Key, {
        rowsRead: 1,
        readUnits: readUnits(itemSize(output.Item), { consistent: input.ConsistentRead === true }),
      });
    } else if (operation === 'BatchGetItem') {
      for (const [table, request] of Object.entries(input.RequestItems as Record<string, Input>)) {
        const kind = { consistent: request.ConsistentRead === true };
        const found: Item[] = output.Responses?.[table] ?? [];
        const schema = await this.#schema(table);
        const foundKeys = new Set(found.map((row) => JSON.stringify(keyOf(row, schema))));
        const unread = new Set(
          ((output.UnprocessedKeys?.[table]?.Keys ?? []) as Item[]).map((key) => JSON.stringify(keyOf(key, schema))),
        );
        // Each item is charged on its own, rounded up; a key with no item still costs a block.
        for (const row of found) this.#add(table, row, { rowsRead: 1, readUnits: readUnits(itemSize(row), kind) });
        for (const key of request.Keys as Item[]) {
          const id = JSON.stringify(keyOf(key, schema));
          if (!foundKeys.has(id) && !unread.has(id))
            this.#add(table, key, { rowsRead: 1, readUnits: readUnits(0, kind) });
        }
      }
    } else if (operation === 'Query' || operation === 'Scan') {
      const evaluated = await this.#evaluated(operation, input, output);
      // The items a call evaluated are charged together, rounded up once.
      const bytes = evaluated.reduce((sum, row) => sum + itemSize(row), 0);
      this.#add(input.TableName, evaluated[0], {
        rowsRead: evaluated.length,
        readUnits: readUnits(bytes, { consistent: input.ConsistentRead === true }),
      });
    }
  }

  /**
   * The items a Query or Scan call evaluated: what it returned, or, when a filter or a projection
   * made it return less, the same call made again without them (DynamoDB charges the whole items
   * it read, before filters).
   */
  async #evaluated(operation: string, input: Input, output: Input): Promise<Item[]> {
    if (input.FilterExpression === undefined && input.ProjectionExpression === undefined && input.Select === undefined)
      return output.Items ?? [];
    const { FilterExpression: _f, ProjectionExpression: _p, Select: _s, ...rest } = input;
    const used = [rest.KeyConditionExpression ?? ''].join(' ');
    const names = pick(rest.ExpressionAttributeNames, used);
    const values = pick(rest.ExpressionAttributeValues, used);
    const again = { ...rest, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
    const command = operation === 'Query' ? new QueryCommand(again as never) : new ScanCommand(again as never);
    const result = await runOutsideFunctions(() => this.#side.send(command as never));
    return (result as { Items?: Item[] }).Items ?? [];
  }

  #writesOf(operation: string, input: Input): ItemWrite[] | undefined {
    switch (operation) {
      case 'PutItem':
        return [{ table: input.TableName, key: input.Item, kind: 'put', item: input.Item }];
      case 'UpdateItem':
        return [{ table: input.TableName, key: input.Key, kind: 'update' }];
      case 'DeleteItem':
        return [{ table: input.TableName, key: input.Key, kind: 'delete' }];
      case 'BatchWriteItem':
        return Object.entries(input.RequestItems as Record<string, Input[]>).flatMap(([table, requests]) =>
          requests.map(
            (request): ItemWrite =>
              request.PutRequest
                ? { table, key: request.PutRequest.Item, kind: 'put', item: request.PutRequest.Item }
                : { table, key: request.DeleteRequest.Key, kind: 'delete' },
          ),
        );
      case 'TransactWriteItems':
        return (input.TransactItems as Input[]).map((action): ItemWrite => {
          if (action.Put)
            return { table: action.Put.TableName, key: action.Put.Item, kind: 'put', item: action.Put.Item };
          if (action.Update) return { table: action.Update.TableName, key: action.Update.Key, kind: 'update' };
          if (action.Delete) return { table: action.Delete.TableName, key: action.Delete.Key, kind: 'delete' };
          return { table: action.ConditionCheck.TableName, key: action.ConditionCheck.Key, kind: 'check' };
        });
      default:
        return undefined;
    }
  }

  async #chargeWrites(operation: string, writes: readonly ItemWrite[], before: number[], output: Input): Promise<void> {
    const transactional = operation === 'TransactWriteItems';
    // Entries a BatchWriteItem left unprocessed were not written (the caller sends them again).
    const unprocessed = new Set<string>();
    for (const [table, requests] of Object.entries((output.UnprocessedItems ?? {}) as Record<string, Input[]>)) {
      for (const request of requests)
        unprocessed.add(`${table}\u0000${JSON.stringify(request.PutRequest?.Item ?? request.DeleteRequest?.Key)}`);
    }
    const updated = writes.filter((write) => write.kind === 'update');
    const after = updated.length > 0 ? await this.#sizes(updated) : [];
    let next = 0;
    writes.forEach((write, index) => {
      if (unprocessed.has(`${write.table}\u0000${JSON.stringify(write.item ?? write.key)}`)) return;
      const size =
        write.kind === 'put'
          ? itemSize(write.item)
          : write.kind === 'update'
            ? after[next++]!
            : write.kind === 'delete'
              ? 0
              : before[index]!;
      const units = writeUnits(before[index]!, size, transactional);
      this.#add(write.table, write.key, {
        writeUnits: units,
        ...(transactional ? { transactionalWriteUnits: units } : {}),
        ...(write.kind === 'check' ? {} : { rowsWritten: 1 }),
      });
    });
  }

  /**
   * A write refused by its condition (or a cancelled transaction) is still charged: for an
   * existing item as a write of it, for a missing one one unit; a cancelled transaction is
   * charged for every item it would have written. Other errors (throttling, validation) are not.
   */
  #chargeRefused(operation: string, writes: readonly ItemWrite[], before: number[], error: unknown): void {
    const name = (error as { name?: string }).name;
    if (name !== 'ConditionalCheckFailedException' && name !== 'TransactionCanceledException') return;
    const transactional = operation === 'TransactWriteItems';
    writes.forEach((write, index) => {
      const units = writeUnits(before[index]!, write.item ? itemSize(write.item) : 0, transactional);
      this.#add(write.table, write.key, {
        writeUnits: units,
        ...(transactional ? { transactionalWriteUnits: units } : {}),
      });
    });
  }

  /** The current sizes of the items of `writes` (0 for a missing item), read strongly consistent. */
  async #sizes(writes: readonly ItemWrite[]): Promise<number[]> {
    const keys = await Promise.all(writes.map(async (write) => keyOf(write.key, await this.#schema(write.table))));
    const sizes = new Map<string, number>();
    const byTable = new Map<string, Item[]>();
    writes.forEach((write, index) => {
      byTable.set(write.table, [...(byTable.get(write.table) ?? []), keys[index]!]);
    });
    for (const [table, tableKeys] of byTable) {
      const schema = await this.#schema(table);
      for (const batch of chunk(unique(tableKeys), 100)) {
        let pending: Item[] = batch;
        while (pending.length > 0) {
          const result = await runOutsideFunctions(() =>
            this.#side.send(
              new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
            ),
          );
          for (const item of result.Responses?.[table] ?? [])
            sizes.set(`${table}\u0000${JSON.stringify(keyOf(item, schema))}`, itemSize(item));
          pending = result.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }
    }
    return writes.map((write, index) => sizes.get(`${write.table}\u0000${JSON.stringify(keys[index])}`) ?? 0);
  }

  #schema(table: string): Promise<KeySchemaElement[]> {
    let schema = this.#schemas.get(table);
    if (!schema) {
      schema = runOutsideFunctions(() => this.#side.send(new DescribeTableCommand({ TableName: table }))).then(
        (result) => result.Table?.KeySchema ?? [],
      );
      this.#schemas.set(table, schema);
    }
    return schema;
  }
}

/** An item's key attributes, in key-schema order (so equal keys serialize alike). */
function keyOf(item: Item, schema: readonly KeySchemaElement[]): Item {
  return Object.fromEntries(schema.map(({ AttributeName }) => [AttributeName!, item[AttributeName!]!]));
}

function unique(keys: readonly Item[]): Item[] {
  return [...new Map(keys.map((key) => [JSON.stringify(key), key])).values()];
}

/** The entries of an expression map whose names occur in `expression` (unused ones are refused). */
function pick<T>(map: Record<string, T> | undefined, expression: string): Record<string, T> | undefined {
  if (!map) return undefined;
  const kept = Object.entries(map).filter(([name]) =>
    new RegExp(`${escapeRegExp(name)}(?![A-Za-z0-9_])`).test(expression),
  );
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
