import { randomUUID } from 'node:crypto';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, DynamoDBRecord, EventBridgeEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext, toLambdaSqsRecord, toLambdaStreamRecord } from '../../../infra/local/lambda-shapes.ts';
import { createAwsClients, type AwsClients } from '../../../lib/aws/clients.ts';
import { createDatasync, type Datasync } from '../../../lib/datasync.ts';
import { DeadLetterWriteError, FeedbackWriteError } from '../../../lib/errors.ts';
import { SqsDeadLetterWriter } from '../../../lib/feedback/dead-letter.ts';
import type { ChangeFeedback, FeedbackRecord } from '../../../lib/feedback/record.ts';
import type { FeedbackSink } from '../../../lib/feedback/sink.ts';
import { SqsFeedbackWriter } from '../../../lib/feedback/sqs-writer.ts';
import { keyOfItem, valueOfItem } from '../../../lib/model/item.ts';
import { keyMatchesPrefix } from '../../../lib/model/key.ts';
import { compareRevisions } from '../../../lib/model/revision.ts';
import type { Change } from '../../../lib/model/change.ts';
import type { Plugin } from '../../../lib/plugins/plugin.ts';
import { createPublisher } from '../../../lib/publish/publisher.ts';
import type { Publisher } from '../../../lib/publish/types.ts';
import { createResyncHandler } from '../../../lib/resync/handler.ts';
import { newResyncId, type ResyncRequest } from '../../../lib/resync/request.ts';
import type { ResyncRunResult } from '../../../lib/resync/engine.ts';
import { changeFromStreamRecord } from '../../../lib/sources/dynamodb/normalize.ts';
import { createDynamoDbStreamHandler } from '../../../lib/sources/dynamodb/handler.ts';
import { changeFromEventBridgeEvent } from '../../../lib/sources/eventbridge/normalize.ts';
import { createEventBridgeHandler } from '../../../lib/sources/eventbridge/handler.ts';
import { createHttpHandler } from '../../../lib/sources/http/handler.ts';
import { createHttpTableWriter } from '../../../lib/sources/http/table-writer.ts';
import { changeFromSqsMessage } from '../../../lib/sources/sqs/normalize.ts';
import { createSqsHandler } from '../../../lib/sources/sqs/handler.ts';
import { FailureTracker } from '../../../lib/resync/failures.ts';
import { DynamoDbLedger } from '../../../lib/state/ledger.ts';
import { SyncStateStore } from '../../../lib/state/store.ts';
import { keyRowKey } from '../../../lib/state/table.ts';
import { OrderedQueueForwarder } from '../../../lib/sources/forward.ts';
import { TableStore } from '../../../lib/sources/store.ts';
import { AwsFaults } from './faults.ts';
import { invocation, observedPlugin, type InvocationTag, type ObservedPlugin } from './plugins.ts';
import { createScheduleResources, type ScheduleResources } from './resources.ts';
import { BUS_KEYS, KEYS, random, type DeliverySource, type Step } from './schedule.ts';
import { asFunction } from '../../support/iam/functions.ts';

/** Receives of one message before the queue moves it to its dead-letter queue (redrive policy). */
const MAX_RECEIVES = 4;
/** Attempts of a stream batch (1 + MaximumRetryAttempts) and of an async EventBridge invoke (1 + 2 retries). */
const STREAM_ATTEMPTS = 3;
const EVENT_ATTEMPTS = 3;

/** An error the schedule throws to end an invocation part way (its feedback write). */
export class InjectedCrash extends Error {
  constructor() {
    super('injected crash: the invocation ended before its feedback was written');
    this.name = 'InjectedCrash';
  }
}

/** The source handlers of one Lambda container. */
interface Container {
  stream: (
    event: { Records: DynamoDBRecord[] },
    context: unknown,
  ) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>;
  sqs: (
    event: { Records: SQSRecord[] },
    context: unknown,
  ) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>;
  eventbridge: (event: unknown, context: unknown) => Promise<unknown>;
}

/** One record a source produced, as the harness received it, and what became of it. */
interface SourceRecord {
  readonly source: DeliverySource;
  readonly id: string;
  readonly change?: Change;
  attempts: number;
  /** Attempts whose invocation ended before its results were stored (a crash, a feedback or DLQ write failure). */
  failedInvocations: number;
  deadLettered: boolean;
  duplicated: boolean;
}

interface Published {
  readonly source: string;
  readonly key: string;
  readonly op: 'put' | 'delete';
  readonly revision?: string;
  readonly value?: number;
  /** The bus message id (SQS, EventBridge), to tell whether it was dead-lettered. */
  readonly messageId?: string;
}

/** Counts a schedule adds to the reliability report. */
export interface ScheduleCounts {
  steps: number;
  published: number;
  publishFailed: number;
  records: number;
  invocations: number;
  redeliveries: number;
  crashes: number;
  deadLettered: number;
  resyncs: number;
  resyncFailures: number;
  /** Resync invocations that found a plugin held by another resync and waited for it. */
  resyncWaits: number;
  faults: Record<string, number>;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  feedbackMissing: number;
  viewMismatches: number;
  storeMismatches: number;
  /** Keys a plugin held differently from the table before the final resync, because a change was dead-lettered. */
  divergedUntilResync: number;
}

