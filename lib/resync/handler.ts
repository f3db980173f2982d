import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { tablesFromEnvironment, type TableConfig } from '../config.ts';
import { DatasyncError, InvalidResyncRequestError, toError, withCause } from '../errors.ts';
import { describeError, FEEDBACK_VERSION, type RejectedFeedback } from '../feedback/record.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import type { Plugin } from '../plugins/plugin.ts';
import { feedbackSinkFromEnvironment, type LambdaHandler } from '../lambda/handler-options.ts';
import { HandlerTelemetry } from '../lambda/telemetry.ts';
import type { DatasyncLogger } from '../observability/logger.ts';
import { SyncStateStore } from '../state/store.ts';
import { runResync, type ResyncOptions, type ResyncRunResult } from './engine.ts';
import { newResyncId, parseResyncRequest, type ResyncRequest } from './request.ts';

/** Options of the resync Lambda handler. */
export interface ResyncHandlerOptions extends Omit<ResyncOptions, 'tables' | 'store' | 'sink' | 'remainingTimeMs'> {
  /** Where resync feedback goes; default the feedback queue writer on `DATASYNC_FEEDBACK_QUEUE_URL`. */
  readonly sink?: FeedbackSink;
  /** The tables; default `DATASYNC_TABLES`. */
  readonly tables?: readonly TableConfig[];
  /** The state table; default `DATASYNC_STATE_TABLE`. */
  readonly stateTable?: string;
  readonly store?: SyncStateStore;
  /** The Powertools Logger the handler logs through; default one of its own (lib/observability/logger.ts). */
  readonly logger?: Logger;
}

/** An EventBridge scheduled event (a schedule rule); its `detail` may name plugins. */
interface ScheduledEvent {
  readonly source: 'aws.events';
  readonly 'detail-type': 'Scheduled Event';
  readonly detail?: { plugins?: string[] };
}

/** What the handler returns: the batch response for SQS, else the run's result. */
export type ResyncHandlerResult = SQSBatchResponse | ResyncRunResult;

/**
 * The resync function's handler (a middy handler). It accepts:
 * - an SQS event of resync requests from the resync queue (requests and continuations); a request
 *   that fails is reported in `batchItemFailures`, so the queue retries it and finally
 *   dead-letters it; a malformed one is also reported as `rejected` feedback;
 * - an EventBridge scheduled event: every plugin (or `detail.plugins`) is resynced;
 * - a direct invoke with a request (`{"datasync":"resync", ...}`), or with an empty payload,
 *   which means "first start": every plugin that never synced is resynced (invoke it once after
 *   a deploy).
 * Long resyncs checkpoint before the Lambda limit and continue through the resync queue. A
 * plugin another resync holds (its lease) is tried again later through the same queue.
 */
export function createResyncHandler(
  datasync: { plugins(): Plugin[] },
  options: ResyncHandlerOptions = {},
): LambdaHandler<unknown, ResyncHandlerResult> {
  let store = options.store;
  let tables = options.tables;
  // Powertools logging and metrics (middleware), and every feedback record counted in the metrics.
  const telemetry = new HandlerTelemetry('resync', options.logger);
  let sink: FeedbackSink | undefined;
  const feedback = (): FeedbackSink => (sink ??= telemetry.meter(options.sink ?? feedbackSinkFromEnvironment()));
  const run = async (request: ResyncRequest, context: Context | undefined): Promise<ResyncRunResult> => {
    feedback();
    store ??= new SyncStateStore(options.stateTable ? { stateTable: options.stateTable } : {});
    tables ??= tablesFromEnvironment();
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : undefined;
    const result = await runResync(datasync, request, {
      ...options,
      tables,
      store,
      sink: feedback(),
      ...(remaining ? { remainingTimeMs: remaining } : {}),
    });
    for (const plugin of result.plugins) {
      if (plugin.status === 'waiting') {
        telemetry.logger.warn('resync waits for a plugin whose lease another invocation holds', {
          resyncId: result.resyncId,
          plugin: plugin.plugin,
          error: describeError(plugin.error!),
        });
      }
    }
    return result;
  };

  return telemetry.middy<unknown, ResyncHandlerResult>().handler(async (event, context) => {
    if (isSqsEvent(event)) return handleQueue(event, context, run, feedback, telemetry.logger);
    if (isScheduled(event)) {
      return run(
        {
          datasync: 'resync',
          resyncId: newResyncId(),
          reason: 'schedule',
          ...(event.detail?.plugins ? { plugins: event.detail.plugins } : {}),
        },
        context,
      );
    }
    const empty =
      event === undefined || event === null || (typeof event === 'object' && Object.keys(event).length === 0);
    return run(parseResyncRequest(empty ? { datasync: 'resync', reason: 'first-start' } : event), context);
  });
}

async function handleQueue(
  event: SQSEvent,
  context: Context,
  run: (request: ResyncRequest, context: Context) => Promise<ResyncRunResult>,
  feedback: () => FeedbackSink,
  logger: DatasyncLogger,
): Promise<SQSBatchResponse> {
  // A refused request stays on the queue, whose redrive moves it to the dead-letter queue; it is
  // reported in feedback on its first receive only, so once.
  const reportOnce = async (record: SQSRecord, error: Error) => {
    if ((record.attributes?.ApproximateReceiveCount ?? '1') === '1') await feedback().write([rejected(record, error)]);
  };
  const failures: Array<{ itemIdentifier: string }> = [];
  let continued = false;
  for (const record of event.Records) {
    // Once a resync handed over to a continuation, this invocation's time is spent: the rest
    // waits for redelivery.
    if (continued) {
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    let request: ResyncRequest;
    try {
      request = parseResyncRequest(JSON.parse(record.body));
    } catch (thrown) {
      const error =
        thrown instanceof InvalidResyncRequestError
          ? thrown
          : new InvalidResyncRequestError(withCause('a resync request must be JSON', thrown), { cause: thrown });
      await reportOnce(record, error);
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      continued = (await run(request, context)).continued;
    } catch (thrown) {
      const error = toError(thrown);
      // The message is retried by the queue; the reason goes to the log (no payload values).
      logger.error('resync request failed', {
        resyncId: request.resyncId,
        messageId: record.messageId,
        error: describeError(error),
      });
      if (error instanceof DatasyncError && error.code === 'UNKNOWN_PLUGIN') await reportOnce(record, error);
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

function rejected(record: SQSRecord, error: Error): RejectedFeedback {
  return {
    version: FEEDBACK_VERSION,
    event: 'rejected',
    status: 'error',
    error: describeError(error),
    source: { type: 'sqs', name: record.eventSourceARN?.split(':').pop() ?? 'resync', id: record.messageId },
    time: new Date().toISOString(),
    durationMs: 0,
  };
}

function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((record) => (record as SQSRecord)?.eventSource === 'aws:sqs')
  );
}

function isScheduled(event: unknown): event is ScheduledEvent {
  const candidate = event as Partial<ScheduledEvent> | null;
  return candidate?.source === 'aws.events' && candidate['detail-type'] === 'Scheduled Event';
}
