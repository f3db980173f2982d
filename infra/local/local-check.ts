// What `datasync local` shows about any datasync service running locally, whatever its plugins:
// every plugin resyncs, then one change through each source reaches every plugin watching its key,
// each step confirmed by the feedback the plugins wrote. (The repository's own `npm start` plays a
// longer demo written for its example plugins.)
import type { Handler } from 'aws-lambda';
import { createFeedbackReader } from '../../lib/feedback/reader.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import { tablesFromEnvironment } from '../../lib/config.ts';
import { keyMatchesPrefix } from '../../lib/model/key.ts';
import type { JsonValue } from '../../lib/model/json-value.ts';
import { fitValue } from '../../lib/model/value-schema.ts';
import type { AnyPlugin } from '../../lib/plugins/plugin.ts';
import { createPublisher } from '../../lib/publish/publisher.ts';
import { createTablesPublisher } from '../../lib/publish/tables.ts';
import type { Publisher } from '../../lib/publish/types.ts';
import { lambdaContext } from './lambda-shapes.ts';
import type { RunningService } from './local-service.ts';

/** The ways a change can enter the service. */
const CHECK_SOURCES = ['dynamodb', 'sqs', 'sqs-fifo', 'eventbridge', 'http'] as const;
export type CheckSource = (typeof CHECK_SOURCES)[number];

/** One plugin's resync. */
export interface ResyncRow {
  readonly plugin: string;
  readonly status: string;
  readonly items: number;
}

/** One change, one plugin: what the plugin reported for it. */
export interface ChangeRow {
  readonly source: CheckSource;
  readonly key: string;
  readonly plugin: string;
  /** The plugin's feedback status, `missing` when none came in time, `skipped` when the source could not carry the key. */
  readonly status: 'ok' | 'error' | 'timeout' | 'missing' | 'skipped';
  readonly detail?: string;
}

export interface LocalCheckReport {
  readonly resyncs: readonly ResyncRow[];
  readonly changes: readonly ChangeRow[];
  /** Every plugin resynced and reported every change ok. */
  readonly passed: boolean;
}

/** The key a check change of `source` has under a plugin's first prefix. */
function checkKey(prefix: string, source: CheckSource): string {
  return `${prefix}/local-check/${source}`;
}

/**
 * Resyncs every plugin through the resync function, then publishes one change per source under
 * each plugin's first prefix and waits for the feedback of every plugin watching it.
 */
export async function runLocalCheck(
  service: RunningService,
  options: { plugins: readonly AnyPlugin[]; timeoutMs?: number; say?: (line: string) => void },
): Promise<LocalCheckReport> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const feedback = new FeedbackLog(service);
  const say = options.say ?? (() => {});

  say('Resync every plugin, in registration order (as after a deploy)');
  const resync = service.handlers.resync as Handler<unknown, unknown> | undefined;
  if (!resync) throw new Error('the service has no function named resync');
  await resync(
    { datasync: 'resync', reason: 'manual' },
    lambdaContext('resync', service.service.timeoutsMs.resync ?? 900_000),
    () => {},
  );
  const resyncs = await feedback.resyncs(
    options.plugins.map((plugin) => plugin.name),
    timeoutMs,
  );

  say('Publish one change through each source for each plugin, and wait for their feedback');
  const published = await publishChecks(service, options.plugins);
  const changes = await feedback.outcomes(published, options.plugins, timeoutMs);
  const passed =
    resyncs.every((row) => row.status === 'ok') &&
    changes.every((row) => row.status === 'ok' || row.status === 'skipped');
  return { resyncs, changes, passed };
}

interface Published {
  readonly source: CheckSource;
  readonly key: string;
  /** Why the source could not carry it. */
  readonly skipped?: string;
  readonly correlationId: string;
}

