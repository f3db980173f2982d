import { DatasyncError, InvalidChangeError, toError } from '../errors.ts';
import type { Change, ChangeSource } from '../model/change.ts';

/** One record of a source's batch after normalizing: a change, or the reason it was refused. */
export type BatchItem =
  | { readonly id: string; readonly change: Change; readonly raw?: () => string }
  | { readonly id: string; readonly rejected: Rejection };

/** Input a source refused. */
export interface Rejection {
  readonly error: Error;
  readonly source: ChangeSource;
  /** The original input as text, for the dead-letter queue. */
  readonly raw: string;
  /** The correlation id the input carried, when it could be read: the refusal is reported under it. */
  readonly correlationId?: string;
}

/**
 * Normalizes one record, turning a malformed one into a rejection instead of an exception, so a
 * bad record never fails the rest of the batch.
 */
export function normalizeItem<R>(
  id: string,
  record: R,
  normalize: (record: R) => Change,
  source: ChangeSource,
  raw: (record: R) => string,
): BatchItem;
/** A record the normalizer may pass over (it is no change at all) yields undefined. */
export function normalizeItem<R>(
  id: string,
  record: R,
  normalize: (record: R) => Change | undefined,
  source: ChangeSource,
  raw: (record: R) => string,
): BatchItem | undefined;
export function normalizeItem<R>(
  id: string,
  record: R,
  normalize: (record: R) => Change | undefined,
  source: ChangeSource,
  raw: (record: R) => string,
): BatchItem | undefined {
  try {
    const change = normalize(record);
    return change === undefined ? undefined : { id, change, raw: () => rawText(record, raw) };
  } catch (thrown) {
    const error =
      thrown instanceof DatasyncError
        ? thrown
        : new InvalidChangeError(`record cannot be read: ${toError(thrown).message}`, { cause: thrown });
    return { id, rejected: rejection(error, source, rawText(record, raw)) };
  }
}

/** A refusal of input, with the correlation id its error names. */
export function rejection(error: Error, source: ChangeSource, raw: string): Rejection {
  const correlationId = error instanceof DatasyncError ? error.details.correlationId : undefined;
  return { error, source, raw, ...(typeof correlationId === 'string' ? { correlationId } : {}) };
}

function rawText<R>(record: R, raw: (record: R) => string): string {
  try {
    return raw(record);
  } catch {
    return String(record);
  }
}
