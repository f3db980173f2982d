import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Handler } from 'aws-lambda';
import { createFeedbackReader } from '../../lib/feedback/reader.ts';
import type { DeadLetterMessage } from '../../lib/feedback/dead-letter.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import { keyOfItem, valueOfItem } from '../../lib/model/item.ts';
import { DEFAULT_EVENT_SOURCE } from '../../lib/model/envelope.ts';
import { keyMatchesPrefix } from '../../lib/model/key.ts';
import type { JsonObject, JsonValue } from '../../lib/model/json-value.ts';
import { createPublisher } from '../../lib/publish/publisher.ts';
import type { Publisher } from '../../lib/publish/types.ts';
import type { ResyncProgress } from '../../lib/resync/progress.ts';
import { lambdaContext } from '../../infra/local/lambda-shapes.ts';
import type { RunningService } from '../../infra/local/local-service.ts';
import { tablesFromEnvironment } from '../../lib/config.ts';
import type { AnyPlugin } from '../../lib/plugins/plugin.ts';
import { fitValue, type ValueSchema } from '../../lib/model/value-schema.ts';
import type { ViewPlugin } from '../plugins/view.ts';

/** The sources a change can be published through. */
export const SOURCES = ['dynamodb', 'sqs', 'sqs-fifo', 'eventbridge', 'http'] as const;
export type DemoSource = (typeof SOURCES)[number];

/** One change the scenario published, and what became of it. */
export interface PublishedRecord {
  readonly source: DemoSource;
  readonly key: string;
  readonly op: 'put' | 'delete';
  /** What the write reported: the item's version (table, HTTP), or the message's revision (buses). */
  readonly revision?: string;
  /** Every change carries one; the plugins' feedback names it. */
  readonly correlationId: string;
  readonly at: number;
}

/** What the scenario saw, for the summary and for tests. */
export interface ScenarioReport {
  readonly published: readonly PublishedRecord[];
  /** Per plugin: feedback counts by outcome. */
  readonly plugins: ReadonlyArray<{
    plugin: string;
    ok: number;
    error: number;
    timeout: number;
    applied: number;
    skipped: number;
    held: number;
  }>;
  /** Per source: changes published and changes every plugin accounted for. */
  readonly sources: ReadonlyArray<{ source: DemoSource; published: number; accounted: number }>;
  /** Milliseconds from publishing a change to a plugin's ok feedback for it. */
  readonly lagMs: { readonly p50: number; readonly p95: number; readonly max: number };
  /** Changes some plugin never accounted for (empty when everything arrived). */
  readonly missing: readonly string[];
  /** The resyncs run: plugins in the order they finished, with their item counts. */
  readonly resyncs: ReadonlyArray<{
    reason: string;
    plugins: ReadonlyArray<{ plugin: string; status: string; items: number; deleted: number }>;
  }>;
  /** Bad input: the reasons given in feedback and what reached the dead-letter queue. */
  readonly rejected: ReadonlyArray<{ input: string; reason: string; deadLettered: boolean }>;
  /** Per plugin: whether its view equals the table, and the keys that differ. */
  readonly views: ReadonlyArray<{ plugin: string; keys: number; matches: boolean; differing: readonly string[] }>;
}

export interface ScenarioOptions {
  /** Changes to publish across the sources. */
  readonly changes: number;
  /** Where the scenario narrates what it does. */
  readonly say: (line: string) => void;
  /** Resync progress as it happens (a bar per plugin). */
  readonly onProgress?: (progress: ResyncProgress) => void;
  /** Subscribes to resync progress of the resync function; returns the unsubscribe. */
  readonly watchProgress: (listener: (progress: ResyncProgress) => void) => () => void;
  /** The plugins in registration order. */
  readonly plugins: readonly AnyPlugin[];
  /** How long to wait for feedback before calling a change lost. */
  readonly timeoutMs?: number;
  /** Publishes at once. */
  readonly concurrency?: number;
}

