import {
  DatasyncError,
  InvalidChangeError,
  InvalidKeyError,
  InvalidRevisionError,
  InvalidValueError,
  SchemaMismatchError,
} from '../errors.ts';
import type { ChangeOp } from './change.ts';
import { itemKeyOf, itemOf, tableOfKey } from './item.ts';
import { assertJsonSafe, type JsonObject, type JsonValue } from './json-value.ts';
import { normalizeKey, validateKey } from './key.ts';
import { compareRevisions, toRevision, type Revision } from './revision.ts';
import type { TableConfig } from './table-config.ts';
import { checkSchemas, type PrefixSchema } from './value-schema.ts';

/**
 * The one validation of a change. Every edge runs a change through it before any plugin sees the
 * change: the HTTP API, SQS and EventBridge messages, DynamoDB stream records and the publisher.
 * So input one path refuses, every path refuses, with the same reason.
 */

/** A change as a sender describes it, before any rule is checked. */
export interface ChangeDraft {
  readonly key: unknown;
  readonly op: unknown;
  /** Whether the sender gave a value at all (`value: undefined` and no value differ in JSON). */
  readonly hasValue: boolean;
  readonly value?: unknown;
  readonly hasPrevValue?: boolean;
  readonly prevValue?: unknown;
  readonly revision?: unknown;
  readonly correlationId?: unknown;
  readonly time?: unknown;
}

/** A change that passed every rule. */
export interface CheckedChange {
  readonly key: string;
  readonly op: ChangeOp;
  readonly value?: JsonValue;
  readonly prevValue?: JsonValue;
  readonly revision?: Revision;
  readonly correlationId?: string;
  /** ISO-8601, normalized. */
  readonly time?: string;
}

/** Which rules apply beyond the ones every change follows. */
export interface ChangeRules {
  /**
   * `client` for what a client wrote (publisher, HTTP, bus message): the key is brought into
   * Unicode NFC first. `table` for what a table holds (stream records): the key is only checked,
   * since another spelling would name another item.
   */
  readonly origin: 'client' | 'table';
  /**
   * The tables the service keeps. A put to a key under one of them must be that item's
   * attributes: a JSON object, without the table's key, version or correlation attributes, with
   * numbers DynamoDB can store.
   */
  readonly tables?: readonly TableConfig[];
  /** The highest revision a sender may set (see `revisionLimit`); none by default. */
  readonly maxRevision?: Revision;
  /**
   * Skips the value traversal: the caller vouches that the value is JSON-safe and small (a value
   * converted from a small DynamoDB record, whose size bounds its JSON).
   */
  readonly valuesKnownSafe?: boolean;
  /**
   * The schemas of the plugins' values, by prefix: a put's value must fit every schema whose
   * prefix covers its key. (A previous value is not checked: a change that mends a value that
   * does not fit must get through.)
   */
  readonly schemas?: readonly PrefixSchema[];
}

/** Longest correlation id accepted. */
export const MAX_CORRELATION_ID = 128;

// Correlation ids travel in logs and message attributes: no control characters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a change by every rule and returns it normalized. (The batch sources check the values
 * against the schemas over the whole batch instead, with `checkBatchSchemas`.)
 * @throws InvalidKeyError, InvalidValueError, InvalidRevisionError or InvalidChangeError naming
 *   the rule broken, with the key in `details` once it is known; SchemaMismatchError (an
 *   InvalidChangeError) for a value a schema of `rules.schemas` refuses; DatasyncError
 *   `CONFIGURATION` for a schema that validates asynchronously or throws.
 */
