import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { StateLayoutError } from '../errors.ts';
import type { FeedbackError } from '../feedback/record.ts';
import { LAYOUT_VERSION } from './table.ts';

/**
 * Where a plugin stands. Only an `in-sync` plugin receives changes; for the others they are held
 * and applied after the plugin's next successful resync.
 */
export type SyncStatus = 'never-synced' | 'resyncing' | 'in-sync' | 'out-of-sync';

/** How far a running resync of one plugin got; kept in the status row so any process can resume it. */
export interface PluginCursor {
  readonly resyncId: string;
  /** 1 for the invocation that began the resync, then one more per continuation. */
  readonly part: number;
  /** Milliseconds since the epoch when the resync began. */
  readonly startedAt: number;
  readonly items: number;
  readonly deleted: number;
  /** Items skipped because they could not be read as a change (bad key, unsupported value). */
  readonly invalid: number;
  /** Items left out because their value does not fit the plugin's schema, and the first of their keys. */
  readonly mismatched?: number;
  readonly mismatchedKeys?: readonly string[];
  /** `items`: scanning the tables; `deletes`: reporting keys the plugin held that are gone. */
  readonly phase: 'items' | 'deletes';
  /** Index into the plugin's tables (in configuration order) of the table being scanned. */
  readonly table: number;
  /** Per scan segment of that table: where the next page starts, or done. */
  readonly segments: ReadonlyArray<{ readonly lastKey?: Record<string, AttributeValue>; readonly done: boolean }>;
  /**
   * The id of the snapshot this attempt records (the resync id and its start time): a resync id
   * run again after it finished records a new snapshot instead of mixing with the one in use.
   */
  readonly snapshot?: string;
  /** Snapshot pages recorded so far (numbers the next one). */
  readonly pages?: number;
  /** The snapshot the plugin held when the resync began (what the deletion sweep compares with). */
  readonly previous?: string;
  /** The next key bucket the deletion sweep looks at, in the `deletes` phase. */
  readonly bucket?: number;
  /** Items in the plugin's tables as DynamoDB last estimated them (for progress bars). */
  readonly estimatedItems?: number;
  /**
   * Where the snapshot's items come from: `scan` (the default), the plugin scans its tables and
   * records what it read; `spool`, the pages a run's earlier plugin scanned into a snapshot shared
   * with this one, from this invocation's memory; `rows`, the rest of such a snapshot after a
   * checkpoint, its recorded keys read again from the tables.
   */
  readonly source?: 'scan' | 'spool' | 'rows';
  /** With `scan`: the prefixes whose items the snapshot records, when it is shared with later plugins. */
  readonly record?: readonly string[];
  /** With `spool` or `rows`: the position in the shared snapshot's rows past those handed over. */
  readonly after?: string;
  /** The prefixes the plugin saw its previous snapshot through (absent: all its keys). */
  readonly previousPrefixes?: readonly string[];
}

/** One plugin's sync state, as `readPluginStates` reports it (e.g. for a CLI `status` command). */
export interface PluginState {
  readonly plugin: string;
  readonly status: SyncStatus;
  /** The last (or the running) resync. */
  readonly resyncId?: string;
  /** When that resync began and, once it ended, when it ended (ISO-8601). */
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Items and deletions handed over by the last finished resync. */
  readonly items: number;
  readonly deleted: number;
  /** The error of the last failed resync or of the failure that marked the plugin out of sync. */
  readonly lastError?: FeedbackError;
  /** Change deliveries that failed in a row since the last success. */
  readonly failures: number;
  /** Present while a resync is running or stopped part way: its progress. */
  readonly progress?: {
    readonly resyncId: string;
    readonly part: number;
    readonly phase: 'items' | 'deletes';
    readonly items: number;
    readonly deleted: number;
    readonly estimatedItems?: number;
  };
}

/** Reads a status row (or its absence) into a `PluginState`. */
export function toPluginState(plugin: string, row: Record<string, AttributeValue> | undefined): PluginState {
  if (!row) return { plugin, status: 'never-synced', items: 0, deleted: 0, failures: 0 };
  const text = (name: string): string | undefined => row[name]?.S;
  const count = (name: string): number => Number(row[name]?.N ?? 0);
  const cursor = readCursor(row);
  const error = text('lastError');
  return {
    plugin,
    status: (text('status') as SyncStatus | undefined) ?? 'never-synced',
    ...optional('resyncId', text('resyncId')),
    ...optional('startedAt', text('startedAt')),
    ...optional('finishedAt', text('finishedAt')),
    items: count('itemCount'),
    deleted: count('deletedCount'),
    ...(error ? { lastError: JSON.parse(error) as FeedbackError } : {}),
    failures: count('failures'),
    ...(cursor
      ? {
          progress: {
            resyncId: cursor.resyncId,
            part: cursor.part,
            phase: cursor.phase,
            items: cursor.items,
            deleted: cursor.deleted,
            ...optional('estimatedItems', cursor.estimatedItems),
          },
        }
      : {}),
  };
}

/** The snapshot a resync attempt records (attempts begun before snapshot ids had their own name use the resync id). */
export function snapshotOf(cursor: PluginCursor): string {
  return cursor.snapshot ?? cursor.resyncId;
}

/** The checkpoint stored in a status row, if any. */
export function readCursor(row: Record<string, AttributeValue> | undefined): PluginCursor | undefined {
  const text = row?.checkpoint?.S;
  return text ? (JSON.parse(text) as PluginCursor) : undefined;
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/**
 * Checks that a plugin's status row was written by this layout of the state table. A row that
 * records a resync (it has a `status`) carries the layout's version; one without it, or with
 * another, was written by another version of serverless-datasync, whose snapshots and positions
 * this one would misread (and so apply changes twice or miss deletions).
 * @throws StateLayoutError naming the table, the plugin and what to do.
 */
export function checkLayout(table: string, plugin: string, row: Record<string, AttributeValue> | undefined): void {
  if (row?.status === undefined) return;
  const layout = Number(row.layout?.N ?? 0);
  if (layout !== LAYOUT_VERSION) throw new StateLayoutError(table, plugin, layout, LAYOUT_VERSION);
}

/** The prefixes under which a plugin holds its current snapshot's keys (absent: all of them). */
export function viewPrefixes(row: Record<string, AttributeValue> | undefined): string[] | undefined {
  const text = row?.snapshotPrefixes?.S;
  return text === undefined ? undefined : (JSON.parse(text) as string[]);
}
