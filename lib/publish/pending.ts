import { InvalidChangeError, PublishError, type UnpublishedChange } from '../errors.ts';
import type { ChangeOp } from '../model/change.ts';
import { checkChange as checkChangeRules } from '../model/change-rules.ts';
import type { JsonValue } from '../model/json-value.ts';
import type { TableConfig } from '../model/table-config.ts';
import type { PrefixSchema } from '../model/value-schema.ts';
import { toRevision, type Revision } from '../model/revision.ts';
import type { EntryFailure } from '../aws/retry.ts';
import type { PublishChange, PublishedChange } from './types.ts';

/** A change checked by the core rules, ready for a target. */
export interface PendingChange {
  /** Its position in the caller's list. */
  readonly index: number;
  readonly key: string;
  readonly op: ChangeOp;
  readonly value?: JsonValue;
  readonly correlationId?: string;
  readonly expectedVersion?: Revision;
}

/**
 * Checks one change by the rules every source applies (`checkChange`): valid key (brought into
 * NFC), known op, value exactly for a put and fit for where it goes (JSON-safe, at most 32 levels,
 * numbers a JSON reader keeps exactly, the item's attributes for a key under one of `tables`), a
 * sensible correlation id and expected version, a value that fits every schema of `schemas` whose
 * prefix covers the key. Nothing is sent for a call with any bad change.
 * @throws InvalidChangeError (its cause the InvalidKeyError, InvalidValueError or
 *   InvalidRevisionError behind it); SchemaMismatchError naming the key and the validator's issues.
 */
export function checkChange(
  change: PublishChange,
  index: number,
  options: {
    allowExpectedVersion: boolean;
    tables?: readonly TableConfig[] | undefined;
    schemas?: readonly PrefixSchema[] | undefined;
  },
): PendingChange {
  if (change === null || typeof change !== 'object') throw new InvalidChangeError(`change ${index} is not an object`);
  const checked = checkChangeRules(
    {
      key: change.key,
      op: change.op,
      hasValue: change.value !== undefined,
      value: change.value,
      correlationId: change.correlationId,
    },
    {
      origin: 'client',
      ...(options.tables ? { tables: options.tables } : {}),
      ...(options.schemas ? { schemas: options.schemas } : {}),
    },
  );
  let expectedVersion: Revision | undefined;
  if (change.expectedVersion !== undefined) {
    if (!options.allowExpectedVersion) {
      throw new InvalidChangeError(
        'expectedVersion needs a DynamoDB target: a queue or bus cannot check the current version',
        { details: { key: checked.key } },
      );
    }
    expectedVersion = toRevision(change.expectedVersion);
  }
  return {
    index,
    key: checked.key,
    op: checked.op,
    ...(checked.value === undefined ? {} : { value: checked.value }),
    ...(checked.correlationId === undefined ? {} : { correlationId: checked.correlationId }),
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
  };
}

/** A published change and its position in the caller's list. */
export interface Delivered {
  readonly index: number;
  readonly published: PublishedChange;
}

/** What a change published to a queue or bus reports back. */
export function published(change: PendingChange, revision: Revision | undefined, messageId?: string): Delivered {
  return {
    index: change.index,
    published: {
      key: change.key,
      op: change.op,
      ...(revision === undefined ? {} : { revision }),
      ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
      ...(messageId === undefined ? {} : { messageId }),
    },
  };
}

/** What a change written to a table reports back. */
export function written(change: PendingChange, result: { version?: Revision; unchanged?: boolean }): Delivered {
  return {
    index: change.index,
    published: {
      key: change.key,
      op: change.op,
      ...(result.version === undefined ? {} : { version: result.version }),
      ...(result.unchanged ? { unchanged: true as const } : {}),
      ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
    },
  };
}

/**
 * The end of a publish call: all changes in order when every one was published, otherwise a
 * PublishError naming exactly the ones that were not.
 */
export function settle<E extends { change: PendingChange }>(
  target: string,
  total: number,
  delivered: readonly Delivered[],
  failed: readonly EntryFailure<E>[],
): PublishedChange[] {
  if (failed.length > 0) {
    const unpublished: UnpublishedChange[] = [...failed]
      .sort((a, b) => a.entry.change.index - b.entry.change.index)
      .map((failure) => ({
        key: failure.entry.change.key,
        op: failure.entry.change.op,
        reason: failure.reason,
        retryable: failure.retryable,
        ...(failure.errorCode === undefined ? {} : { errorCode: failure.errorCode }),
      }));
    throw new PublishError(
      target,
      unpublished,
      total - failed.length,
      failed.find((f) => f.cause !== undefined)?.cause,
    );
  }
  return [...delivered].sort((a, b) => a.index - b.index).map((entry) => entry.published);
}
