import type { DatasyncCore } from '../core.ts';
import type { PluginOutcome } from '../dispatch/dispatcher.ts';
import { DatasyncError, toError } from '../errors.ts';
import type { DeadLetterWriter, RejectedInput } from '../feedback/dead-letter.ts';
import { describeError, FEEDBACK_VERSION, type FeedbackRecord, type RejectedFeedback } from '../feedback/record.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import type { Change, ChangeEvent, ChangeSource } from '../model/change.ts';
import type { DatasyncLogger } from '../observability/logger.ts';
import type { BatchItem, Rejection } from './batch-item.ts';
import { checkBatchSchemas } from './batch-schemas.ts';
import { routeBatch, type BusRoute } from './bus-route.ts';

export { normalizeItem, rejection, type BatchItem, type Rejection } from './batch-item.ts';

/**
 * What a source handler takes of the core: delivery, and the value schemas by prefix (a core made
 * by `createDatasyncCore` has both) that every put is checked against before any plugin runs.
 */
export type SourceCore = Pick<DatasyncCore, 'dispatch'> & Partial<Pick<DatasyncCore, 'schemas'>>;

/** What every source handler needs to deliver a batch. */
export interface DeliveryDeps {
  /** Delivers the changes; its value schemas, if any, are checked first (`checkBatchSchemas`). */
  readonly datasync: SourceCore;
  readonly feedback: FeedbackSink;
  readonly deadLetter: DeadLetterWriter;
  /** Time left for plugins (Lambda's remaining time less a margin). */
  readonly remainingTimeMs?: () => number;
  /** Where the batch's summary line goes (counts and errors, no payload values). */
  readonly logger?: DatasyncLogger;
  /** Where bus changes go before dispatch (the store, the ordered queue); default all are dispatched here. */
  readonly route?: BusRoute;
}

/** The outcome of delivering a batch. */
export interface BatchDelivery {
  /** Ids of records to report failed, as the source's policy chose them. */
  readonly failed: readonly string[];
  /** Every plugin outcome. */
  readonly outcomes: readonly PluginOutcome[];
  /** Records refused as bad input and dead-lettered in this invocation. */
  readonly rejected: number;
}

/**
 * Delivers a normalized batch: dispatches the changes (one change event per source, so each plugin
 * gets its share in one call, in order), picks the records to report failed with the source's
 * policy, dead-letters the rejected records that are not being retried, and writes every feedback
 * record (one per plugin outcome, one per rejection).
 * @throws FeedbackWriteError / DeadLetterWriteError when results could not be stored; the
 *   invocation must then fail so the source delivers everything again.
 */
