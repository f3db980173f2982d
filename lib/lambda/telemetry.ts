import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { FeedbackRecord } from '../feedback/record.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics, METRIC, MetricUnit } from '../observability/metrics.ts';

/** The service's Lambda handlers, as named in the `handler` metric dimension. */
export type HandlerName = 'dynamodb-stream' | 'sqs' | 'eventbridge' | 'http' | 'resync';

/**
 * A handler's logs and metrics: a Powertools Logger and Metrics, put on the handler with
 * `.use(telemetry.middleware)`, and a feedback sink wrapper that counts what every feedback record
 * says (changes delivered, skipped, held, stored and rejected, plugin errors and timeouts, resync items
 * and durations), so each source counts the same way.
 */
export class HandlerTelemetry {
  readonly logger: Logger;
  /** Function metrics (dimensions `service`, `handler`); published after every invocation. */
  readonly metrics: Metrics;
  /** The middleware the handler uses: Lambda context in the logs, then metrics. */
  readonly middleware: Array<MiddlewareObj<unknown, unknown, Error, Context>>;
  // EMF gives each dimension one value per line, so each plugin's metrics are a Metrics of their own.
  readonly #plugins = new Map<string, Metrics>();

  constructor(handler: HandlerName, logger: Logger = createLogger()) {
    this.logger = logger;
    this.metrics = createMetrics({ handler });
    this.middleware = [
      // Request id, function name and cold start on every line; keys added during one invocation go with it.
      injectLambdaContext(logger, { resetKeys: true }),
      {
        before: ({ event, context }) => this.#started(event, context),
        after: () => this.publish(),
        onError: () => this.publish(),
      },
    ];
  }

  /**
   * `middy()` with this telemetry's middleware: every handler of the service starts here. (A
   * property, so it can be handed on unbound.)
   */
  readonly middy = <
    TEvent,
    TResult,
    TErr extends Error = Error,
    TContext extends Context = Context,
  >(): MiddyfiedHandler<TEvent, TResult, TErr, TContext> =>
    middy<TEvent, TResult, TErr, TContext>().use(
      this.middleware as Array<MiddlewareObj<TEvent, TResult, TErr, TContext>>,
    );

  /** A sink that counts every record it is given, then writes them to `sink`. */
  meter(sink: FeedbackSink): FeedbackSink {
    return {
      write: (records) => {
        for (const record of records) this.#count(record);
        return sink.write(records);
      },
    };
  }

  /**
   * Writes what the invocation counted, one EMF line per dimension set. Powertools' own
   * `logMetrics` middleware publishes a single Metrics and warns when it holds nothing, which an
   * HTTP request that writes no feedback is not worth; so the service publishes its own set here.
   */
  publish(): void {
    for (const metrics of [this.metrics, ...this.#plugins.values()])
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }

  #started(event: unknown, context: Partial<Context> | undefined): void {
    // Once per container (Powertools tracks it): the ColdStart metric, with the function's name.
    this.metrics.captureColdStartMetric(context?.functionName);
    const correlationId = correlationIdOf(event);
    if (correlationId) this.logger.setCorrelationId(correlationId);
    const records = recordTimes(event);
    if (records === undefined) return;
    this.metrics.addMetric(METRIC.recordsReceived, MetricUnit.Count, records.count);
    if (records.oldest !== undefined)
      this.metrics.addMetric(METRIC.recordAge, MetricUnit.Milliseconds, Math.max(0, Date.now() - records.oldest));
  }

  #plugin(name: string): Metrics {
    let metrics = this.#plugins.get(name);
    if (!metrics) {
      metrics = createMetrics({ plugin: name });
      this.#plugins.set(name, metrics);
    }
    return metrics;
  }

  #count(record: FeedbackRecord): void {
    if (record.event === 'rejected') {
      this.metrics.addMetric(METRIC.changesRejected, MetricUnit.Count, 1);
      return;
    }
    if (record.event === 'stored') {
      if (record.status !== 'ok') this.metrics.addMetric(METRIC.storeErrors, MetricUnit.Count, record.changes.length);
      else if (record.changes.length > 0)
        this.metrics.addMetric(METRIC.changesStored, MetricUnit.Count, record.changes.length);
      if (record.skipped?.length)
        this.metrics.addMetric(METRIC.changesSuperseded, MetricUnit.Count, record.skipped.length);
      return;
    }
    const metrics = this.#plugin(record.plugin);
    if (record.status === 'error') metrics.addMetric(METRIC.pluginErrors, MetricUnit.Count, 1);
    if (record.status === 'timeout') metrics.addMetric(METRIC.pluginTimeouts, MetricUnit.Count, 1);
    if (record.event === 'resync') {
      metrics.addMetric(METRIC.resyncItems, MetricUnit.Count, record.items);
      metrics.addMetric(METRIC.resyncDeleted, MetricUnit.Count, record.deleted);
      metrics.addMetric(METRIC.resyncDuration, MetricUnit.Milliseconds, record.durationMs);
      return;
    }
    // A failed callback's changes were handed over but not taken: they are retried, not delivered.
    if (record.status === 'ok' && record.changes.length > 0)
      metrics.addMetric(METRIC.changesDelivered, MetricUnit.Count, record.changes.length);
    if (record.skipped?.length) metrics.addMetric(METRIC.changesSkipped, MetricUnit.Count, record.skipped.length);
    if (record.held?.length) metrics.addMetric(METRIC.changesHeld, MetricUnit.Count, record.held.length);
  }
}

const MAX_CORRELATION_ID = 128;

/**
 * The invocation's correlation id, where one event carries one: an HTTP request's
 * `x-correlation-id` (else its request id), an EventBridge change envelope's `correlationId`.
 * A batch carries one per change, which the feedback records hold.
 */
function correlationIdOf(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const http = event as { headers?: Record<string, string | undefined>; requestContext?: { requestId?: string } };
  if (http.requestContext?.requestId !== undefined) {
    const given = http.headers?.['x-correlation-id'];
    return given && given.length <= MAX_CORRELATION_ID && !/[\u0000-\u001f\u007f]/.test(given)
      ? given
      : http.requestContext.requestId;
  }
  const detail = (event as { detail?: { correlationId?: unknown } }).detail;
  const id = detail?.correlationId;
  return typeof id === 'string' && id.length <= MAX_CORRELATION_ID ? id : undefined;
}

/** How many records an event holds and when the oldest was stamped by its source (epoch ms). */
function recordTimes(event: unknown): { count: number; oldest?: number } | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const records = (event as { Records?: unknown }).Records;
  if (Array.isArray(records)) {
    const times = records.map(recordTime).filter((time): time is number => time !== undefined);
    return { count: records.length, ...(times.length > 0 ? { oldest: Math.min(...times) } : {}) };
  }
  const bus = event as { 'detail-type'?: unknown; time?: unknown };
  if (typeof bus['detail-type'] !== 'string') return undefined;
  const time = typeof bus.time === 'string' ? Date.parse(bus.time) : Number.NaN;
  return { count: 1, ...(Number.isFinite(time) ? { oldest: time } : {}) };
}

function recordTime(record: unknown): number | undefined {
  const candidate = record as {
    dynamodb?: { ApproximateCreationDateTime?: unknown };
    attributes?: { SentTimestamp?: unknown };
  } | null;
  const created = candidate?.dynamodb?.ApproximateCreationDateTime;
  // Stream records are stamped in epoch seconds, SQS messages in epoch milliseconds (as text).
  if (typeof created === 'number') return created * 1000;
  const sent = Number(candidate?.attributes?.SentTimestamp);
  return Number.isFinite(sent) && sent > 0 ? sent : undefined;
}
