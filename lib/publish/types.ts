import type { AwsClients } from '../aws/clients.ts';
import type { TableConfig } from '../config.ts';
import type { ChangeOp } from '../model/change.ts';
import type { JsonValue } from '../model/json-value.ts';
import type { Revision } from '../model/revision.ts';
import type { RetryPolicy } from '../aws/retry.ts';

/** Publish to a DynamoDB table: the table's stream carries the change to the stream source. */
export interface DynamoDbTarget {
  readonly type: 'dynamodb';
  /** The table; its `versionAttribute` (default `version`) is the per-item version the publisher maintains. */
  readonly table: TableConfig;
  /**
   * How `publish()` writes changes that carry no expected revision: `batch` (default) uses
   * BatchWriteItem, 25 items a call, with clock-derived versions; `conditional` writes each item
   * with its own conditional write, so versions count up by one (two calls per item).
   */
  readonly batchMode?: 'batch' | 'conditional';
}

/** Publish to an SQS queue (standard or FIFO); message bodies are change envelopes. */
export interface SqsTarget {
  readonly type: 'sqs';
  readonly queueUrl: string;
  /** Whether the queue is FIFO; default: the URL ends in `.fifo`. */
  readonly fifo?: boolean;
  /** The FIFO message group of a key; default the key itself (hashed when SQS would refuse it). */
  readonly messageGroupId?: (key: string) => string;
}

/** Publish to an EventBridge bus; event `detail` is the change envelope. */
export interface EventBridgeTarget {
  readonly type: 'eventbridge';
  /** The bus name or ARN. */
  readonly busName: string;
  /** The event `source`; default `serverless-datasync`. */
  readonly source?: string;
  /** The event `detail-type`; default `datasync.change`. */
  readonly detailType?: string;
}

/** Where a publisher writes. */
export type PublishTarget = DynamoDbTarget | SqsTarget | EventBridgeTarget;

/** Options of one put or delete. */
export interface PublishOptions {
  /** Carried with the change into every plugin's feedback record. At most 128 characters. */
  readonly correlationId?: string;
  /**
   * DynamoDB target only: write only if the item is at this revision now (`0`: only if the item
   * does not exist or has no version). Otherwise nothing changes and a `RevisionConflictError`
   * is thrown (in a batch, the change is listed as unpublished with code `REVISION_CONFLICT`).
   */
  readonly expectedRevision?: Revision | number;
}

/** One change given to `publish()`. */
export interface PublishChange extends PublishOptions {
  readonly key: string;
  readonly op: ChangeOp;
  /** The new value; required for `put`, absent for `delete`. A JSON object on the DynamoDB target. */
  readonly value?: JsonValue;
}

/** A change that was published. */
export interface PublishedChange {
  readonly key: string;
  readonly op: ChangeOp;
  /**
   * The change's revision: the item's new version (DynamoDB), for a delete the old version plus
   * one; the publisher's clock on SQS and EventBridge. Absent for a DynamoDB delete that found no
   * item or was written by BatchWriteItem (which cannot report the old version).
   */
  readonly revision?: Revision;
  readonly correlationId?: string;
  /** The SQS message id or EventBridge event id. */
  readonly messageId?: string;
}

/** Writes changes to one table, queue or bus. */
export interface Publisher {
  /** The target's description, e.g. `sqs:https://…/orders`. */
  readonly target: string;
  /**
   * Publishes one put.
   * @throws InvalidKeyError / InvalidValueError / InvalidChangeError for bad input (nothing sent);
   *   RevisionConflictError when `expectedRevision` does not match; PublishError when the change
   *   could not be published after retries.
   */
  put(key: string, value: JsonValue, options?: PublishOptions): Promise<PublishedChange>;
  /** Publishes one delete; throws as `put` does. */
  delete(key: string, options?: PublishOptions): Promise<PublishedChange>;
  /**
   * Publishes many changes, batched to the service's limits. Every change is validated before
   * anything is sent. Resolves with all changes, in order, when all were published.
   * @throws PublishError listing exactly the changes not published (the others were).
   */
  publish(changes: readonly PublishChange[]): Promise<PublishedChange[]>;
  /**
   * Checks changes as `publish` would, sending nothing.
   * @throws the error `publish` would throw for bad input (InvalidKeyError, InvalidChangeError, …).
   */
  validate(changes: readonly PublishChange[]): void;
}

/** How to make a publisher. */
export interface PublisherOptions {
  readonly target: PublishTarget;
  /** AWS clients to use (tests add middleware); only the target's is used; default the process-wide one. */
  readonly clients?: Partial<AwsClients>;
  /** How failed entries are retried; default {@link DEFAULT_RETRY_POLICY}. */
  readonly retry?: Partial<RetryPolicy>;
}
