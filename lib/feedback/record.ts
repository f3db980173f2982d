import { DatasyncError } from '../errors.ts';
import type { ChangeRef, ChangeSource } from '../model/change.ts';

/** The schema version of feedback records; it changes only when a field changes meaning. */
export const FEEDBACK_VERSION = 1;

/** How a unit of work ended. A timeout is a failure, reported as such. */
export type FeedbackStatus = 'ok' | 'error' | 'timeout';

/** An error as it travels in feedback: enough to act on, never payload values. */
export interface FeedbackError {
  readonly name: string;
  readonly message: string;
  /** The library's error code when the error is a `DatasyncError`. */
  readonly code?: string;
  /** The chain of causes, outermost first. */
  readonly causes?: ReadonlyArray<{ readonly name: string; readonly message: string }>;
}

interface FeedbackBase {
  /** Schema version, {@link FEEDBACK_VERSION}. */
  readonly version: typeof FEEDBACK_VERSION;
  readonly status: FeedbackStatus;
  /** Present when `status` is not `ok`. */
  readonly error?: FeedbackError;
  /** The correlation id the source carried, when there was exactly one. */
  readonly correlationId?: string;
  /** When the work finished (ISO-8601). */
  readonly time: string;
  /** How long the work took. */
  readonly durationMs: number;
}

/** The result of one plugin's change callback for one change event. */
export interface ChangeFeedback extends FeedbackBase {
  readonly event: 'change';
  readonly plugin: string;
  readonly source: ChangeSource;
  /** The changes delivered to the plugin (key, op, revision, correlation id). */
  readonly changes: readonly ChangeRef[];
  /**
   * With a failure, the changes the plugin applied all the same (it named the ones that failed
   * with `ChangeFailures`); they are not delivered again.
   */
  readonly applied?: readonly ChangeRef[];
  /** Redeliveries not applied because the plugin already held that revision or a newer one. */
  readonly skipped?: readonly ChangeRef[];
  /** Changes kept back until the plugin's resync finishes; they are delivered then. */
  readonly held?: readonly ChangeRef[];
  /**
   * Present only when a record listing very many changes was split to fit the queue's message
   * size: this part's position and the number of parts.
   */
  readonly part?: { readonly index: number; readonly count: number };
}

/** The result of one plugin's resync. */
export interface ResyncFeedback extends FeedbackBase {
  readonly event: 'resync';
  readonly plugin: string;
  readonly resyncId: string;
  /** Items handed to the plugin. */
  readonly items: number;
  /** Keys reported deleted (held by the plugin, gone from the store). */
  readonly deleted: number;
  /** Items skipped because they could not be read as a change (bad key, unsupported value). */
  readonly invalid?: number;
  /**
   * Items whose value does not fit the plugin's schema: neither handed over nor reported deleted
   * (the plugin keeps what it held of them). `mismatchedKeys` lists the first ten.
   */
  readonly mismatched?: number;
  readonly mismatchedKeys?: readonly string[];
  /** Changes held during the resync and applied after it. */
  readonly applied?: number;
  /** Invocations the resync spanned (more than 1 when it checkpointed and continued). */
  readonly parts?: number;
  /**
   * The resync that already answered this request: it began after the request was made, so the
   * plugin was not scanned again (items and deleted are 0).
   */
  readonly mergedInto?: string;
}

/**
 * Changes a source wrote to the table that holds their keys instead of delivering them: a bus
 * message for a key that lives in a table (the store), or an HTTP write. The table's stream then
 * delivers what was written to the plugins, with the same correlation ids; changes in `skipped`
 * were not written and no plugin will report them.
 */
export interface StoredFeedback extends FeedbackBase {
  readonly event: 'stored';
  readonly source: ChangeSource;
  /** Changes written to their tables. */
  readonly changes: readonly ChangeRef[];
  /**
   * Changes not written because the table already held that version of the key or a newer one
   * (or a newer deletion), or a delete found nothing to delete.
   */
  readonly skipped?: readonly ChangeRef[];
}

/** Input that was rejected before reaching any plugin (malformed, hostile, oversized). */
export interface RejectedFeedback extends FeedbackBase {
  readonly event: 'rejected';
  readonly status: 'error';
  readonly error: FeedbackError;
  readonly source: ChangeSource;
  /** The key, when one could be read from the input. */
  readonly key?: string;
}

/** One feedback message, as written to the feedback queue. */
export type FeedbackRecord = ChangeFeedback | ResyncFeedback | StoredFeedback | RejectedFeedback;

/** Describes an error for feedback: name, code, message and the chain of causes. */
export function describeError(error: unknown): FeedbackError {
  const top = asNamed(error);
  const causes: Array<{ name: string; message: string }> = [];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth += 1) {
    causes.push(asNamed(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return {
    name: top.name,
    message: top.message,
    ...(error instanceof DatasyncError ? { code: error.code } : {}),
    ...(causes.length > 0 ? { causes } : {}),
  };
}

function asNamed(thrown: unknown): { name: string; message: string } {
  if (thrown instanceof Error) return { name: thrown.name, message: thrown.message };
  let text: string;
  try {
    text = typeof thrown === 'string' ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    text = String(thrown);
  }
  return { name: 'NonError', message: text };
}
