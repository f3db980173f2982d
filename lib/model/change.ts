import type { JsonValue } from './json-value.ts';
import type { Revision } from './revision.ts';

/** What a change does to its key. A create and an update are both `put`; `prevValue` tells them apart. */
export type ChangeOp = 'put' | 'delete';

/** The kinds of place a change can come from. */
export type SourceType = 'dynamodb' | 'sqs' | 'eventbridge' | 'http' | 'resync' | 'local';

/** Where a change came from: a table, a queue, a bus, an HTTP call. */
export interface ChangeSource {
  /** The kind of source. */
  readonly type: SourceType;
  /** The table, queue, bus or route name. */
  readonly name: string;
  /** The source's own id for the record (stream sequence number, message id, event id, request id). */
  readonly id?: string;
}

/** One normalized change of one key. Every source produces this shape. */
export interface Change<V = JsonValue> {
  /** The key changed, e.g. `config/interfaces/eth0`. */
  readonly key: string;
  /** `put` (create or update) or `delete`. */
  readonly op: ChangeOp;
  /** The new value; absent for a delete. */
  readonly value?: V;
  /** The value before the change, when the source knows it; absent for a create. */
  readonly prevValue?: V;
  /**
   * The per-key order of this change; absent when the source gives none (then it cannot be
   * deduplicated). For a change read from a table's stream it is the stream sequence number, the
   * table's own order of writes to the item; for a bus message, the sender's revision. A key lives
   * in one of the two: a key under a table is changed only through that table (see docs/state.md).
   */
  readonly revision?: Revision;
  /**
   * For a change read from a table: the item's version attribute (the new item's for a put, the
   * removed item's for a delete), when the item has one. Writers compare versions to write
   * conditionally; the plugins' order is the revision.
   */
  readonly version?: Revision;
  /** Where the change came from. */
  readonly source: ChangeSource;
  /** When the change happened, as an ISO-8601 timestamp (the source's time where it gives one). */
  readonly time: string;
  /** An id the publisher attached, carried into feedback so it can find its results. */
  readonly correlationId?: string;
  /** True for a delete made by DynamoDB's time-to-live expiry rather than by a client. */
  readonly expired?: boolean;
}

/** A list of changes delivered together, in source order (which keeps each key's order). */
export interface ChangeEvent {
  readonly changes: readonly Change[];
  /** The source of the event (each change also names its own). */
  readonly source: ChangeSource;
  /** Set when every change in the event shares one correlation id. */
  readonly correlationId?: string;
}

/** One change's identity as it is reported in feedback (never its value). */
export interface ChangeRef {
  readonly key: string;
  readonly op: ChangeOp;
  readonly revision?: Revision;
  /** The item's version, for a change read from a table that keeps one. */
  readonly version?: Revision;
  readonly correlationId?: string;
}

/** The identity of a change, for feedback. */
export function changeRef(change: Change<unknown>): ChangeRef {
  const ref: { -readonly [K in keyof ChangeRef]: ChangeRef[K] } = { key: change.key, op: change.op };
  if (change.revision !== undefined) ref.revision = change.revision;
  if (change.version !== undefined) ref.version = change.version;
  if (change.correlationId !== undefined) ref.correlationId = change.correlationId;
  return ref;
}