/** The outcome of one schedule: counts plus every invariant violation, described. */
export interface ScheduleResult {
  readonly counts: ScheduleCounts;
  readonly violations: string[];
}

/**
 * The system under test for one schedule: its own resources, the real handlers, resync engine,
 * publisher, durable ledger and failure tracker, all on clients with fault-injecting middleware;
 * and the harness acting as Lambda's event source mappings, so the schedule decides batching,
 * order, duplicates and retries.
 */
export class World {
  readonly faults = new AwsFaults();
  readonly observed: ObservedPlugin[];
  readonly counts: ScheduleCounts = {
    steps: 0,
    published: 0,
    publishFailed: 0,
    records: 0,
    invocations: 0,
    redeliveries: 0,
    crashes: 0,
    deadLettered: 0,
    resyncs: 0,
    resyncFailures: 0,
    resyncWaits: 0,
    faults: {},
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    feedbackMissing: 0,
    viewMismatches: 0,
    storeMismatches: 0,
    divergedUntilResync: 0,
  };
  readonly #plain: AwsClients;
  readonly #resources: ScheduleResources;
  readonly #plugins: Plugin[];
  readonly #datasync: Datasync;
  readonly #store: SyncStateStore;
  readonly #feedback: Array<{ record: FeedbackRecord; tag?: InvocationTag }> = [];
  readonly #records: SourceRecord[] = [];
  readonly #published: Published[] = [];
  /** HTTP deletes that answered 200 and left no tombstone behind. */
  readonly #forgottenDeletes: string[] = [];
  readonly #handlers: Container & {
    http: (event: APIGatewayProxyEventV2, context: unknown) => Promise<{ statusCode?: number; body?: string }>;
    resync: (event: unknown, context: unknown) => Promise<unknown>;
  };
  /** Two Lambda containers of the source functions: their own ledgers and caches on one state table. */
  readonly #containers: [Container, Container];
  readonly #publishers: { dynamodb: Publisher; sqs: Publisher; eventbridge: Publisher };
  // Pools: what each event source mapping has received and not yet finished.
  #stream: Array<{ record: DynamoDBRecord; entry: SourceRecord }> = [];
  #lastStreamBatch: DynamoDBRecord[] = [];
  #sqs: Array<{ record: SQSRecord; entry: SourceRecord }> = [];
  #events: Array<{ event: EventBridgeEvent<string, unknown>; entry: SourceRecord }> = [];
  /** The ordered FIFO queue's messages, in the order the queue holds them. */
  #ordered: Array<{ record: SQSRecord; entry: SourceRecord }> = [];
  readonly #lastSequence = new Map<string, string>();
  #resyncQueue: Array<{ request: ResyncRequest; attempts: number; notBefore?: number }> = [];
  /** Resyncs that run alongside the next delivery (and each other: their plugins' leases keep them apart). */
  #concurrentResyncs: ResyncRequest[] = [];
  #nextInvocation = 1;
  #crashing = new Set<number>();
  readonly #sqsArn: string;

  private constructor(plain: AwsClients, faulty: AwsClients, resources: ScheduleResources) {
    this.#plain = plain;
    this.#resources = resources;
    this.#sqsArn = resources.sourceQueueArn;
    const tables = [resources.table];
    this.observed = [
      observedPlugin('subtree-a', ['cfg/a']),
      observedPlugin('everything', ['cfg']),
      observedPlugin('events', ['evt']),
    ];
    this.#plugins = [...this.observed];
    // One container's datasync: its own ledger (and state cache) on the shared state table.
    const container = () => {
      const store = new SyncStateStore({ stateTable: resources.stateTable, clients: faulty });
      const ledger = new DynamoDbLedger({ store });
      const tracker = new FailureTracker({
        store,
        ledger,
        requestResync: async (plugin) => {
          this.#resyncQueue.push({
            request: { datasync: 'resync', resyncId: newResyncId(), reason: 'failing-plugin', plugins: [plugin] },
            attempts: 0,
          });
        },
      });
      return {
        store,
        datasync: createDatasync({
          plugins: this.#plugins,
          ledger,
          onOutcomes: (outcomes) => tracker.record(outcomes),
        }),
      };
    };
    const first = container();
    const second = container();
    this.#store = first.store;
    this.#datasync = first.datasync;
    const sink = this.#recordingSink(
      new SqsFeedbackWriter({ sqs: faulty.sqs, queueUrl: resources.feedbackQueueUrl, maxAttempts: 3, baseDelayMs: 5 }),
    );
    const deadLetter = new SqsDeadLetterWriter({
      sqs: faulty.sqs,
      queueUrl: resources.deadLetterQueueUrl,
      maxAttempts: 3,
      baseDelayMs: 5,
    });
    const writers = { feedback: sink, deadLetter };
    const tablePublisher = createPublisher({
      target: { type: 'dynamodb', table: resources.table },
      clients: faulty,
      retry: { maxAttempts: 3, baseDelayMs: 5 },
    });
    this.#publishers = {
      dynamodb: tablePublisher,
      sqs: createPublisher({
        target: { type: 'sqs', queueUrl: resources.sourceQueueUrl },
        clients: faulty,
        retry: { maxAttempts: 3, baseDelayMs: 5 },
      }),
      eventbridge: createPublisher({
        target: { type: 'eventbridge', busName: resources.busName },
        clients: faulty,
        retry: { maxAttempts: 3, baseDelayMs: 5 },
      }),
    };
    // The source functions: bus changes of the table's keys are written to the table (the store);
    // bus keys move to the ordered FIFO queue, whose handler delivers them a group at a time.
    const tableStore = new TableStore({ tables, stateTable: resources.stateTable, clients: faulty });
    const forwarder = new OrderedQueueForwarder({ queueUrl: resources.orderedQueueUrl, sqs: faulty.sqs });
    const sources = (datasync: Datasync): Container => ({
      stream: asFunction(
        'dynamodbStream',
        createDynamoDbStreamHandler(datasync, { ...writers, tables, store: tableStore }),
      ) as never,
      sqs: asFunction(
        'sqs',
        createSqsHandler(datasync, { ...writers, tables, store: tableStore, orderedQueue: forwarder }),
      ) as never,
      eventbridge: asFunction(
        'eventbridge',
        createEventBridgeHandler(datasync, { ...writers, tables, store: tableStore, orderedQueue: forwarder }),
      ) as never,
    });
    this.#containers = [sources(first.datasync), sources(second.datasync)];
    this.#handlers = {
      ...this.#containers[0],
      http: asFunction(
        'http',
        createHttpHandler(this.#datasync, {
          tables,
          ...writers,
          // As the HTTP function writes: puts through the publisher, deletes through the store.
          publish: createHttpTableWriter({ tables, stateTable: resources.stateTable, clients: faulty }),
          requestResync: async () => undefined,
        }),
      ) as never,
      resync: asFunction(
        'resync',
        createResyncHandler(this.#datasync, {
          sink,
          tables,
          store: this.#store,
          clients: faulty,
          timeoutMs: 5_000,
          changeTimeoutMs: 1_000,
          pageSize: 3,
          sweepBuckets: 64,
          // A resync that crashed holds its plugin until its lease runs out: just over the time
          // limit here, so schedules stay short.
          leaseMs: 6_000,
          busyRetrySeconds: 1,
          continueResync: async (request, { delaySeconds }) => {
            this.#resyncQueue.push({
              request,
              attempts: 0,
              ...(delaySeconds ? { notBefore: Date.now() + delaySeconds * 1000 } : {}),
            });
          },
        }),
      ) as never,
    };
  }

  /** Creates a schedule's resources and wires the system on them. */
  static async create(plain: AwsClients, endpoint?: string): Promise<World> {
    const resources = await createScheduleResources(plain);
    const faulty = createAwsClients({ maxAttempts: 3, ...(endpoint ? { endpoint } : {}) });
    const world = new World(plain, faulty, resources);
    world.faults.install(faulty);
    return world;
  }

  /** Removes the schedule's resources. */
  async remove(): Promise<void> {
    await this.#resources.remove();
  }

  /** The first start: every plugin resynced before any traffic, as the post-deploy invoke does. */
  async start(): Promise<void> {
    await this.#resync({ datasync: 'resync', resyncId: newResyncId(), reason: 'first-start' });
    await this.#runResyncQueue();
  }

  /** Runs one step of a schedule. */
  async step(step: Step): Promise<void> {
    this.counts.steps += 1;
    switch (step.kind) {
      case 'publish':
        return this.#publish(step);
      case 'deliver': {
        const resyncs = this.#concurrentResyncs;
        this.#concurrentResyncs = [];
        await Promise.all([this.#deliver(step), ...resyncs.map((resync) => this.#resync(resync))]);
        return;
      }
      case 'plugin-fault': {
        const plugin = this.observed[step.plugin % this.observed.length]!;
        plugin.arm(step.fault, step.times);
        return;
      }
      case 'aws-fault':
        this.faults.arm(step.fault, step.times);
        return;
      case 'resync': {
        const request: ResyncRequest = {
          datasync: 'resync',
          resyncId: newResyncId(),
          reason: 'manual',
          ...(step.plugin === undefined ? {} : { plugins: [this.#plugins[step.plugin % this.#plugins.length]!.name] }),
        };
        if (step.concurrent) this.#concurrentResyncs.push(request);
        else await this.#resync(request);
        return;
      }
    }
  }

  /**
   * The quiet end of a schedule: faults off, every source drained (with retries and redrive),
   * every requested resync run, and plugins left out of sync resynced, until nothing moves.
   */
  async settle(): Promise<void> {
    this.faults.disable();
    for (const plugin of this.observed) plugin.disarm();
    const resyncs = this.#concurrentResyncs;
    this.#concurrentResyncs = [];
    await Promise.all(resyncs.map((resync) => this.#resync(resync)));
    for (let round = 0; round < 30; round += 1) {
      let moved = 0;
      moved += await this.#fetchAll();
      while (this.#stream.length > 0)
        moved += await this.#deliver({
          kind: 'deliver',
          source: 'stream',
          max: 10,
          shuffle: false,
          duplicate: false,
          crash: false,
          seed: round,
        });
      while (this.#sqs.length > 0)
        moved += await this.#deliver({
          kind: 'deliver',
          source: 'sqs',
          max: 10,
          shuffle: false,
          duplicate: false,
          crash: false,
          seed: round,
        });
      while (this.#events.length > 0)
        moved += await this.#deliver({
          kind: 'deliver',
          source: 'eventbridge',
          max: 10,
          shuffle: false,
          duplicate: false,
          crash: false,
          seed: round,
        });
      moved += await this.#fetchQueue('ordered');
      while (this.#ordered.length > 0)
        moved += await this.#deliver({
          kind: 'deliver',
          source: 'ordered',
          max: 10,
          shuffle: false,
          duplicate: false,
          crash: false,
          seed: round,
        });
      moved += await this.#runResyncQueue();
      if (moved === 0) {
        const states = await this.#store.states(this.#plugins.map((plugin) => plugin.name));
        const behind = states.filter((state) => state.status !== 'in-sync').map((state) => state.plugin);
        if (behind.length === 0) return;
        // Lambda would resync these on the next schedule; the harness does it now.
        this.#resyncQueue.push({
          request: { datasync: 'resync', resyncId: newResyncId(), reason: 'schedule', plugins: behind },
          attempts: 0,
        });
      }
    }
    throw new Error('the system did not settle in 30 rounds');
  }

  /** Checks every invariant; returns the counts and the violations found. */
  async check(): Promise<ScheduleResult> {
    const violations: string[] = [];
    const table = await this.#tableState();
    const deadKeys = new Set(
      this.#records.filter((record) => record.deadLettered && record.change).map((record) => record.change!.key),
    );

    // Every change a source produced is accounted for, for every plugin watching its key. A bus
    // change of the table's keys is accounted for by the store (its stream record then is, by the
    // plugins); one of a bus key by the ordered queue's record of it.
    const refs = new Map<string, Set<string>>();
    const failedRefs = new Map<string, Set<string>>();
    const stored = new Set<string>();
    const storeFailed = new Set<string>();
    const orderedIds = new Set(
      this.#records
        .filter((record) => record.source === 'ordered' && record.change)
        .map((record) => refId(record.change!)),
    );
    for (const { record } of this.#feedback) {
      if (record.event === 'stored') {
        for (const ref of [...record.changes, ...(record.skipped ?? [])])
          (record.status === 'ok' ? stored : storeFailed).add(refId(ref));
        continue;
      }
      if (record.event !== 'change') continue;
      const ok = refs.get(record.plugin) ?? new Set<string>();
      const failed = failedRefs.get(record.plugin) ?? new Set<string>();
      refs.set(record.plugin, ok);
      failedRefs.set(record.plugin, failed);
      for (const ref of record.changes) (record.status === 'ok' ? ok : failed).add(refId(ref));
      for (const ref of [...(record.skipped ?? []), ...(record.held ?? [])]) ok.add(refId(ref));
    }
    for (const record of this.#records) {
      if (!record.change) continue;
      if (record.source === 'sqs' || record.source === 'eventbridge') {
        const id = refId(record.change);
        const inTable = keyMatchesPrefix(record.change.key, this.#resources.table.prefix);
        if (inTable ? stored.has(id) : orderedIds.has(id)) continue;
        if (record.deadLettered && (storeFailed.has(id) || !inTable || record.failedInvocations >= record.attempts))
          continue;
        violations.push(
          `lost: ${record.source} ${id} was neither ${inTable ? 'stored' : 'moved to the ordered queue'}`,
        );
        this.counts.lost += 1;
        continue;
      }
      for (const plugin of this.#plugins) {
        if (!plugin.prefixes.some((prefix) => keyMatchesPrefix(record.change!.key, prefix))) continue;
        const id = refId(record.change);
        if (refs.get(plugin.name)?.has(id)) continue;
        if (record.deadLettered && failedRefs.get(plugin.name)?.has(id)) continue;
        // Every attempt ended the invocation before feedback could be written (the process
        // crashed, or the feedback queue failed): the on-failure destination holds the record,
        // and there was nothing left that could report it.
        if (record.deadLettered && record.failedInvocations >= record.attempts) continue;
        violations.push(
          `lost: ${plugin.name} never accounted for ${record.source} ${id}${record.deadLettered ? ' (dead-lettered without error feedback)' : ''}`,
        );
        this.counts.lost += 1;
      }
    }

    for (const plugin of this.observed) {
      for (const [id, times] of plugin.applications) {
        if (times > 1) {
          violations.push(`duplicated: ${plugin.name} applied ${id} ${times} times`);
          this.counts.duplicated += 1;
        }
      }
      for (const line of plugin.outOfOrder) violations.push(`out of order: ${plugin.name} ${line}`);
      this.counts.outOfOrder += plugin.outOfOrder.length;
    }

    // Each plugin callback in an invocation whose feedback was written has exactly one record.
    const written = new Map<number, ChangeFeedback[]>();
    for (const { record, tag } of this.#feedback) {
      if (record.event === 'change' && tag) written.set(tag.id, [...(written.get(tag.id) ?? []), record]);
    }
    for (const plugin of this.observed) {
      for (const callback of plugin.callbacks) {
        const tag = callback.invocation;
        if (!tag || tag.kind === 'resync' || !written.has(tag.id)) continue;
        const ids = callback.refs.map(refId).sort().join(',');
        const matching = written
          .get(tag.id)!
          .filter((record) => record.plugin === callback.plugin && record.changes.map(refId).sort().join(',') === ids);
        if (matching.length !== 1 || matching[0]!.status !== callback.status) {
          violations.push(
            `feedback: ${callback.plugin} callback (${callback.status}) in invocation ${tag.id} has ${matching.length} records${matching[0] ? ` (${matching[0].status})` : ''}`,
          );
          this.counts.feedbackMissing += 1;
        }
      }
    }

    for (const key of this.#forgottenDeletes) {
      violations.push(`store: an HTTP delete of ${key} answered 200 and left no tombstone`);
      this.counts.storeMismatches += 1;
    }

    // The table agrees with the last write per key by revision (dead-lettered bus changes never happened).
    const deadMessages = new Set(this.#records.filter((record) => record.deadLettered).map((record) => record.id));
    const last = new Map<string, Published>();
    for (const change of this.#published) {
      if (change.revision === undefined || (change.messageId && deadMessages.has(change.messageId))) continue;
      const before = last.get(change.key);
      if (!before || compareRevisions(change.revision, before.revision!) > 0) last.set(change.key, change);
    }
    for (const key of KEYS) {
      const expected = last.get(key);
      const actual = table.get(key);
      const want = expected?.op === 'put' ? JSON.stringify({ n: expected.value }) : undefined;
      const got = actual === undefined ? undefined : JSON.stringify(actual);
      if (expected && want !== got) {
        violations.push(
          `store: ${key} is ${got ?? 'absent'} in the table, the last write (${expected.source} ${expected.op} @${expected.revision}) says ${want ?? 'absent'}`,
        );
        this.counts.storeMismatches += 1;
      }
    }

    // Each plugin's view equals the table under its prefixes (keys of dead-lettered changes may
    // differ until the next resync; counted, then checked strictly after a final resync).
    const compareViews = (strict: boolean) => {
      for (const plugin of this.observed) {
        for (const key of KEYS) {
          if (!plugin.prefixes.some((prefix) => keyMatchesPrefix(key, prefix))) continue;
          const want = table.get(key);
          const got = plugin.view.get(key)?.value;
          if (JSON.stringify(want) === JSON.stringify(got)) continue;
          if (!strict && deadKeys.has(key)) {
            this.counts.divergedUntilResync += 1;
            continue;
          }
          violations.push(
            `view${strict ? ' after a final resync' : ''}: ${plugin.name} holds ${key} = ${JSON.stringify(got) ?? 'absent'}, the table ${JSON.stringify(want) ?? 'absent'}`,
          );
          this.counts.viewMismatches += 1;
        }
      }
    };
    compareViews(false);
    // A bus key's truth is its last bus change that was not dead-lettered (no table holds it).
    const lastBus = new Map<string, Published>();
    for (const change of this.#published) {
      if (!(BUS_KEYS as readonly string[]).includes(change.key) || change.revision === undefined) continue;
      if (change.messageId && deadMessages.has(change.messageId)) continue;
      const before = lastBus.get(change.key);
      if (!before || compareRevisions(change.revision, before.revision!) > 0) lastBus.set(change.key, change);
    }
    for (const plugin of this.observed) {
      for (const key of BUS_KEYS) {
        if (!plugin.prefixes.some((prefix) => keyMatchesPrefix(key, prefix))) continue;
        const expected = lastBus.get(key);
        const want = expected?.op === 'put' ? JSON.stringify({ n: expected.value }) : undefined;
        const got = plugin.view.has(key) ? JSON.stringify(plugin.view.get(key)!.value) : undefined;
        if (want === got) continue;
        if (deadKeys.has(key)) {
          this.counts.divergedUntilResync += 1;
          continue;
        }
        violations.push(
          `view: ${plugin.name} holds ${key} = ${got ?? 'absent'}, its last bus change ${want ?? 'absent'}`,
        );
        this.counts.viewMismatches += 1;
      }
    }
    await this.#resync({ datasync: 'resync', resyncId: newResyncId(), reason: 'schedule' });
    await this.settle();
    compareViews(true);

    for (const plugin of this.observed)
      for (const [kind, times] of plugin.faultsFired) this.#fault(`plugin-${kind}`, times);
    for (const [kind, times] of this.faults.fired) this.#fault(`aws-${kind}`, times);
    this.#fault('crash', this.counts.crashes);
    this.#fault('redelivery', this.counts.redeliveries);
    return { counts: this.counts, violations };
  }

  #fault(kind: string, times: number): void {
    if (times > 0) this.counts.faults[kind] = (this.counts.faults[kind] ?? 0) + times;
  }

  async #tableState(): Promise<Map<string, unknown>> {
    const state = new Map<string, unknown>();
    let start: Record<string, never> | undefined;
    do {
      const page = await this.#plain.dynamodb.send(
        new ScanCommand({
          TableName: this.#resources.table.name,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? [])
        state.set(keyOfItem(this.#resources.table, item), valueOfItem(this.#resources.table, item));
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
    return state;
  }

  #recordingSink(inner: FeedbackSink): FeedbackSink {
    return {
      write: async (records) => {
        const tag = invocation.getStore();
        if (tag && this.#crashing.has(tag.id)) throw new InjectedCrash();
        await inner.write(records);
        for (const record of records) this.#feedback.push({ record, ...(tag ? { tag } : {}) });
      },
    };
  }

  async #publish(step: Extract<Step, { kind: 'publish' }>): Promise<void> {
    // The buses carry every key; the table's writers (its publisher, the HTTP API) only its own.
    const all = [...KEYS, ...BUS_KEYS];
    const key =
      step.source === 'sqs' || step.source === 'eventbridge'
        ? all[step.key % all.length]!
        : KEYS[step.key % KEYS.length]!;
    const value = { n: step.value };
    // An HTTP delete is stamped by the function's clock, which its answer does not name: its
    // tombstone does (read before and after, so a delete that failed after writing it counts too).
    const tombBefore = step.source === 'http' && step.op === 'delete' ? await this.#tombstone(key) : undefined;
    let answered = false;
    try {
      if (step.source === 'http') {
        const requestId = randomUUID();
        const response = await this.#handlers.http(
          {
            version: '2.0',
            routeKey: '$default',
            rawPath: `/keys/${key}`,
            rawQueryString: '',
            headers: { 'content-type': 'application/json' },
            requestContext: {
              http: { method: step.op === 'put' ? 'PUT' : 'DELETE', path: `/keys/${key}` },
              requestId,
              stage: '$default',
            },
            ...(step.op === 'put' ? { body: JSON.stringify(value) } : {}),
            isBase64Encoded: false,
          } as unknown as APIGatewayProxyEventV2,
          lambdaContext('http', 10_000),
        );
        if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${response.body}`);
        answered = true;
        if (step.op === 'put') {
          const body = JSON.parse(response.body ?? '{}') as { version?: string };
          this.#published.push({
            source: 'http',
            key,
            op: 'put',
            ...(body.version ? { revision: body.version } : {}),
            value: step.value,
          });
        }
      } else {
        const publisher = this.#publishers[step.source];
        const result = step.op === 'put' ? await publisher.put(key, value) : await publisher.delete(key);
        this.#published.push({
          source: step.source,
          key,
          op: step.op,
          // The table's version order: a bus change's revision becomes the item's version when the
          // store writes it; a table delete names the version it removed, and comes after it.
          ...(result.version !== undefined
            ? { revision: step.op === 'delete' ? String(BigInt(result.version) + 1n) : result.version }
            : result.revision !== undefined
              ? { revision: result.revision }
              : {}),
          ...(step.op === 'put' ? { value: step.value } : {}),
          ...(result.messageId ? { messageId: result.messageId } : {}),
        });
      }
      this.counts.published += 1;
    } catch {
      // A publish that failed (an injected AWS fault) is not a change; the caller would retry it.
      this.counts.publishFailed += 1;
    }
    if (step.source === 'http' && step.op === 'delete') {
      // The delete happened when it left a tombstone newer than the one before (a newer one there
      // already means a newer delete, which the table follows). One that answered 200 always
      // leaves one, found something to delete or not.
      const tomb = await this.#tombstone(key);
      if (tomb !== undefined && (tombBefore === undefined || compareRevisions(tomb, tombBefore) > 0))
        this.#published.push({ source: 'http', key, op: 'delete', revision: tomb });
      else if (tomb === undefined && answered) this.#forgottenDeletes.push(key);
    }
  }

  /** The revision of the deletion the store remembers for a key, if any. */
  async #tombstone(key: string): Promise<string | undefined> {
    const { pk, sk } = keyRowKey(key);
    const { Item } = await this.#plain.dynamodb.send(
      new GetItemCommand({
        TableName: this.#resources.stateTable,
        Key: { pk: { S: pk }, sk: { S: sk } },
        ConsistentRead: true,
        ProjectionExpression: 'tomb',
      }),
    );
    return Item?.tomb?.N;
  }

  async #fetchAll(): Promise<number> {
    return (
      (await this.#fetchStream()) +
      (await this.#fetchQueue('sqs')) +
      (await this.#fetchQueue('eventbridge')) +
      (await this.#fetchQueue('ordered'))
    );
  }

  async #fetchStream(): Promise<number> {
    const { StreamDescription } = await this.#plain.streams.send(
      new DescribeStreamCommand({ StreamArn: this.#resources.streamArn }),
    );
    let fetched = 0;
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      // A fresh iterator after the last record read, every time: the emulator replaces a table's
      // stream shard with a copy when a transaction on it is cancelled (see infra/local/stream-poller.ts).
      const last = this.#lastSequence.get(id);
      const iterator = (
        await this.#plain.streams.send(
          new GetShardIteratorCommand({
            StreamArn: this.#resources.streamArn,
            ShardId: id,
            ...(last === undefined
              ? { ShardIteratorType: 'TRIM_HORIZON' }
              : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last }),
          }),
        )
      ).ShardIterator;
      if (!iterator) continue;
      const response = await this.#plain.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      const read = response.Records ?? [];
      if (read.length > 0) this.#lastSequence.set(id, read.at(-1)!.dynamodb!.SequenceNumber!);
      for (const raw of read) {
        const record = toLambdaStreamRecord(raw, this.#resources.streamArn);
        const entry = this.#entry('stream', record.dynamodb!.SequenceNumber!, () =>
          changeFromStreamRecord(record, new Map([[this.#resources.table.name, this.#resources.table]])),
        );
        this.#stream.push({ record, entry });
        fetched += 1;
      }
    }
    return fetched;
  }

  async #fetchQueue(source: 'sqs' | 'eventbridge' | 'ordered'): Promise<number> {
    const url =
      source === 'sqs'
        ? this.#resources.sourceQueueUrl
        : source === 'ordered'
          ? this.#resources.orderedQueueUrl
          : this.#resources.busQueueUrl;
    let fetched = 0;
    for (;;) {
      const { Messages = [] } = await this.#plain.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
      );
      if (Messages.length === 0) return fetched;
      await this.#plain.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
      for (const message of Messages) {
        fetched += 1;
        if (source === 'sqs') {
          const record = toLambdaSqsRecord(message, this.#sqsArn, 'us-east-1');
          this.#sqs.push({ record, entry: this.#entry('sqs', record.messageId, () => changeFromSqsMessage(record)) });
        } else if (source === 'ordered') {
          const record = toLambdaSqsRecord(message, this.#resources.orderedQueueArn, 'us-east-1');
          this.#ordered.push({
            record,
            entry: this.#entry('ordered', record.messageId, () => changeFromSqsMessage(record)),
          });
        } else {
          const event = JSON.parse(message.Body ?? 'null') as EventBridgeEvent<string, unknown>;
          // The publisher's event id is what it returned; the bus's event id is the rule target's.
          const detailId = typeof event?.id === 'string' ? event.id : message.MessageId!;
          this.#events.push({
            event,
            entry: this.#entry('eventbridge', detailId, () => changeFromEventBridgeEvent(event)),
          });
        }
      }
    }
  }

  #entry(source: DeliverySource, id: string, normalize: () => Change | undefined): SourceRecord {
    let change: Change | undefined;
    try {
      change = normalize();
    } catch {
      change = undefined;
    }
    const entry: SourceRecord = {
      source,
      id,
      ...(change ? { change } : {}),
      attempts: 0,
      failedInvocations: 0,
      deadLettered: false,
      duplicated: false,
    };
    this.#records.push(entry);
    this.counts.records += 1;
    return entry;
  }

  /** Invokes a handler as one Lambda invocation; returns its result, or the error it threw. */
  async #invoke<T>(
    kind: InvocationTag['kind'],
    crash: boolean,
    work: () => Promise<T>,
  ): Promise<{ result?: T; error?: unknown; resultsLost?: boolean }> {
    const tag: InvocationTag = { id: this.#nextInvocation++, kind };
    if (crash) this.#crashing.add(tag.id);
    this.counts.invocations += 1;
    try {
      return { result: await invocation.run(tag, work) };
    } catch (error) {
      const crashed =
        error instanceof InjectedCrash ||
        (error as { errors?: unknown[] }).errors?.some((inner) => inner instanceof InjectedCrash) === true;
      if (crashed) this.counts.crashes += 1;
      return {
        error,
        resultsLost: crashed || error instanceof FeedbackWriteError || error instanceof DeadLetterWriteError,
      };
    }
  }

  async #deliver(step: Extract<Step, { kind: 'deliver' }>): Promise<number> {
    await this.#fetchAll();
    const rng = random(step.seed);
    if (step.source === 'stream') {
      if (step.duplicate && this.#lastStreamBatch.length > 0) {
        // Lambda may deliver a stream batch again (a retry after a lost checkpoint).
        this.counts.redeliveries += 1;
        await this.#invoke('stream', false, () =>
          this.#handlers.stream({ Records: this.#lastStreamBatch }, lambdaContext('stream', 30_000)),
        );
      }
      const batch = this.#stream.slice(0, step.max);
      if (batch.length === 0) return 0;
      const { result, error, resultsLost } = await this.#invoke('stream', step.crash, () =>
        this.#handlers.stream({ Records: batch.map((item) => item.record) }, lambdaContext('stream', 30_000)),
      );
      let failedFrom = error === undefined ? batch.length : 0;
      if (result && result.batchItemFailures.length > 0) {
        const lowest = result.batchItemFailures
          .map((failure) => failure.itemIdentifier)
          .reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
        failedFrom = Math.max(
          0,
          batch.findIndex((item) => item.record.dynamodb?.SequenceNumber === lowest),
        );
      }
      this.#lastStreamBatch = batch.slice(0, failedFrom).map((item) => item.record);
      this.#stream.splice(0, failedFrom);
      const failed = batch.slice(failedFrom);
      for (const item of failed) {
        item.entry.attempts += 1;
        if (resultsLost) item.entry.failedInvocations += 1;
      }
      if (failed.length > 0 && failed[0]!.entry.attempts >= STREAM_ATTEMPTS) {
        // Retries exhausted: Lambda sends the range to the on-failure destination and moves on.
        for (const item of failed) item.entry.deadLettered = true;
        this.counts.deadLettered += failed.length;
        this.#stream.splice(0, failed.length);
      }
      return batch.length;
    }
    if (step.source === 'sqs' || step.source === 'ordered') return this.#deliverQueue(step, rng);
    if (this.#events.length === 0) return 0;
    const pool = [...this.#events];
    if (step.shuffle) shuffle(pool, rng);
    const batch = pool.slice(0, step.max);
    // EventBridge invokes the function once per event, many at once: with `concurrent`, every
    // event of the batch at the same time, in alternating containers.
    const deliverOne = async (item: (typeof batch)[number], index: number) => {
      const container = this.#containers[step.concurrent ? index % 2 : 0]!;
      const { error, resultsLost } = await this.#invoke('eventbridge', step.crash, () =>
        container.eventbridge(item.event, lambdaContext('eventbridge', 30_000)),
      );
      if (error === undefined) {
        if (step.duplicate && !item.entry.duplicated && rng() < 0.5) {
          item.entry.duplicated = true;
          this.counts.redeliveries += 1;
          return;
        }
        this.#events.splice(this.#events.indexOf(item), 1);
        return;
      }
      item.entry.attempts += 1;
      if (resultsLost) item.entry.failedInvocations += 1;
      if (item.entry.attempts >= EVENT_ATTEMPTS) {
        item.entry.deadLettered = true;
        this.counts.deadLettered += 1;
        this.#events.splice(this.#events.indexOf(item), 1);
      }
    };
    if (step.concurrent) await Promise.all(batch.map(deliverOne));
    else for (const [index, item] of batch.entries()) await deliverOne(item, index);
    return batch.length;
  }

  /**
   * One receive of a queue's event source mapping: the standard queue (any messages, in any order
   * when shuffled) or the ordered FIFO queue (its messages in queue order). With `concurrent` the
   * batch is split between two invocations in two containers, run at once; a FIFO queue hands a
   * message group to one of them only.
   */
  async #deliverQueue(step: Extract<Step, { kind: 'deliver' }>, rng: () => number): Promise<number> {
    const ordered = step.source === 'ordered';
    const pending = ordered ? this.#ordered : this.#sqs;
    if (pending.length === 0) return 0;
    const pool = [...pending];
    if (step.shuffle && !ordered) shuffle(pool, rng);
    const batch = pool.slice(0, step.max);
    const parts: Array<typeof batch> = [[], []];
    const groups = new Map<string, number>();
    for (const [index, item] of batch.entries()) {
      const group = item.record.attributes.MessageGroupId;
      const part = !step.concurrent
        ? 0
        : ordered && group !== undefined
          ? (groups.get(group) ?? groups.set(group, groups.size % 2).get(group)!)
          : index % 2;
      parts[part]!.push(item);
    }
    await Promise.all(
      parts.map(async (part, index) => {
        if (part.length === 0) return;
        const { result, error, resultsLost } = await this.#invoke('sqs', step.crash, () =>
          this.#containers[index]!.sqs({ Records: part.map((item) => item.record) }, lambdaContext('sqs', 30_000)),
        );
        const failed = new Set(
          error === undefined
            ? (result?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier)
            : part.map((item) => item.record.messageId),
        );
        for (const item of part) {
          if (!failed.has(item.record.messageId)) {
            // At-least-once: a standard queue's message handled once may be received again.
            if (!ordered && step.duplicate && !item.entry.duplicated && rng() < 0.5) {
              item.entry.duplicated = true;
              this.counts.redeliveries += 1;
              continue;
            }
            pending.splice(pending.indexOf(item), 1);
            continue;
          }
          item.entry.attempts += 1;
          if (resultsLost) item.entry.failedInvocations += 1;
          if (item.entry.attempts >= MAX_RECEIVES) {
            item.entry.deadLettered = true;
            this.counts.deadLettered += 1;
            pending.splice(pending.indexOf(item), 1);
            // A FIFO queue moves a message to its dead-letter queue and goes on with its group.
          }
        }
      }),
    );
    return batch.length;
  }

  async #resync(request: ResyncRequest): Promise<void> {
    this.counts.resyncs += 1;
    const { result, error } = await this.#invoke(
      'resync',
      false,
      () => this.#handlers.resync(request, lambdaContext('resync', 60_000)) as Promise<ResyncRunResult>,
    );
    if (error !== undefined) {
      // The resync queue delivers a failed request again.
      this.counts.resyncFailures += 1;
      this.#resyncQueue.push({ request, attempts: 1 });
      return;
    }
    this.#countResult(result);
  }

  #countResult(result: ResyncRunResult | undefined): void {
    if (result?.plugins.some((plugin) => plugin.status === 'error' || plugin.status === 'timeout'))
      this.counts.resyncFailures += 1;
    if (result?.plugins.some((plugin) => plugin.status === 'waiting')) this.counts.resyncWaits += 1;
  }

  async #runResyncQueue(): Promise<number> {
    let ran = 0;
    while (this.#resyncQueue.length > 0) {
      const { request, attempts, notBefore } = this.#resyncQueue.shift()!;
      if (attempts >= MAX_RECEIVES) continue;
      // A delayed request (a resync waiting for a plugin another one holds) is not visible before its time.
      if (notBefore !== undefined && notBefore > Date.now())
        await new Promise((resolve) => setTimeout(resolve, notBefore - Date.now()));
      ran += 1;
      this.counts.resyncs += 1;
      const { result, error } = await this.#invoke(
        'resync',
        false,
        () => this.#handlers.resync(request, lambdaContext('resync', 60_000)) as Promise<ResyncRunResult>,
      );
      if (error !== undefined) {
        this.counts.resyncFailures += 1;
        this.#resyncQueue.push({ request, attempts: attempts + 1 });
      } else this.#countResult(result);
    }
    return ran;
  }
}

function refId(ref: { key: string; op: string; revision?: string }): string {
  return `${ref.key}:${ref.op}@${ref.revision ?? '-'}`;
}

function shuffle<T>(items: T[], rng: () => number): void {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = Math.floor(rng() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
}
