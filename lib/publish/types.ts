import type { AwsClients } from '../aws/clients.ts';
import type { TableConfig } from '../config.ts';
import type { ChangeOp } from '../model/change.ts';
import type { JsonValue } from '../model/json-value.ts';
import type { Revision } from '../model/revision.ts';
import type { RetryPolicy } from '../aws/retry.ts';
import type { InputOf, PrefixSchema, ValueSchema } from '../model/value-schema.ts';

/** Publish to a DynamoDB table: the table's stream carries the change to the stream source. */
export interface DynamoDbTarget {
  readonly type: 'dynamodb';
  /** The table; its `versionAttribute` (default `version`) is the per-item version the publisher maintains. */
  readonly table: TableConfig;
  /**
   * How `publish()` writes changes that carry no expected revision: `batch` (default) uses
   * BatchWriteItem, 25 items a call, with clock-derived versions; `conditional` writes each item
   * with its own conditional write, so versions are exact (two calls per item).
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
   * DynamoDB target only: write only if the item is at this version now (`0`: only if the item
   * does not exist or has no version). Otherwise nothing changes and a `VersionConflictError`
   * is thrown (in a batch, the change is listed as unpublished with code `VERSION_CONFLICT`).
   */
  readonly expectedVersion?: Revision | number;
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
  /** SQS and EventBridge: the change's revision (the publisher's clock), as the plugins see it. */
  readonly revision?: Revision;
  /**
   * DynamoDB: the item's version after a put, or the version of the item a delete removed. The
   * plugins see it as the change's `version`; their revision is the table's stream sequence
   * number. Absent for a delete written by BatchWriteItem (which cannot report the old item).
   */
  readonly version?: Revision;
  /**
   * DynamoDB delete: there was no item to delete. Nothing changed, so no plugin hears of it.
   */
  readonly unchanged?: true;
  readonly correlationId?: string;
  /** The SQS message id or EventBridge event id. */
  readonly messageId?: string;
}

/** Whether key `K` lies under prefix `P` (whole segments, as at run time). */
type Covers<P extends string, K extends string> = K extends P | `${P}/${string}` ? true : false;

/** The input types of the schemas of `L` whose prefixes cover key `K`, as a tuple. */
type InputsFor<L, K extends string> = L extends readonly [infer Head, ...infer Rest]
  ? Head extends { readonly prefix: infer P extends string; readonly schema: infer S extends ValueSchema }
    ? Covers<P, K> extends true
      ? [InputOf<S>, ...InputsFor<Rest, K>]
      : InputsFor<Rest, K>
    : InputsFor<Rest, K>
  : [];

type Intersection<T extends readonly unknown[]> = T extends readonly [infer Head, ...infer Rest]
  ? Head & Intersection<Rest>
  : unknown;

/**
 * The value `put` takes for key `K` with schemas `L`: what every schema covering the key accepts
 * as input, when `L` is a literal list and the key's prefix a literal; otherwise any JSON value
 * (the schemas still check it at run time).
 */
export type PublishValue<L extends readonly PrefixSchema[], K extends string> =
  InputsFor<L, K> extends [] ? JsonValue : Intersection<InputsFor<L, K>>;

/** Writes changes to one table, queue or bus. */
export interface Publisher<L extends readonly PrefixSchema[] = readonly PrefixSchema[]> {
  /** The target's description, e.g. `sqs:https://…/orders`. */
  readonly target: string;
  /**
   * Publishes one put.
   * @throws InvalidKeyError / InvalidValueError / InvalidChangeError for bad input (nothing sent);
   *   SchemaMismatchError, naming the key and the validator's issues, for a value that does not fit
   *   a schema of the publisher's `schemas` (nothing sent); VersionConflictError when
   *   `expectedVersion` does not match; PublishError when the change could not be published after
   *   retries.
   */
  put<K extends string>(key: K, value: PublishValue<L, K>, options?: PublishOptions): Promise<PublishedChange>;
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
export interface PublisherOptions<L extends readonly PrefixSchema[] = readonly PrefixSchema[]> {
  readonly target: PublishTarget;
  /** AWS clients to use (tests add middleware); only the target's is used; default the process-wide one. */
  readonly clients?: Partial<AwsClients>;
  /**
   * SQS and EventBridge targets: the tables of the service the changes go to. A change to a key
   * under one of them is checked as that table's item (an object, no key or version attribute,
   * numbers DynamoDB stores), as the service checks it, so it is refused before it is sent.
   */
  readonly tables?: readonly TableConfig[];
  /** How failed entries are retried; default {@link DEFAULT_RETRY_POLICY}. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * The value schemas by prefix that the service's plugins declare (`[{ prefix, schema }]`): a put
   * whose value does not fit every schema covering its key is refused before anything is sent
   * (SchemaMismatchError), as the service would refuse it. Given as a literal list, `put` also
   * checks the value's type at compile time for keys whose prefix is a literal.
   */
  readonly schemas?: L;
}
