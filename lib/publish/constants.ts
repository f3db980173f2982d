/**
 * Names and limits the publisher shares with the sources that read what it writes. The stream,
 * SQS and EventBridge sources import these instead of repeating the literals.
 */

export { DEFAULT_EVENT_SOURCE, DEFAULT_EVENT_DETAIL_TYPE } from '../model/envelope.ts';
export { DEFAULT_VERSION_ATTRIBUTE, CORRELATION_ATTRIBUTE } from '../model/item.ts';
import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES } from '../aws/sqs-batch.ts';

/** Service limits the publisher batches to. */
export const LIMITS = {
  /** Requests per BatchWriteItem call. */
  batchWriteItems: 25,
  /** Entries per SendMessageBatch call. */
  sqsBatchEntries: SQS_MAX_BATCH_ENTRIES,
  /** Bytes of all message bodies in one SendMessageBatch call (256 KiB). */
  sqsBatchBytes: SQS_MAX_BATCH_BYTES,
  /** Entries per PutEvents call. */
  eventBridgeEntries: 10,
  /** Bytes of all entries of one PutEvents call, as EventBridge counts them (256 KiB). */
  eventBridgeBytes: 256 * 1024,
} as const;
