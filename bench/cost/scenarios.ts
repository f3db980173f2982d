// The cost scenarios: what the deployed functions' code asks of AWS for one batch of changes and
// for one resync, measured with CostMeter on the emulator. `bench/cost.ts` prints them and
// test/integration/cost.test.ts pins a small version. Every figure is a count (calls, items,
// bytes), so the same code gives the same figures on every run.
import { randomBytes } from 'node:crypto';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { chunk, forEachConcurrently } from '../../lib/aws/batch.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import type { TableConfig } from '../../lib/config.ts';
import { createDatasyncCore } from '../../lib/core.ts';
import { SqsDeadLetterWriter } from '../../lib/feedback/dead-letter.ts';
import { SqsFeedbackWriter } from '../../lib/feedback/sqs-writer.ts';
import type { Plugin } from '../../lib/plugins/plugin.ts';
import { runResync } from '../../lib/resync/engine.ts';
import { FailureTracker } from '../../lib/resync/failures.ts';
import { createDynamoDbStreamHandler } from '../../lib/sources/dynamodb/handler.ts';
import { OrderedQueueForwarder } from '../../lib/sources/forward.ts';
import { createSqsHandler } from '../../lib/sources/sqs/handler.ts';
import { DynamoDbLedger } from '../../lib/state/ledger.ts';
import { SyncStateStore } from '../../lib/state/store.ts';
import { SNAPSHOT_GROUPS, stateTableDefinition } from '../../lib/state/table.ts';
import { CostMeter, tableUsage, totalCalls, usageIn, type TableUsage, type Usage } from './meter.ts';

/** A figure checked against its target. */
export interface Target {
  readonly what: string;
  readonly value: number;
  readonly limit: number;
  readonly met: boolean;
}

/** One measured scenario. */
export interface ScenarioResult {
  readonly name: string;
  readonly plugins: number;
  /** Everything the clients did. */
  readonly usage: Usage;
  /** The state table's share. */
  readonly state: TableUsage;
  /** The data table's share (a resync's scan). */
  readonly data: TableUsage;
  readonly targets: readonly Target[];
}

/** The options of a run of the scenarios. */
export interface CostOptions {
  /** Plugin counts to measure the batch scenarios at. */
  readonly plugins: readonly number[];
  /** Items in the table the plugins are resynced from before the batches. */
  readonly items: number;
  /** Changes per stream batch. */
  readonly batch: number;
  /** Extra resync sizes, each measured at `resyncPlugins` plugins. */
  readonly resyncSizes?: readonly number[];
  readonly resyncPlugins?: number;
  /** Called as each scenario is measured (progress for a long run). */
  readonly onResult?: (result: ScenarioResult) => void;
}

const CONTEXT = {
  getRemainingTimeInMillis: () => 600_000,
  functionName: 'cost',
  awsRequestId: 'cost',
} as unknown as Context;
const STREAM_ARN = (table: string) =>
  `arn:aws:dynamodb:us-east-1:000000000000:table/${table}/stream/2026-01-01T00:00:00.000`;
const FIFO_ARN = 'arn:aws:sqs:us-east-1:000000000000:cost-changes.fifo';
const STANDARD_ARN = 'arn:aws:sqs:us-east-1:000000000000:cost-changes';
/** The deployed batch size of the SQS functions (FIFO queues take at most 10). */
export const SQS_BATCH = 10;

const silent = new Logger({ logLevel: 'SILENT' });
const name = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** The data table's item for key number `n`: about 120 bytes. */
function item(n: number, version: number): Record<string, AttributeValue> {
  return {
    pk: { S: `items/${String(n).padStart(6, '0')}` },
    ver: { N: String(version) },
    mtu: { N: String(1500 + (n % 7000)) },
    description: { S: `interface ${String(n).padStart(6, '0')} on the core switch, rack 12` },
    enabled: { BOOL: n % 2 === 0 },
  };
}