export function checkChange(draft: ChangeDraft, rules: ChangeRules): CheckedChange {
  const key = member('key', undefined, () =>
    rules.origin === 'client' ? normalizeKey(draft.key) : validateKey(draft.key),
  );
  const op = draft.op;
  if (op !== 'put' && op !== 'delete') {
    throw new InvalidChangeError(`op must be "put" or "delete", got ${JSON.stringify(op) ?? 'nothing'}`, {
      details: { key },
    });
  }
  if (op === 'put' && (!draft.hasValue || draft.value === undefined)) {
    throw new InvalidChangeError('a put needs a value', { details: { key } });
  }
  if (op === 'delete' && draft.hasValue)
    throw new InvalidChangeError('a delete carries no value', { details: { key } });
  if (!rules.valuesKnownSafe) {
    if (op === 'put') member('value', key, () => assertJsonSafe(draft.value));
    if (draft.hasPrevValue) member('prevValue', key, () => assertJsonSafe(draft.prevValue));
  }
  const table = rules.tables ? tableOfKey(rules.tables, key) : undefined;
  if (table) member('value', key, () => checkItem(table, key, op, draft.value));
  // Last of the value's rules, so a validator only ever sees JSON-safe values. Its refusal keeps
  // its type (SchemaMismatchError, with the issues); a validator that answers asynchronously or
  // throws is a configuration fault (DatasyncError CONFIGURATION), not bad input.
  if (op === 'put' && rules.schemas && rules.schemas.length > 0) checkSchemas(rules.schemas, key, draft.value);
  const revision = draft.revision === undefined ? undefined : member('revision', key, () => toRevision(draft.revision));
  if (revision !== undefined && rules.maxRevision !== undefined && compareRevisions(revision, rules.maxRevision) > 0) {
    throw new InvalidChangeError(
      `revision ${revision} is beyond the limit of ${rules.maxRevision}: a sender's revision may not run ahead ` +
        'of the clock by more than five minutes, or it would hold back every later change of the key',
      { details: { key } },
    );
  }
  const correlationId = draft.correlationId;
  if (
    correlationId !== undefined &&
    (typeof correlationId !== 'string' ||
      correlationId.length === 0 ||
      correlationId.length > MAX_CORRELATION_ID ||
      CONTROL.test(correlationId))
  ) {
    throw new InvalidChangeError(
      `correlationId must be 1 to ${MAX_CORRELATION_ID} characters without control characters`,
      { details: { key } },
    );
  }
  let time: string | undefined;
  if (draft.time !== undefined) {
    const parsed = typeof draft.time === 'string' && draft.time.length <= 64 ? Date.parse(draft.time) : Number.NaN;
    if (Number.isNaN(parsed)) {
      throw new InvalidChangeError(`time must be an ISO-8601 timestamp, got ${JSON.stringify(draft.time)}`, {
        details: { key },
      });
    }
    time = new Date(parsed).toISOString();
  }
  return {
    key,
    op,
    ...(op === 'put' ? { value: draft.value as JsonValue } : {}),
    ...(draft.hasPrevValue ? { prevValue: draft.prevValue as JsonValue } : {}),
    ...(revision === undefined ? {} : { revision }),
    ...(correlationId === undefined ? {} : { correlationId: correlationId as string }),
    ...(time === undefined ? {} : { time }),
  };
}

/** What a table needs of a change to one of its keys: a key that names an item, and for a put, the item's attributes. */
function checkItem(table: TableConfig, key: string, op: ChangeOp, value: unknown): void {
  if (op === 'delete') {
    itemKeyOf(table, key);
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidChangeError(
      `a value stored in table ${table.name} must be a JSON object (the item's attributes), got ${
        value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
      }`,
      { details: { key } },
    );
  }
  // Building the item applies the table's rules: the key maps to its key attributes, no member
  // takes a key, version or correlation attribute's name, every number fits DynamoDB.
  itemOf(table, key, value as JsonObject);
}

/**
 * Runs one member's check. Its failure keeps its type (InvalidKeyError, InvalidValueError,
 * InvalidRevisionError), with the member named in the message and the key in the details.
 */
function member<T>(name: string, key: string | undefined, check: () => T): T {
  try {
    return check();
  } catch (cause) {
    if (cause instanceof InvalidChangeError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const message = `${name}: ${reason}`;
    const details = { ...(cause instanceof DatasyncError ? cause.details : {}), ...(key === undefined ? {} : { key }) };
    if (cause instanceof InvalidKeyError) throw new InvalidKeyError(message, details, cause.code as 'INVALID_KEY');
    if (cause instanceof InvalidValueError) throw new InvalidValueError(message, details);
    if (cause instanceof InvalidRevisionError) throw new InvalidRevisionError(message, details);
    throw new InvalidChangeError(message, { cause, details });
  }
}

/**
 * A refusal of input as an InvalidChangeError, the kind every source reports bad input with: the
 * specific error (InvalidKeyError, InvalidValueError, …) becomes its cause; `extra` details are
 * added (the key and correlation id a refused message carried).
 */
export function asInvalidChange(error: unknown, extra: Record<string, unknown> = {}): unknown {
  if (!(error instanceof DatasyncError)) return error;
  if (error instanceof InvalidChangeError && Object.keys(extra).length === 0) return error;
  if (error instanceof SchemaMismatchError) {
    return new SchemaMismatchError(error.key, error.prefix, error.issues, {
      plugin: error.plugin,
      details: { ...error.details, ...extra },
    });
  }
  return new InvalidChangeError(error.message, {
    cause: error instanceof InvalidChangeError ? (error.cause ?? error) : error,
    details: { ...error.details, ...extra },
  });
}
