import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { DatasyncCore } from '../../core.ts';
import { arnResourceName } from '../envelope-change.ts';
import { deliverBatch, normalizeItem } from '../batch.ts';
import {
  DEFAULT_SAFETY_MARGIN_MS,
  jsonLog,
  remainingTime,
  resolveWriters,
  type SourceHandlerOptions,
  type LambdaHandler,
} from '../../lambda/handler-options.ts';
import { batchResponse, fifoQueueFailures, standardQueueFailures } from '../partial-batch.ts';
import { changeFromSqsMessage, isFifoQueueArn } from './normalize.ts';

/** Options of the SQS handler. */
export type SqsHandlerOptions = SourceHandlerOptions;

/**
 * The SQS handler (middy) for standard and FIFO queues whose bodies are change envelopes. It
 * delivers the batch, writes all feedback, dead-letters malformed messages (they count as
 * handled and are deleted) and answers with a partial batch response: for a standard queue the
 * failed messages only; for a FIFO queue (ARN ending in `.fifo`) each failed message and every
 * later message of its message group. Needs `FunctionResponseTypes: [ReportBatchItemFailures]`.
 */
export function createSqsHandler(
  datasync: Pick<DatasyncCore, 'dispatch'>,
  options: SqsHandlerOptions = {},
): LambdaHandler<SQSEvent, SQSBatchResponse> {
  const writers = resolveWriters(options);
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const log = options.log ?? jsonLog;
  return middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event, context) => {
    const records = event.Records ?? [];
    const items = records.map((record) =>
      normalizeItem(
        record.messageId,
        record,
        changeFromSqsMessage,
        {
          type: 'sqs',
          name: arnResourceName(record.eventSourceARN) ?? 'sqs',
          id: record.messageId,
        },
        (r) => r.body,
      ),
    );
    const fifo = records.some((record) => isFifoQueueArn(record.eventSourceARN));
    const remaining = remainingTime(context, margin);
    const { failed } = await deliverBatch(
      items,
      { datasync, ...writers, log, ...(remaining ? { remainingTimeMs: remaining } : {}) },
      (direct) => (fifo ? fifoQueueFailures(records, direct) : standardQueueFailures(records, direct)),
    );
    return batchResponse(failed);
  });
}