/** The emulator resources of one run, made and removed through clients the meter does not count. */
class Fixture {
  readonly plain: AwsClients = createAwsClients();
  readonly metered: AwsClients = createAwsClients();
  readonly meter = new CostMeter(this.plain.dynamodb, (table, key) =>
    table === this.stateTable ? stateRowKind(key.pk?.S ?? '', key.sk?.S ?? '') : undefined,
  );
  readonly #cleanups: Array<() => Promise<unknown>> = [];
  stateTable = '';
  table!: TableConfig;
  feedbackUrl = '';
  deadLetterUrl = '';
  orderedUrl = '';
  #sequence = 10n ** 21n;
  #version = 1;

  async setUp(items: number): Promise<void> {
    this.meter.attach(this.metered);
    const { dynamodb, sqs } = this.plain;
    this.stateTable = name('cost-state');
    const data = name('cost-data');
    await dynamodb.send(new CreateTableCommand(stateTableDefinition(this.stateTable)));
    this.#cleanups.push(() => dynamodb.send(new DeleteTableCommand({ TableName: this.stateTable })));
    await dynamodb.send(
      new CreateTableCommand({
        TableName: data,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    this.#cleanups.push(() => dynamodb.send(new DeleteTableCommand({ TableName: data })));
    this.table = { name: data, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'ver' };
    for (const [role, prefix] of [
      ['feedbackUrl', 'cost-feedback'],
      ['deadLetterUrl', 'cost-rejected'],
    ] as const) {
      const url = (await sqs.send(new CreateQueueCommand({ QueueName: name(prefix) }))).QueueUrl!;
      this[role] = url;
      this.#cleanups.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: url })));
    }
    const ordered = (
      await sqs.send(
        new CreateQueueCommand({ QueueName: `${name('cost-ordered')}.fifo`, Attributes: { FifoQueue: 'true' } }),
      )
    ).QueueUrl!;
    this.orderedUrl = ordered;
    this.#cleanups.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: ordered })));
    await this.load(items);
    this.meter.take();
  }

  /** Writes items 0 to n - 1 (at this run's version), 8 calls in flight. */
  async load(count: number): Promise<void> {
    const version = this.#version;
    await forEachConcurrently(
      chunk(
        Array.from({ length: count }, (_, n) => n),
        25,
      ),
      8,
      async (numbers) => {
        let pending = numbers.map((n) => ({ PutRequest: { Item: item(n, version) } }));
        while (pending.length > 0) {
          const result = await this.plain.dynamodb.send(
            new BatchWriteItemCommand({ RequestItems: { [this.table.name]: pending } }),
          );
          pending = (result.UnprocessedItems?.[this.table.name] ?? []) as typeof pending;
        }
      },
    );
  }

  /** A stream event of one MODIFY per key number, each with a new sequence number and version. */
  streamEvent(numbers: readonly number[]): { Records: DynamoDBRecord[] } {
    this.#version += 1;
    const version = this.#version;
    return {
      Records: numbers.map((n): DynamoDBRecord => {
        this.#sequence += 1n;
        return {
          eventID: String(this.#sequence),
          eventName: 'MODIFY',
          eventVersion: '1.1',
          eventSource: 'aws:dynamodb',
          awsRegion: 'us-east-1',
          eventSourceARN: STREAM_ARN(this.table.name),
          dynamodb: {
            ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
            Keys: { pk: { S: item(n, version).pk!.S! } },
            NewImage: item(n, version) as never,
            OldImage: item(n, version - 1) as never,
            SequenceNumber: this.#sequence.toString(),
            SizeBytes: 200,
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        };
      }),
    };
  }

  /**
   * Queue records of changes to bus keys (no table holds them), one message group per key: from
   * the FIFO queue, or from the standard queue (which moves them to the FIFO queue).
   */
  queueRecords(numbers: readonly number[], revision: bigint, arn = FIFO_ARN): SQSRecord[] {
    return numbers.map((n) => {
      const key = `events/${String(n).padStart(6, '0')}`;
      return {
        messageId: `m-${revision}-${n}`,
        receiptHandle: 'r',
        body: JSON.stringify({ datasync: 1, key, op: 'put', value: { n }, revision: String(revision + BigInt(n)) }),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'cost',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
          MessageGroupId: key,
          MessageDeduplicationId: `${revision}-${n}`,
          SequenceNumber: String(revision + BigInt(n)),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: arn,
        awsRegion: 'us-east-1',
      };
    });
  }

  /** P plugins that all watch the table's items and the bus keys. */
  plugins(count: number, prefix: string): Plugin[] {
    return Array.from({ length: count }, (_, index) => ({
      name: `${prefix}${String(index + 1).padStart(2, '0')}`,
      prefixes: ['config/items', 'events'],
      change() {},
      async resync(snapshot) {
        for await (const _page of snapshot.pages());
      },
    }));
  }

  store(): SyncStateStore {
    return new SyncStateStore({ stateTable: this.stateTable, clients: this.metered });
  }

  /** Resyncs the plugins (in one run) and returns what it cost. */
  async resync(plugins: readonly Plugin[], resyncId: string): Promise<Usage> {
    this.meter.take();
    const core = createDatasyncCore({ plugins: [...plugins] });
    const result = await runResync(
      core,
      { datasync: 'resync', resyncId, reason: 'manual' },
      {
        tables: [this.table],
        store: this.store(),
        clients: this.metered,
        sink: new SqsFeedbackWriter({ sqs: this.metered.sqs, queueUrl: this.feedbackUrl }),
        continueResync: async () => {
          throw new Error('the cost scenarios expect a resync to finish in one invocation');
        },
      },
    );
    const failed = result.plugins.filter((plugin) => plugin.status !== 'ok');
    if (failed.length > 0) throw new Error(`resync ${resyncId} failed: ${JSON.stringify(failed)}`);
    return this.meter.take();
  }

  /**
   * A container of the deployed functions: the core with the state-table ledger and the failure
   * tracker (functions/app.ts), and the stream and SQS handlers with the SQS writers.
   */
  container(plugins: readonly Plugin[]) {
    const ledger = new DynamoDbLedger({ store: this.store() });
    const failures = new FailureTracker({
      store: ledger.store,
      ledger,
      requestResync: async () => {
        throw new Error('no plugin fails in the cost scenarios');
      },
    });
    const core = createDatasyncCore({
      plugins: [...plugins],
      ledger,
      onOutcomes: (outcomes) => failures.record(outcomes),
    });
    const writers = {
      feedback: new SqsFeedbackWriter({ sqs: this.metered.sqs, queueUrl: this.feedbackUrl }),
      deadLetter: new SqsDeadLetterWriter({ sqs: this.metered.sqs, queueUrl: this.deadLetterUrl }),
      logger: silent,
    };
    const stream = createDynamoDbStreamHandler(core, { tables: [this.table], ...writers });
    const sqs = createSqsHandler(core, {
      tables: [this.table],
      store: false,
      orderedQueue: new OrderedQueueForwarder({ queueUrl: this.orderedUrl, sqs: this.metered.sqs }),
      ...writers,
    });
    return {
      stream: async (event: { Records: DynamoDBRecord[] }): Promise<Usage> => {
        this.meter.take();
        const response = await stream(event, CONTEXT);
        if (response.batchItemFailures.length > 0) throw new Error('a cost batch failed');
        return this.meter.take();
      },
      queue: async (records: SQSRecord[]): Promise<Usage> => {
        this.meter.take();
        const response = await sqs({ Records: records }, CONTEXT);
        if (response.batchItemFailures.length > 0) throw new Error('a cost batch failed');
        return this.meter.take();
      },
    };
  }

  async tearDown(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) await cleanup().catch(() => {});
  }
}

function result(
  fixture: Fixture,
  name: string,
  plugins: number,
  usage: Usage,
  targets: (figures: {
    calls: number;
    state: TableUsage;
    data: TableUsage;
    usage: Usage;
  }) => Array<Omit<Target, 'met'> & { op?: '<=' | '=' }>,
): ScenarioResult {
  const state = tableUsage(usage, fixture.stateTable);
  const data = tableUsage(usage, fixture.table.name);
  const checked = targets({ calls: totalCalls(usage), state, data, usage }).map(({ op, ...target }) => ({
    ...target,
    met: op === '=' ? target.value === target.limit : target.value <= target.limit,
  }));
  return { name, plugins, usage, state, data, targets: checked };
}

/** Targets of a warm batch of `changes` distinct keys. */
function batchTargets(changes: number) {
  return ({ calls, state }: { calls: number; state: TableUsage }) => [
    { what: 'calls', value: calls, limit: 10 },
    { what: 'state rows written', value: state.rowsWritten, limit: changes },
    { what: 'WCU', value: state.writeUnits, limit: 2 * changes },
    { what: 'RCU / rows read', value: ratio(state.readUnits, state.rowsRead), limit: 1.2 },
  ];
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((100 * a) / b) / 100;
}

/**
 * Runs every scenario: for each plugin count P, a resync of the table to P new plugins (each a
 * first resync) and a second one (steady: fenced, compared with the first), then a cold
 * container's first batch, a warm container's batch, the warm batch again (duplicates) and 100
 * changes through the FIFO queue in batches of 10; then the extra resync sizes.
 */
export async function runCostScenarios(options: CostOptions): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const add = (scenario: ScenarioResult) => {
    results.push(scenario);
    options.onResult?.(scenario);
  };
  const fixture = new Fixture();
  // The snapshot rows a resync writes, apart from each plugin's progress (its status row per page).
  const snapshotUnits = (usage: Usage) => usage.kinds[`${fixture.stateTable} snapshot`]?.writeUnits ?? 0;
  // One write unit per 20 items, plus a page's worth of rows (one per key group) and the row that
  // says which plugins share the snapshot: a small table costs those whatever its size.
  const snapshotLimit = (items: number) => Math.ceil(items / 20) + SNAPSHOT_GROUPS + 1;
  try {
    await fixture.setUp(options.items);
    for (const count of options.plugins) {
      const plugins = fixture.plugins(count, `p${count}-`);
      const items = options.items;
      const resyncTargets = ({ data, usage }: { data: TableUsage; usage: Usage }) => [
        // One scan of the table per run, whatever the number of plugins: its items read once.
        { what: 'table items read', value: data.rowsRead, limit: items },
        // Snapshot state in proportion to the items, not items x plugins: at most one write
        // unit per 20 items (a snapshot row holds the keys of many items).
        { what: 'snapshot WCU', value: snapshotUnits(usage), limit: snapshotLimit(items) },
      ];
      add(
        result(
          fixture,
          `resync ${items} items, first`,
          count,
          await fixture.resync(plugins, `r1-${count}-${name('x')}`),
          resyncTargets,
        ),
      );
      add(
        result(
          fixture,
          `resync ${items} items, steady`,
          count,
          await fixture.resync(plugins, `r2-${count}-${name('x')}`),
          resyncTargets,
        ),
      );

      const first = Array.from({ length: options.batch }, (_, n) => n);
      const second = Array.from({ length: options.batch }, (_, n) => options.batch + n);
      const cold = fixture.container(plugins);
      const coldUsage = await cold.stream(fixture.streamEvent(first));
      const warmEvent = fixture.streamEvent(second);
      const warmUsage = await cold.stream(warmEvent);
      const warmCalls = totalCalls(warmUsage);
      add(
        result(fixture, `stream batch of ${options.batch}, cold container`, count, coldUsage, ({ calls, state }) => [
          { what: 'calls over warm', value: calls - warmCalls, limit: 2 + count },
          { what: 'state rows written', value: state.rowsWritten, limit: options.batch },
          { what: 'WCU', value: state.writeUnits, limit: 2 * options.batch },
        ]),
      );
      add(
        result(
          fixture,
          `stream batch of ${options.batch}, warm container`,
          count,
          warmUsage,
          batchTargets(options.batch),
        ),
      );
      add(
        result(
          fixture,
          `stream batch of ${options.batch}, duplicates`,
          count,
          await cold.stream(warmEvent),
          ({ calls, state }) => [
            { what: 'calls', value: calls, limit: 3 },
            { what: 'WCU', value: state.writeUnits, limit: 0, op: '=' },
          ],
        ),
      );
      // Small batches: what a stream batch costs when the batching window ends it at 10 records.
      add(
        result(
          fixture,
          'stream batch of 10, warm container',
          count,
          await cold.stream(fixture.streamEvent(first.slice(0, 10))),
          batchTargets(10),
        ),
      );
      // The FIFO queue's deployed batch size is 10 (its most): 100 changes are 10 invocations.
      const revision = BigInt(Date.now()) * 1_000_000n;
      const fifoUsages: Usage[] = [];
      for (const numbers of chunk(first, SQS_BATCH))
        fifoUsages.push(await cold.queue(fixture.queueRecords(numbers, revision)));
      add(
        result(
          fixture,
          `FIFO queue, ${options.batch} changes in batches of ${SQS_BATCH}`,
          count,
          sumUsages(fifoUsages),
          ({ state }) => [
            { what: 'state rows written', value: state.rowsWritten, limit: options.batch },
            { what: 'WCU', value: state.writeUnits, limit: 2 * options.batch },
          ],
        ),
      );
      // The standard queue moves bus changes to the FIFO queue, 10 to a call, whatever its batch size.
      for (const size of [SQS_BATCH, options.batch]) {
        const usages: Usage[] = [];
        for (const numbers of chunk(second, size))
          usages.push(await cold.queue(fixture.queueRecords(numbers, revision + 1_000_000n, STANDARD_ARN)));
        add(
          result(
            fixture,
            `standard queue, ${options.batch} changes in batches of ${size}`,
            count,
            sumUsages(usages),
            ({ calls, state }) => [
              { what: 'calls', value: calls, limit: Math.ceil(options.batch / 10) },
              { what: 'WCU', value: state.writeUnits, limit: 0, op: '=' as const },
            ],
          ),
        );
      }
    }
    for (const size of options.resyncSizes ?? []) {
      if (size > options.items) await fixture.load(size);
      const count = options.resyncPlugins ?? 1;
      const plugins = fixture.plugins(count, `big${size}-`);
      const resyncTargets = ({ data, usage }: { data: TableUsage; usage: Usage }) => [
        { what: 'table items read', value: data.rowsRead, limit: size },
        { what: 'snapshot WCU', value: snapshotUnits(usage), limit: snapshotLimit(size) },
      ];
      add(
        result(
          fixture,
          `resync ${size} items, first`,
          count,
          await fixture.resync(plugins, `rb1-${name('x')}`),
          resyncTargets,
        ),
      );
      add(
        result(
          fixture,
          `resync ${size} items, steady`,
          count,
          await fixture.resync(plugins, `rb2-${name('x')}`),
          resyncTargets,
        ),
      );
    }
  } finally {
    await fixture.tearDown();
  }
  return results;
}

/** The kind of a state-table row, from its key (see lib/state/table.ts). */
export function stateRowKind(pk: string, sk: string): string {
  if (pk.startsWith('keys#')) return 'key rows';
  if (pk.startsWith('snapshot#')) return 'snapshot';
  if (pk.startsWith('resync#')) return 'run';
  if (pk.startsWith('plugin#')) return sk.startsWith('held#') ? 'held' : sk.startsWith('digest#') ? 'digest' : 'status';
  return 'other';
}

/** The sum of several usages. */
export function sumUsages(usages: readonly Usage[]): Usage {
  const calls: Record<string, number> = {};
  const tables: Record<string, TableUsage> = {};
  const kinds: Record<string, TableUsage> = {};
  let messages = 0;
  const addAll = (into: Record<string, TableUsage>, from: Readonly<Record<string, TableUsage>>) => {
    for (const [name, figures] of Object.entries(from)) {
      const sum = usageIn(into, name);
      for (const field of Object.keys(figures) as Array<keyof TableUsage>) sum[field] += figures[field];
    }
  };
  for (const usage of usages) {
    for (const [operation, count] of Object.entries(usage.calls)) calls[operation] = (calls[operation] ?? 0) + count;
    addAll(tables, usage.tables);
    addAll(kinds, usage.kinds);
    messages += usage.messages;
  }
  return { calls, tables, kinds, messages };
}
