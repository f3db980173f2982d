import { describeError, FEEDBACK_VERSION, type FeedbackRecord, type StoredFeedback } from '../feedback/record.ts';
import { type Change, type ChangeSource, changeRef } from '../model/change.ts';
import { InvalidChangeError } from '../errors.ts';
import { tableOfKey } from '../model/item.ts';
import type { TableConfig } from '../model/table-config.ts';
import type { BatchItem } from './batch-item.ts';
import type { OrderedQueueForwarder } from './forward.ts';
import type { TableStore } from './store.ts';

/**
 * Where a bus source sends a change before any plugin sees it (see docs/state.md):
 *
 * - a key that lives in one of `tables` is written to its table by the `store` (the table's
 *   stream delivers it); without a store such a change is refused, since delivering it past the
 *   table would give the key two orders;
 * - any other key goes to the ordered (FIFO) queue when `forward` is set (a standard queue or an
 *   EventBridge rule, which run invocations at once), or is delivered here.
 */
export interface BusRoute {
  readonly tables: readonly TableConfig[];
  readonly store?: TableStore;
  readonly forward?: OrderedQueueForwarder;
}

/** What routing did with a batch. */
export interface RoutedBatch {
  /** The items left to dispatch here, and the refusals (table keys without a store). */
  readonly items: readonly BatchItem[];
  /** Ids of records whose write or forward failed: the source delivers them again. */
  readonly failed: ReadonlySet<string>;
  /** Feedback of what the store wrote or skipped. */
  readonly records: readonly FeedbackRecord[];
}

/** Sends a batch's changes where they belong and returns what remains to dispatch. */
export async function routeBatch(items: readonly BatchItem[], route: BusRoute): Promise<RoutedBatch> {
  const started = Date.now();
  const remaining: BatchItem[] = [];
  const toStore: Array<{ id: string; change: Change }> = [];
  const toForward: Array<{ id: string; change: Change }> = [];
  for (const item of items) {
    if (!('change' in item)) {
      remaining.push(item);
      continue;
    }
    const table = tableOfKey(route.tables, item.change.key);
    if (table && route.store) toStore.push(item);
    else if (table) remaining.push(refusal(item, table));
    else if (route.forward) toForward.push(item);
    else remaining.push(item);
  }
  const failed = new Set<string>();
  const records: FeedbackRecord[] = [];
  if (toStore.length > 0) {
    const outcomes = await route.store!.write(toStore.map((item) => item.change));
    const bySource = new Map<
      string,
      { source: ChangeSource; stored: Change[]; skipped: Change[]; errors: Array<{ change: Change; error: Error }> }
    >();
    outcomes.forEach((outcome, index) => {
      const { source } = outcome.change;
      const id = `${source.type}\u0000${source.name}`;
      let group = bySource.get(id);
      if (!group) {
        group = { source: { type: source.type, name: source.name }, stored: [], skipped: [], errors: [] };
        bySource.set(id, group);
      }
      if ('error' in outcome) {
        failed.add(toStore[index]!.id);
        group.errors.push(outcome);
      } else (outcome.result === 'stored' ? group.stored : group.skipped).push(outcome.change);
    });
    const time = new Date().toISOString();
    for (const group of bySource.values()) {
      if (group.stored.length > 0 || group.skipped.length > 0) {
        records.push(stored(group.source, group.stored, group.skipped, time, started));
      }
      if (group.errors.length > 0) {
        records.push({
          ...stored(
            group.source,
            group.errors.map((entry) => entry.change),
            [],
            time,
            started,
          ),
          status: 'error',
          error: describeError(group.errors[0]!.error),
        });
      }
    }
  }
  if (toForward.length > 0) {
    const unsent = new Set(
      (await route.forward!.forward(toForward.map((item) => item.change))).map((entry) => entry.change),
    );
    for (const item of toForward) if (unsent.has(item.change)) failed.add(item.id);
  }
  return { items: remaining, failed, records };
}

function stored(
  source: ChangeSource,
  changes: readonly Change[],
  skipped: readonly Change[],
  time: string,
  started: number,
): StoredFeedback {
  const ids = new Set([...changes, ...skipped].map((change) => change.correlationId));
  const [only] = ids;
  return {
    version: FEEDBACK_VERSION,
    event: 'stored',
    status: 'ok',
    source,
    changes: changes.map(changeRef),
    ...(skipped.length > 0 ? { skipped: skipped.map(changeRef) } : {}),
    ...(ids.size === 1 && only !== undefined ? { correlationId: only } : {}),
    time,
    durationMs: Date.now() - started,
  };
}

function refusal(item: { id: string; change: Change; raw?: () => string }, table: TableConfig): BatchItem {
  const { id, change } = item;
  const error = new InvalidChangeError(
    `${change.key} lies in table ${table.name}: a bus change to a table's key must be written to the table, ` +
      'and this source does not write tables (its store is off); write it through the table or the HTTP API',
    {
      details: {
        key: change.key,
        ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
      },
    },
  );
  return {
    id,
    rejected: {
      error,
      source: change.source,
      raw: item.raw?.() ?? JSON.stringify({ key: change.key, op: change.op, revision: change.revision }),
      ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
    },
  };
}
