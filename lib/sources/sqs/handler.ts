import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  DEFAULT_SAFETY_MARGIN_MS,
  remainingTime,
  type SourceHandlerOptions,
  type LambdaHandler,
} from '../../lambda/handler-options.ts';
import { sourceHandlerParts } from '../../lambda/handler-parts.ts';
import { revisionLimit } from '../../model/revision.ts';
import { deliverBatch, normalizeItem, type SourceCore } from '../batch.ts';
import { busRoute, type BusSourceOptions } from '../bus-options.ts';
import { arnResourceName } from '../envelope-change.ts';
import { batchResponse, fifoQueueFailures, standardQueueFailures } from '../partial-batch.ts';
import { changeFromSqsMessage, isFifoQueueArn } from './normalize.ts';

/** Options of the SQS handler. */
export interface SqsHandlerOptions extends SourceHandlerOptions, BusSourceOptions {}

/**
 * The SQS handler (middy) for standard and FIFO queues whose bodies are change envelopes.
 *
 * Each message passes the change rules (a sender's revision at most five minutes ahead of the
 * clock, values for a table's keys that are its items), then the batch's puts are checked against
 * the schemas of the plugins whose prefixes cover their keys. A change to a key that lives in a table
 * is written to the table by the store (or refused when the store is off). Other changes are
 * delivered: from a FIFO queue here, one message group (key) at a time; from a standard queue,
 * after moving to the ordered FIFO queue when one is configured, so concurrent invocations never
 * hand a plugin two changes of one key at once.
 *
 * It writes all feedback, dead-letters malformed messages (they count as handled and are deleted)
 * and answers with a partial batch response: for a standard queue the failed messages only; for
 * a FIFO queue (ARN ending in `.fifo`) each failed message and every later message of its message
 * group. Needs `FunctionResponseTypes: [ReportBatchItemFailures]`.
 */
export function createSqsHandler(
  datasync: SourceCore,
  options: SqsHandlerOptions = {},
): LambdaHandler<SQSEvent, SQSBatchResponse> {
  // A middy handler with the service's logging and metrics middleware, and the metered writers.
  const { middy, logger, writers } = sourceHandlerParts('sqs', options);
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const routes = { ordered: busRoute(options, true), unordered: busRoute(options, false) };
  let warned = false;
  return middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event, context) => {
    const records = event.Records ?? [];
    const fifo = records.some((record) => isFifoQueueArn(record.eventSourceARN));
    const route = fifo ? routes.ordered : routes.unordered;
    if (!fifo && !route.forward && !warned) {
      warned = true;
      logger.warn(
        'a standard queue delivers to plugins directly: concurrent invocations may hand a plugin two changes of one key at once (set an ordered FIFO queue)',
      );
    }
    const rules = { tables: route.tables, maxRevision: revisionLimit() };
    const items = records.map((record) =>
      normalizeItem(
        record.messageId,
        record,
        (r) => changeFromSqsMessage(r, rules),
        { type: 'sqs', name: arnResourceName(record.eventSourceARN) ?? 'sqs', id: record.messageId },
        (r) => r.body,
      ),
    );
    const remaining = remainingTime(context, margin);
    const { failed } = await deliverBatch(
      items,
      { datasync, ...writers, logger, route, ...(remaining ? { remainingTimeMs: remaining } : {}) },
      (direct) => (fifo ? fifoQueueFailures(records, direct) : standardQueueFailures(records, direct)),
    );
    return batchResponse(failed);
  });
}
