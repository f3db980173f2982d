/**
 * serverless-datasync: keep application plugins in sync with data that changes in DynamoDB, SQS,
 * EventBridge and HTTP sources. This is the package's one public entry point.
 * @packageDocumentation
 */
export { createDatasync } from './datasync.ts';
export type { Datasync, DatasyncOptions } from './datasync.ts';

export type { Plugin, PluginCallbacks, CallbackContext, ResyncContext, Snapshot, SnapshotEntry } from './plugins/plugin.ts';
export type { WatchRegistration } from './plugins/registry.ts';

export type { Change, ChangeEvent, ChangeOp, ChangeRef, ChangeSource, SourceType } from './model/change.ts';
export { validateKey, validatePrefix, keyMatchesPrefix, prefixesOverlap, MAX_KEY_BYTES } from './model/key.ts';
export { compareRevisions, isNewerRevision, toRevision } from './model/revision.ts';
export type { Revision } from './model/revision.ts';
export {
  fromAttributeValue, fromAttributeMap, toAttributeValue, toAttributeMap, assertJsonSafe, MAX_VALUE_BYTES,
} from './model/json-value.ts';
export type { JsonValue, JsonObject, AnyAttributeValue } from './model/json-value.ts';

export { MemoryLedger } from './dispatch/ledger.ts';
export type { DeliveryLedger } from './dispatch/ledger.ts';
export type { DeliveryPlan } from './dispatch/order.ts';
export type { PluginOutcome } from './dispatch/dispatcher.ts';
export { DEFAULT_PLUGIN_TIMEOUT_MS } from './dispatch/dispatcher.ts';

export { FEEDBACK_VERSION } from './feedback/record.ts';
export type {
  FeedbackRecord, ChangeFeedback, ResyncFeedback, RejectedFeedback, FeedbackStatus, FeedbackError,
} from './feedback/record.ts';

export {
  DatasyncError, InvalidKeyError, InvalidRevisionError, InvalidValueError, InvalidChangeError,
  PluginFailedError, PluginTimeoutError,
} from './errors.ts';
export type { DatasyncErrorCode } from './errors.ts';

export { ENVELOPE_VERSION, parseEnvelope, toEnvelope } from './model/envelope.ts';
export type { ChangeEnvelope } from './model/envelope.ts';
export type { FeedbackSink } from './feedback/sink.ts';
export type { TableConfig } from './config.ts';
export { keyOfItem, itemKeyOf, valueOfItem, versionOfItem, itemOf } from './model/item.ts';

// Publish: write changes to a table, queue or bus; read the feedback they produce.
export { createPublisher } from './publish/publisher.ts';
export type {
  Publisher, PublisherOptions, PublishTarget, DynamoDbTarget, SqsTarget, EventBridgeTarget,
  PublishOptions, PublishChange, PublishedChange,
} from './publish/types.ts';
export {
  DEFAULT_EVENT_SOURCE, DEFAULT_EVENT_DETAIL_TYPE, DEFAULT_VERSION_ATTRIBUTE, CORRELATION_ATTRIBUTE, LIMITS as PUBLISH_LIMITS,
} from './publish/constants.ts';
export { DEFAULT_RETRY_POLICY } from './publish/retry.ts';
export type { RetryPolicy } from './publish/retry.ts';
export { PublishError, RevisionConflictError, FeedbackTimeoutError } from './errors.ts';
export type { UnpublishedChange } from './errors.ts';
export { createFeedbackReader } from './feedback/reader.ts';
export type { FeedbackReader, FeedbackReaderOptions, FeedbackBatch, MalformedFeedback, WaitForOptions, StreamOptions } from './feedback/reader.ts';
export { parseFeedbackRecord, correlationIdsOf } from './feedback/parse.ts';
