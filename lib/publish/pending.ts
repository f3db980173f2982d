import { InvalidChangeError, PublishError, type UnpublishedChange } from '../errors.ts';
import type { ChangeOp } from '../model/change.ts';
import { assertJsonSafe, type JsonValue } from '../model/json-value.ts';
import { validateKey } from '../model/key.ts';
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
  readonly expectedRevision?: Revision;
}

const MAX_CORRELATION_ID = 128;

/**
 * Checks one change: valid key, known op, JSON-safe value exactly for a put, a sensible
 * correlation id and revision. Nothing is sent for a call with any bad change.
 * @throws InvalidKeyError, InvalidValueError or InvalidChangeError.
 */
export function checkChange(
  change: PublishChange,
  index: number,
  options: { allowExpectedRevision: boolean },
): PendingChange {
  if (change === null || typeof change !== 'object') throw new InvalidChangeError(`change ${index} is not an object`);
  const key = validateKey(change.key);
  if (change.op !== 'put' && change.op !== 'delete') {
    throw new InvalidChangeError(`op must be "put" or "delete", got ${JSON.stringify(change.op) ?? 'nothing'}`, {
      details: { key },
    });
  }
  if (change.op === 'put') {
    if (change.value === undefined) throw new InvalidChangeError('a put needs a value', { details: { key } });
    assertJsonSafe(change.value);
  } else if (change.value !== undefined) {
    throw new InvalidChangeError('a delete carries no value', { details: { key } });
  }
  const { correlationId } = change;
  if (
    correlationId !== undefined &&
    (typeof correlationId !== 'string' || correlationId.length === 0 || correlationId.length > MAX_CORRELATION_ID)
  ) {
    throw new InvalidChangeError(
      `correlationId must be a non-empty string of at most ${MAX_CORRELATION_ID} characters`,
      { details: { key } },
    );
  }
  let expectedRevision: Revision | undefined;
  if (change.expectedRevision !== undefined) {
    if (!options.allowExpectedRevision) {
      throw new InvalidChangeError(
        'expectedRevision needs a DynamoDB target: a queue or bus cannot check the current revision',
        { details: { key } },
      );
    }
    expectedRevision = toRevision(change.expectedRevision);
  }
  return {
    index,
    key,
    op: change.op,
    ...(change.op === 'put' ? { value: change.value! } : {}),
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  };
}

/** A published change and its position in the caller's list. */
export interface Delivered {
  readonly index: number;
  readonly published: PublishedChange;
}

/** What a published change reports back. */
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