/**
 * The demo: resync every plugin, publish changes through every source, resync again through the
 * HTTP API, send bad input, then check every plugin's view against the table. It reads the
 * feedback queue throughout, so each step is confirmed by what the plugins reported.
 */
export async function runScenario(service: RunningService, options: ScenarioOptions): Promise<ScenarioReport> {
  const { say } = options;
  const env = service.environment;
  const tables = tablesFromEnvironment(env as NodeJS.ProcessEnv);
  const queue = (suffix: string) => {
    const found = [...service.provisioned.queueUrls].find(([name]) => name.endsWith(suffix));
    if (!found) throw new Error(`no queue named *${suffix}`);
    return found[1];
  };
  const feedback = new FeedbackCollector(service, env.DATASYNC_FEEDBACK_QUEUE_URL!);
  const resyncs: Array<{
    reason: string;
    plugins: Array<{ plugin: string; status: string; items: number; deleted: number }>;
  }> = [];
  const stopWatching = options.watchProgress((progress) => options.onProgress?.(progress));
  try {
    // 1. The plugins keep their views in memory, which a new process starts without: resync all.
    say('Resync every plugin, in registration order (as after a deploy)');
    const handler = service.handlers.resync as Handler<unknown, unknown>;
    await handler(
      { datasync: 'resync', reason: 'manual' },
      lambdaContext('resync', service.service.timeoutsMs.resync ?? 900_000),
      () => {},
    );
    resyncs.push({ reason: 'start', plugins: await feedback.resyncResults(options.plugins.length, options.timeoutMs) });

    // 2. Changes through every source, each with a correlation id where the source carries one.
    say(`Publish ${options.changes} changes through DynamoDB, SQS, SQS FIFO, EventBridge and the HTTP API`);
    const publishers: Record<Exclude<DemoSource, 'http'>, Publisher> = {
      dynamodb: createPublisher({ target: { type: 'dynamodb', table: tables[0]! }, clients: service.clients }),
      sqs: createPublisher({ target: { type: 'sqs', queueUrl: queue('-changes') }, clients: service.clients }),
      'sqs-fifo': createPublisher({
        target: { type: 'sqs', queueUrl: queue('-changes.fifo') },
        clients: service.clients,
      }),
      eventbridge: createPublisher({
        target: { type: 'eventbridge', busName: service.service.topology.bus!.name },
        clients: service.clients,
      }),
    };
    const published = await publishAll(options.changes, publishers, service.runner.httpUrl!, options.concurrency ?? 8);
    const accounted = await feedback.account(published, options.plugins, options.timeoutMs ?? 60_000);

    // 3. A resync through the HTTP API: the request goes through the resync queue.
    say('Ask for a resync through the HTTP API (POST /resync)');
    const response = await fetch(`${service.runner.httpUrl}/resync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (response.status !== 202) throw new Error(`POST /resync answered ${response.status}: ${await response.text()}`);
    resyncs.push({ reason: 'http', plugins: await feedback.resyncResults(options.plugins.length, options.timeoutMs) });

    // 4. Bad input is refused with a reason and dead-lettered; nothing else is held up.
    say('Send bad input: not JSON, a hostile key, an unknown op, an event of the wrong shape');
    const rejected = await sendBadInput(service, queue('-changes'), feedback, options.timeoutMs ?? 30_000);

    // 5. Every plugin's view must equal the table.
    say("Compare every plugin's view with the table");
    const views = await compareViews(service, tables, options.plugins);

    return {
      published,
      plugins: feedback.pluginCounts(options.plugins),
      sources: SOURCES.map((source) => ({
        source,
        published: published.filter((change) => change.source === source).length,
        accounted: published.filter((change) => change.source === source && !accounted.missing.has(changeId(change)))
          .length,
      })),
      lagMs: percentiles(accounted.lags),
      missing: [...accounted.missing],
      resyncs,
      rejected,
      views,
    };
  } finally {
    stopWatching();
  }
}

function changeId(change: { correlationId?: string }): string {
  return change.correlationId ?? '-';
}

/** Publishes `count` changes round-robin over the sources, a few at a time. */
async function publishAll(
  count: number,
  publishers: Record<Exclude<DemoSource, 'http'>, Publisher>,
  httpUrl: string,
  concurrency: number,
): Promise<PublishedRecord[]> {
  const interfaces = Math.max(4, Math.ceil(count / 12));
  // Correlation ids unique to this run: a service kept between runs keeps its feedback queue.
  const run = Date.now().toString(36);
  const plan = Array.from({ length: count }, (_, index) => {
    const source = SOURCES[index % SOURCES.length]!;
    const isRoute = index % 3 === 2;
    const n = Math.floor(index / SOURCES.length) % interfaces;
    const key = isRoute ? `config/routes/r${n}` : `config/interfaces/eth${n}`;
    // Every seventh change deletes; the rest put a value that names its source.
    const op: 'put' | 'delete' = index % 7 === 6 ? 'delete' : 'put';
    const value: JsonObject = isRoute
      ? { interface: `eth${n}`, via: `10.0.${n % 250}.1`, from: source }
      : { mtu: 1500 + (index % 8) * 1000, up: index % 2 === 0, from: source };
    return { source, key, op, value, correlationId: `demo-${run}-${index}` };
  });
  // The same key is published one change at a time, so each source's order is the plan's order.
  const byKey = new Map<string, typeof plan>();
  for (const change of plan) byKey.set(change.key, [...(byKey.get(change.key) ?? []), change]);
  const lanes = [...byKey.values()];
  const published: PublishedRecord[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, lanes.length) }, async () => {
      for (let lane = lanes.shift(); lane; lane = lanes.shift()) {
        for (const change of lane) {
          const at = Date.now();
          let revision: string | undefined;
          let unchanged = false;
          if (change.source === 'http') {
            const response = await fetch(`${httpUrl}/keys/${change.key}`, {
              method: change.op === 'put' ? 'PUT' : 'DELETE',
              headers: { 'content-type': 'application/json', 'x-correlation-id': change.correlationId },
              ...(change.op === 'put' ? { body: JSON.stringify(change.value) } : {}),
            });
            const body = (await response.json()) as {
              version?: string;
              unchanged?: boolean;
              error?: { message: string };
            };
            if (response.status !== 200)
              throw new Error(`HTTP ${change.op} ${change.key} answered ${response.status}: ${body.error?.message}`);
            revision = body.version;
            unchanged = body.unchanged === true;
          } else {
            const publisher = publishers[change.source];
            const correlation = { correlationId: change.correlationId };
            const result =
              change.op === 'put'
                ? await publisher.put(change.key, change.value, correlation)
                : await publisher.delete(change.key, correlation);
            revision = result.version ?? result.revision;
            unchanged = result.unchanged === true;
          }
          // A table delete of a key that does not exist changes nothing, so no plugin hears of it.
          if (unchanged && change.source === 'dynamodb') continue;
          published.push({
            source: change.source,
            key: change.key,
            op: change.op,
            ...(revision === undefined ? {} : { revision }),
            at,
            correlationId: change.correlationId,
          });
        }
      }
    }),
  );
  return published;
}

/** Reads the feedback queue and keeps every record, so each step can wait for what it expects. */
class FeedbackCollector {
  readonly records: FeedbackRecord[] = [];
  readonly #reader;
  readonly #firstOk = new Map<string, number>();
  // Correlation ids no plugin will report: writes the table did not take (it held newer ones).
  readonly #settled = new Set<string>();

  constructor(service: RunningService, queueUrl: string) {
    this.#reader = createFeedbackReader({ queueUrl, clients: service.clients, waitTimeSeconds: 1 });
  }

  async #poll(): Promise<FeedbackRecord[]> {
    const { records } = await this.#reader.receive({ waitTimeSeconds: 1 });
    for (const record of records) {
      this.records.push(record);
      if (record.event === 'change' && record.status === 'ok') {
        // The record's own time is when the plugin finished, whenever the queue is read.
        const finished = Date.parse(record.time);
        for (const ref of [...record.changes, ...(record.skipped ?? [])]) {
          const id = `${record.plugin}|${changeId(ref)}`;
          if (!this.#firstOk.has(id) || this.#firstOk.get(id)! > finished) this.#firstOk.set(id, finished);
        }
      }
      if (record.event === 'stored' && record.status === 'ok') {
        for (const ref of record.skipped ?? []) if (ref.correlationId) this.#settled.add(ref.correlationId);
      }
    }
    return records;
  }

  /** Waits for one resync feedback per plugin (the next `count` resync records). */
  async resyncResults(
    count: number,
    timeoutMs = 120_000,
  ): Promise<Array<{ plugin: string; status: string; items: number; deleted: number }>> {
    const start = this.records.length;
    const deadline = Date.now() + timeoutMs;
    const results = () =>
      this.records
        .slice(start)
        .filter((record): record is Extract<FeedbackRecord, { event: 'resync' }> => record.event === 'resync');
    while (results().length < count) {
      if (Date.now() > deadline)
        throw new Error(`resync feedback: ${results().length} of ${count} plugins reported within ${timeoutMs} ms`);
      await this.#poll();
    }
    return results().map((record) => ({
      plugin: record.plugin,
      status: record.status,
      items: record.items,
      deleted: record.deleted,
    }));
  }

  /** Waits until every plugin watching each published change reported it ok (applied or skipped). */
  async account(
    published: readonly PublishedRecord[],
    plugins: readonly AnyPlugin[],
    timeoutMs: number,
  ): Promise<{ missing: Set<string>; lags: number[] }> {
    const expected = published.flatMap((change) =>
      plugins
        .filter((plugin) => plugin.prefixes.some((prefix) => keyMatchesPrefix(change.key, prefix)))
        .map((plugin) => ({ change, id: `${plugin.name}|${changeId(change)}` })),
    );
    const deadline = Date.now() + timeoutMs;
    const pending = () =>
      expected.filter(({ id, change }) => !this.#firstOk.has(id) && !this.#settled.has(change.correlationId));
    while (pending().length > 0 && Date.now() < deadline) await this.#poll();
    const missing = new Set(pending().map(({ change }) => changeId(change)));
    const lags = expected
      .filter(({ id }) => this.#firstOk.has(id))
      .map(({ change, id }) => this.#firstOk.get(id)! - change.at);
    return { missing, lags };
  }

  /** Waits for `count` rejected-input records from now on. */
  async rejections(
    since: number,
    count: number,
    timeoutMs: number,
  ): Promise<Array<Extract<FeedbackRecord, { event: 'rejected' }>>> {
    const deadline = Date.now() + timeoutMs;
    const found = () =>
      this.records
        .slice(since)
        .filter((record): record is Extract<FeedbackRecord, { event: 'rejected' }> => record.event === 'rejected');
    while (found().length < count && Date.now() < deadline) await this.#poll();
    return found();
  }

  pluginCounts(plugins: readonly AnyPlugin[]) {
    return plugins.map((plugin) => {
      const mine = this.records.filter((record) => record.event === 'change' && record.plugin === plugin.name) as Array<
        Extract<FeedbackRecord, { event: 'change' }>
      >;
      return {
        plugin: plugin.name,
        ok: mine.filter((record) => record.status === 'ok').length,
        error: mine.filter((record) => record.status === 'error').length,
        timeout: mine.filter((record) => record.status === 'timeout').length,
        applied: mine
          .filter((record) => record.status === 'ok')
          .reduce((sum, record) => sum + record.changes.length, 0),
        skipped: mine.reduce((sum, record) => sum + (record.skipped?.length ?? 0), 0),
        held: mine.reduce((sum, record) => sum + (record.held?.length ?? 0), 0),
      };
    });
  }
}

/** Sends four kinds of bad input and waits for each to be refused and dead-lettered. */
async function sendBadInput(
  service: RunningService,
  changesQueue: string,
  feedback: FeedbackCollector,
  timeoutMs: number,
) {
  const bad = [
    { input: 'SQS body that is not JSON', body: 'mtu=9000' },
    {
      input: 'SQS change with a hostile key',
      body: JSON.stringify({ datasync: 1, key: 'config/__proto__/polluted', op: 'put', value: { x: 1 } }),
    },
    {
      input: 'SQS change with an unknown op',
      body: JSON.stringify({ datasync: 1, key: 'config/interfaces/eth0', op: 'upsert', value: {} }),
    },
  ];
  const since = feedback.records.length;
  await service.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: changesQueue,
      Entries: bad.map((entry, index) => ({ Id: String(index), MessageBody: entry.body })),
    }),
  );
  // An event that matches the bus rule (the service's source, a change envelope) but is not of
  // the detail type the EventBridge source accepts.
  await service.clients.eventbridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: service.service.topology.bus!.name,
          Source: DEFAULT_EVENT_SOURCE,
          DetailType: 'not.a.change',
          Detail: JSON.stringify({ datasync: 1, key: 'config/interfaces/eth0', op: 'put', value: { mtu: 1 } }),
        },
      ],
    }),
  );
  const records = await feedback.rejections(since, bad.length + 1, timeoutMs);
  // The dead-letter queue holds each input with its reason; read them back (they stay for later).
  const letters: DeadLetterMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  const dlq = service.environment.DATASYNC_DEAD_LETTER_QUEUE_URL!;
  while (letters.length < records.length && Date.now() < deadline) {
    const { Messages = [] } = await service.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    letters.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}') as DeadLetterMessage));
  }
  return records.map((record) => {
    const letter = letters.find(
      (candidate) =>
        candidate.reason?.message === record.error.message && candidate.source?.type === record.source.type,
    );
    const described = bad.find((entry) => entry.body === letter?.raw);
    return {
      input:
        described?.input ??
        (record.source.type === 'eventbridge' ? 'EventBridge event of the wrong type' : `${record.source.type} input`),
      reason: record.error.message,
      deadLettered: letter !== undefined,
    };
  });
}

/** Scans the table and compares each example plugin's view with the items under its prefixes. */
async function compareViews(
  service: RunningService,
  tables: ReturnType<typeof tablesFromEnvironment>,
  plugins: readonly AnyPlugin[],
) {
  const store = new Map<string, JsonValue>();
  for (const table of tables) {
    let start: Record<string, never> | undefined;
    do {
      const page = await service.clients.dynamodb.send(
        new ScanCommand({
          TableName: table.name,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) store.set(keyOfItem(table, item), valueOfItem(table, item));
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
  }
  return plugins
    .filter(
      (plugin): plugin is ViewPlugin<ValueSchema> =>
        typeof (plugin as Partial<ViewPlugin<ValueSchema>>).names === 'function',
    )
    .map((plugin) => {
      const prefix = plugin.prefixes[0]!;
      const keys = [...store.keys()].filter((key) => keyMatchesPrefix(key, prefix));
      const held = plugin.names().map((name) => `${prefix}/${name}`);
      const differing = [...new Set([...keys, ...held])]
        .filter((key) => !sameJson(plugin.get(key.slice(prefix.length + 1)), typed(plugin, store.get(key))))
        .sort();
      return { plugin: plugin.name, keys: keys.length, matches: differing.length === 0, differing };
    });
}

/** What a plugin with a schema holds of a value it was given: the schema's output. */
function typed(plugin: ViewPlugin<ValueSchema>, value: unknown): unknown {
  if (value === undefined) return undefined;
  const prefix = plugin.prefixes[0]!;
  const fit = fitValue({ prefix, schema: plugin.schema, plugin: plugin.name }, value);
  return fit.issues ? undefined : fit.value;
}

/**
 * Whether two values are the same JSON, members in any order: a plugin's schema may give it the
 * members of a value in another order than the table's item has them.
 */
function sameJson(a: unknown, b: unknown): boolean {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((name) => [name, sorted((value as Record<string, unknown>)[name])]),
          )
        : value;
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function percentiles(values: number[]): { p50: number; p95: number; max: number } {
  if (values.length === 0) return { p50: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: sorted.at(-1)! };
}
