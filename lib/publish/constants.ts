/**
 * Names and limits the publisher shares with the sources that read what it writes. The stream,
 * SQS and EventBridge sources import these instead of repeating the literals.
 */

/** The EventBridge `source` of events the publisher puts, unless the target names another. */
export const DEFAULT_EVENT_SOURCE = 'serverless-datasync';

/** The EventBridge `detail-type` of events the publisher puts, unless the target names another. */
export const DEFAULT_EVENT_DETAIL_TYPE = 'datasync.change';

/** The version attribute the publisher maintains when a table config names none. */
export const DEFAULT_VERSION_ATTRIBUTE = 'version';

/**
 * The item attribute in which the DynamoDB target stores a put's correlation id. A stream
 * normalizer must lift it out of the new image's value into `Change.correlationId` (and ignore it
 * in old images: it belongs to the write that made the image). Values may not use this name.
 */
export const CORRELATION_ATTRIBUTE = 'datasyncCorrelationId';

/** Service limits the publisher batches to. */
export const LIMITS = {
  /** Requests per BatchWriteItem call. */
  batchWriteItems: 25,
  /** Entries per SendMessageBatch call. */
  sqsBatchEntries: 10,
  /** Bytes of all message bodies in one SendMessageBatch call (256 KiB). */
  sqsBatchBytes: 256 * 1024,
  /** Entries per PutEvents call. */
  eventBridgeEntries: 10,
  /** Bytes of all entries of one PutEvents call, as EventBridge counts them (256 KiB). */
  eventBridgeBytes: 256 * 1024,
} as const;