export async function deliverBatch(
  items: readonly BatchItem[],
  deps: DeliveryDeps,
  policy: (failed: ReadonlySet<string>) => readonly string[],
): Promise<BatchDelivery> {
  const started = Date.now();
  const outcomes: PluginOutcome[] = [];
  const failedIds = new Set<string>();
  const routedRecords: FeedbackRecord[] = [];
  // Before anything is stored or delivered: a put that does not fit is refused like bad input.
  const checked = checkBatchSchemas(items, deps.datasync.schemas?.() ?? []);
  let working = checked;
  if (deps.route) {
    const routed = await routeBatch(working, deps.route);
    working = routed.items;
    for (const id of routed.failed) failedIds.add(id);
    routedRecords.push(...routed.records);
  }
  for (const [source, group] of groupBySource(working)) {
    const changes = group.map((item) => item.change);
    const correlations = new Set(changes.map((change) => change.correlationId));
    const [only] = correlations;
    const event: ChangeEvent = {
      changes,
      source,
      ...(correlations.size === 1 && only !== undefined ? { correlationId: only } : {}),
    };
    const groupOutcomes = await deps.datasync.dispatch(
      event,
      deps.remainingTimeMs ? { remainingTimeMs: deps.remainingTimeMs } : {},
    );
    outcomes.push(...groupOutcomes);
    // A failed plugin's share failed as a whole: every record with a key it was given is retried.
    const failedKeys = new Set(
      groupOutcomes
        .filter((outcome) => outcome.error)
        .flatMap((outcome) => outcome.feedback.changes.map((ref) => ref.key)),
    );
    for (const item of group) if (failedKeys.has(item.change.key)) failedIds.add(item.id);
  }
  const failed = policy(failedIds);
  const retried = new Set(failed);
  // A refused record that will be delivered again anyway is dead-lettered then, not twice.
  const rejections = working.filter(
    (item): item is Extract<BatchItem, { rejected: Rejection }> => 'rejected' in item && !retried.has(item.id),
  );
  const now = new Date().toISOString();
  const records: FeedbackRecord[] = [
    ...routedRecords,
    ...outcomes.map((outcome) => outcome.feedback),
    ...rejections.map((item) => rejectedFeedback(item.rejected, now)),
  ];
  const deadLetters: RejectedInput[] = rejections.map((item) => ({
    source: item.rejected.source,
    reason: describeError(item.rejected.error),
    raw: item.rejected.raw,
    time: now,
    ...keyOf(item.rejected.error),
    ...(item.rejected.correlationId === undefined ? {} : { correlationId: item.rejected.correlationId }),
  }));
  const [written, deadLettered] = await Promise.allSettled([
    deps.feedback.write(records),
    deps.deadLetter.send(deadLetters),
  ]);
  const errors = [written, deadLettered]
    .filter((result) => result.status === 'rejected')
    .map((result) => toError(result.reason));
  deps.logger?.[errors.length > 0 ? 'error' : failed.length > 0 ? 'warn' : 'info']('batch delivered', {
    records: items.length,
    changes: items.length - checked.filter((item) => 'rejected' in item).length,
    ...(routedRecords.length > 0 ? { stored: routedRecords.length } : {}),
    rejected: rejections.length,
    failed: failed.length,
    pluginFailures: outcomes
      .filter((outcome) => outcome.error)
      .map((outcome) => ({ plugin: outcome.feedback.plugin, status: outcome.feedback.status })),
    durationMs: Date.now() - started,
    ...(errors.length > 0 ? { errors: errors.map((error) => describeError(error)) } : {}),
  });
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) {
    // The message names both causes: it is the line a Lambda log shows first.
    const causes = errors.map((error) => error.message).join('; ');
    throw new AggregateError(errors, `neither feedback nor dead letters could be written: ${causes}`);
  }
  return { failed, outcomes, rejected: rejections.length };
}

/** The feedback record of refused input. */
export function rejectedFeedback(rejection: Rejection, time: string): RejectedFeedback {
  return {
    version: FEEDBACK_VERSION,
    event: 'rejected',
    status: 'error',
    error: describeError(rejection.error),
    source: rejection.source,
    ...keyOf(rejection.error),
    ...(rejection.correlationId === undefined ? {} : { correlationId: rejection.correlationId }),
    time,
    durationMs: 0,
  };
}

/** The key a rejection names, when the input had a valid one. */
function keyOf(error: Error): { key?: string } {
  const key = error instanceof DatasyncError ? error.details.key : undefined;
  return typeof key === 'string' ? { key } : {};
}

function groupBySource(items: readonly BatchItem[]): Map<ChangeSource, Array<{ id: string; change: Change }>> {
  const groups = new Map<string, { source: ChangeSource; items: Array<{ id: string; change: Change }> }>();
  for (const item of items) {
    if (!('change' in item)) continue;
    const { type, name } = item.change.source;
    const id = `${type}\u0000${name}`;
    let group = groups.get(id);
    if (!group) {
      group = { source: { type, name }, items: [] };
      groups.set(id, group);
    }
    group.items.push(item);
  }
  return new Map([...groups.values()].map((group) => [group.source, group.items]));
}
