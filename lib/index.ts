/**
 * serverless-datasync: keep application plugins in sync with data that changes in DynamoDB, SQS,
 * EventBridge and HTTP sources. This is the package's one public entry point.
 * @packageDocumentation
 */
export { createDatasync } from './datasync.ts';
export type { Datasync } from './datasync.ts';
export { createDatasyncCore } from './core.ts';
export type { DatasyncCore, DatasyncOptions } from './core.ts';

export type {
  Plugin,
  PluginCallbacks,
  CallbackContext,
  ResyncContext,
  Snapshot,
  SnapshotEntry,
} from './plugins/plugin.ts';
export type { WatchRegistration } from './plugins/registry.ts';
export { definePlugin } from './plugins/plugin.ts';
export type { AnyPlugin, SampleOf } from './plugins/plugin.ts';
export type { ValueSchema, PrefixSchema, ValueOf, InputOf } from './model/value-schema.ts';

export type { Change, ChangeEvent, ChangeOp, ChangeRef, ChangeSource, SourceType } from './model/change.ts';
export { validateKey, validatePrefix, keyMatchesPrefix, prefixesOverlap, MAX_KEY_BYTES } from './model/key.ts';
export { compareRevisions, isNewerRevision, toRevision } from './model/revision.ts';
export type { Revision } from './model/revision.ts';
export {
  fromAttributeValue,
  fromAttributeMap,
  toAttributeValue,
  toAttributeMap,
  assertJsonSafe,
  MAX_VALUE_BYTES,
} from './model/json-value.ts';
export type { JsonValue, JsonObject, AnyAttributeValue } from './model/json-value.ts';

export { MemoryLedger } from './dispatch/ledger.ts';
export type { DeliveryLedger } from './dispatch/ledger.ts';
export type { DeliveryPlan } from './dispatch/order.ts';
export type { PluginOutcome } from './dispatch/dispatcher.ts';
export { DEFAULT_PLUGIN_TIMEOUT_MS } from './dispatch/dispatcher.ts';

export { FEEDBACK_VERSION } from './feedback/record.ts';
export type {
  FeedbackRecord,
  ChangeFeedback,
  ResyncFeedback,
  RejectedFeedback,
  FeedbackStatus,
  FeedbackError,
} from './feedback/record.ts';

export {
  DatasyncError,
  InvalidKeyError,
  InvalidRevisionError,
  InvalidValueError,
  InvalidChangeError,
  SchemaMismatchError,
  PluginFailedError,
  PluginTimeoutError,
} from './errors.ts';
export type { DatasyncErrorCode, SchemaIssue } from './errors.ts';

export {
  ENVELOPE_VERSION,
  parseEnvelope,
  toEnvelope,
  DEFAULT_EVENT_SOURCE,
  DEFAULT_EVENT_DETAIL_TYPE,
} from './model/envelope.ts';
export type { ChangeEnvelope } from './model/envelope.ts';
export type { FeedbackSink } from './feedback/sink.ts';
export type { TableConfig } from './config.ts';
export {
  keyOfItem,
  itemKeyOf,
  valueOfItem,
  versionOfItem,
  itemOf,
  versionAttributeOf,
  correlationOfItem,
} from './model/item.ts';