async function publishChecks(service: RunningService, plugins: readonly AnyPlugin[]): Promise<Published[]> {
  const { topology } = service.service;
  const tables = tablesFromEnvironment(service.environment as NodeJS.ProcessEnv);
  const queueUrl = (name: string) => service.provisioned.queueUrls.get(name)!;
  // The queues the sqs function reads, standard and FIFO, as serverless.yml wires them.
  const queues = topology.mappings.filter((mapping) => mapping.kind === 'queue' && mapping.function === 'sqs');
  const queueOf = (fifo: boolean) =>
    queues.find((mapping) => mapping.kind === 'queue' && mapping.queue.endsWith('.fifo') === fifo) as
      | { queue: string }
      | undefined;
  const publishers: Partial<Record<CheckSource, Publisher>> = {
    ...(tables.length > 0 ? { dynamodb: createTablesPublisher(tables, { clients: service.clients }) } : {}),
    ...(queueOf(false)
      ? {
          sqs: createPublisher({
            target: { type: 'sqs', queueUrl: queueUrl(queueOf(false)!.queue) },
            clients: service.clients,
          }),
        }
      : {}),
    ...(queueOf(true)
      ? {
          'sqs-fifo': createPublisher({
            target: { type: 'sqs', queueUrl: queueUrl(queueOf(true)!.queue) },
            clients: service.clients,
          }),
        }
      : {}),
    ...(topology.bus
      ? {
          eventbridge: createPublisher({
            target: { type: 'eventbridge', busName: topology.bus.name },
            clients: service.clients,
          }),
        }
      : {}),
  };
  const run = Date.now().toString(36);
  const published: Published[] = [];
  for (const plugin of plugins) {
    const prefix = plugin.prefixes[0];
    if (prefix === undefined) continue;
    for (const source of CHECK_SOURCES) {
      const key = checkKey(prefix, source);
      const correlationId = `local-check-${run}-${published.length}`;
      // A plugin with a schema names a value that fits it (its sample); one that does not fit
      // would be refused at every source, so it is not sent.
      const value = (plugin.sample ?? { checkedAt: new Date().toISOString(), through: source }) as JsonValue;
      const fit = plugin.schema ? fitValue({ prefix, schema: plugin.schema, plugin: plugin.name }, value) : undefined;
      if (fit?.issues) {
        const issues = fit.issues.map((issue) => issue.message).join('; ');
        published.push({
          source,
          key,
          correlationId,
          skipped: `the plugin's schema refuses the check value (${issues}): give the plugin a sample that fits`,
        });
        continue;
      }
      // The table publisher and the HTTP API write to the table whose prefix holds the key.
      const inTable = tables.some((table) => keyMatchesPrefix(key, table.prefix));
      if ((source === 'dynamodb' || source === 'http') && !inTable) {
        published.push({ source, key, correlationId, skipped: 'no table holds the key' });
        continue;
      }
      if (source === 'http') {
        if (!service.runner.httpUrl) {
          published.push({ source, key, correlationId, skipped: 'no HTTP API' });
          continue;
        }
        const response = await fetch(`${service.runner.httpUrl}/keys/${key}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId },
          body: JSON.stringify(value),
        });
        const body = (await response.json()) as { error?: { message?: string } };
        if (response.status !== 200)
          throw new Error(`PUT /keys/${key} answered ${response.status}: ${body.error?.message}`);
        published.push({ source, key, correlationId });
        continue;
      }
      const publisher = publishers[source];
      if (!publisher) {
        published.push({ source, key, correlationId, skipped: `the service has no ${source} source` });
        continue;
      }
      await publisher.put(key, value, { correlationId });
      published.push({ source, key, correlationId });
    }
  }
  return published;
}

/** Reads the feedback queue and keeps what it read, so each step waits for what it expects. */
class FeedbackLog {
  readonly #records: FeedbackRecord[] = [];
  readonly #reader;

  constructor(service: RunningService) {
    const queueUrl = service.environment.DATASYNC_FEEDBACK_QUEUE_URL;
    if (!queueUrl) throw new Error('the service sets no DATASYNC_FEEDBACK_QUEUE_URL');
    this.#reader = createFeedbackReader({ queueUrl, clients: service.clients, waitTimeSeconds: 1 });
  }

  async #until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) {
      const { records } = await this.#reader.receive({ waitTimeSeconds: 1 });
      this.#records.push(...records);
    }
  }

  /** Each plugin's resync feedback; a plugin that did not report in time is `missing`. */
  async resyncs(plugins: readonly string[], timeoutMs: number): Promise<ResyncRow[]> {
    const of = (plugin: string) =>
      this.#records.find((record) => record.event === 'resync' && record.plugin === plugin) as
        | Extract<FeedbackRecord, { event: 'resync' }>
        | undefined;
    await this.#until(() => plugins.every((plugin) => of(plugin)), timeoutMs);
    return plugins.map((plugin) => {
      const record = of(plugin);
      return { plugin, status: record?.status ?? 'missing', items: record?.items ?? 0 };
    });
  }

  /** For each published change and each plugin watching its key: the plugin's feedback for it. */
  async outcomes(
    published: readonly Published[],
    plugins: readonly AnyPlugin[],
    timeoutMs: number,
  ): Promise<ChangeRow[]> {
    const expected = published.flatMap((change) =>
      plugins
        .filter((plugin) => plugin.prefixes.some((prefix) => keyMatchesPrefix(change.key, prefix)))
        .map((plugin) => ({ change, plugin: plugin.name })),
    );
    const recordFor = (change: Published, plugin: string) =>
      this.#records.find(
        (record) =>
          record.event === 'change' &&
          record.plugin === plugin &&
          // By correlation id: every check change has one, and a bus change to a table's key reaches
          // the plugins from the table's stream, under the stream's revision, not the sender's.
          [...record.changes, ...(record.skipped ?? [])].some(
            (ref) => ref.key === change.key && ref.correlationId === change.correlationId,
          ),
      ) as Extract<FeedbackRecord, { event: 'change' }> | undefined;
    await this.#until(
      () => expected.every(({ change, plugin }) => change.skipped || recordFor(change, plugin)),
      timeoutMs,
    );
    return expected.map(({ change, plugin }): ChangeRow => {
      if (change.skipped)
        return { source: change.source, key: change.key, plugin, status: 'skipped', detail: change.skipped };
      const record = recordFor(change, plugin);
      if (!record)
        return {
          source: change.source,
          key: change.key,
          plugin,
          status: 'missing',
          detail: `no feedback within ${timeoutMs} ms`,
        };
      return {
        source: change.source,
        key: change.key,
        plugin,
        status: record.status,
        ...(record.error ? { detail: record.error.message } : {}),
      };
    });
  }
}