// Sources: Lambda handlers, normalizers, feedback and dead-letter writers. (The partial batch
// policies and the SQS batch sender are internals, imported by path in their own tests.)
export { FeedbackWriteError, DeadLetterWriteError } from './errors.ts';
export { SqsFeedbackWriter } from './feedback/sqs-writer.ts';
export type { SqsFeedbackWriterOptions } from './feedback/sqs-writer.ts';
export { SqsDeadLetterWriter, DEAD_LETTER_VERSION } from './feedback/dead-letter.ts';
export type {
  DeadLetterWriter,
  DeadLetterMessage,
  RejectedInput,
  SqsDeadLetterWriterOptions,
} from './feedback/dead-letter.ts';
export type { SqsBatchClient } from './aws/sqs-batch.ts';
export { createDynamoDbStreamHandler } from './sources/dynamodb/handler.ts';
export type { DynamoDbStreamHandlerOptions } from './sources/dynamodb/handler.ts';
export { changeFromStreamRecord, isTtlDelete, tableNameOfStreamArn } from './sources/dynamodb/normalize.ts';
export { createSqsHandler } from './sources/sqs/handler.ts';
export type { SqsHandlerOptions } from './sources/sqs/handler.ts';
export { changeFromSqsMessage, isFifoQueueArn } from './sources/sqs/normalize.ts';
export { createEventBridgeHandler } from './sources/eventbridge/handler.ts';
export type { EventBridgeHandlerOptions, EventBridgeResult } from './sources/eventbridge/handler.ts';
export { changeFromEventBridgeEvent } from './sources/eventbridge/normalize.ts';
export type { EventBridgeSourceOptions } from './sources/eventbridge/normalize.ts';
export { createHttpHandler } from './sources/http/handler.ts';
export { createHttpTableWriter } from './sources/http/table-writer.ts';
export type { HttpTableWriterOptions } from './sources/http/table-writer.ts';
export type {
  HttpHandlerOptions,
  ChangePublisher,
  HttpPublishOptions,
  HttpPublishResult,
} from './sources/http/handler.ts';
export { DEFAULT_SAFETY_MARGIN_MS } from './lambda/handler-options.ts';
export type { SourceHandlerOptions } from './lambda/handler-options.ts';
// Publish: write changes to a table, queue or bus; read the feedback they produce.
export { createPublisher } from './publish/publisher.ts';
export { createTablesPublisher } from './publish/tables.ts';
export type {
  Publisher,
  PublisherOptions,
  PublishTarget,
  DynamoDbTarget,
  SqsTarget,
  EventBridgeTarget,
  PublishOptions,
  PublishChange,
  PublishedChange,
} from './publish/types.ts';
export {
  DEFAULT_VERSION_ATTRIBUTE,
  CORRELATION_ATTRIBUTE,
  LIMITS as PUBLISH_LIMITS,
} from './publish/constants.ts';
export { DEFAULT_RETRY_POLICY } from './aws/retry.ts';
export type { RetryPolicy } from './aws/retry.ts';
export { PublishError, VersionConflictError, FeedbackTimeoutError } from './errors.ts';
export type { UnpublishedChange } from './errors.ts';
export { createFeedbackReader } from './feedback/reader.ts';
export type {
  FeedbackReader,
  FeedbackReaderOptions,
  FeedbackBatch,
  MalformedFeedback,
  WaitForOptions,
  StreamOptions,
} from './feedback/reader.ts';
export { parseFeedbackRecord, correlationIdsOf } from './feedback/parse.ts';

// Sync state and resync.
export { SyncStateStore } from './state/store.ts';
export type { SyncStateOptions, HeldKey, KeyRecord } from './state/store.ts';
export { DynamoDbLedger } from './state/ledger.ts';
export { FailureTracker, DEFAULT_FAILURE_THRESHOLD } from './resync/failures.ts';
export type { FailureTrackerOptions, FailureRecord } from './resync/failures.ts';
export { stateTableDefinition } from './state/table.ts';
export { readPluginStates } from './state/read.ts';
export type { PluginState, SyncStatus } from './state/status.ts';
export { runResync, DEFAULT_RESYNC_TIMEOUT_MS, DEFAULT_MARGIN_MS } from './resync/engine.ts';
export type { ResyncOptions, ResyncRunResult, PluginResyncResult } from './resync/engine.ts';
export { createResyncHandler } from './resync/handler.ts';
export type { ResyncHandlerOptions, ResyncHandlerResult } from './resync/handler.ts';
export { requestResync, parseResyncRequest, newResyncId } from './resync/request.ts';
export type { ResyncRequest, ResyncReason, RequestResyncOptions } from './resync/request.ts';
export type { ResyncProgress, ProgressListener } from './resync/progress.ts';
export { TableNotFoundError, StateFailedError, InvalidResyncRequestError } from './errors.ts';

// Following resyncs and listing plugin states (the CLI's `resync --wait` and `status`).
export { listPluginStates } from './state/read.ts';
export { watchResync } from './resync/watch.ts';
export type { WatchResyncOptions, ResyncView, PluginResyncView } from './resync/watch.ts';
export { ResyncBusyError } from './errors.ts';
export { ResyncTimeoutError } from './resync/watch.ts';

// What a service's own functions/ use besides the handler factories (`datasync init` makes one).
export { tablesFromEnvironment, ENV } from './config.ts';
export { ProgressHub } from './resync/progress-hub.ts';
export { logResyncProgress } from './resync/progress-log.ts';
export { createLogger } from './observability/logger.ts';
