import type { Change, Plugin, ResyncContext, Snapshot, SnapshotEntry } from '../../lib/index.ts';

/** What a recording plugin saw, in order. */
export interface Recorded {
  /** Every call: `resync:start`, `resync:end`, `change`, with the plugin name. */
  readonly calls: string[];
  /** Snapshot entries, in the order handed over. */
  readonly entries: SnapshotEntry[];
  /** Changes delivered, in order. */
  readonly changes: Change[];
  /** Context of each resync call. */
  readonly contexts: ResyncContext[];
  /** Per resync call: whether its snapshot stopped early to continue in a later call. */
  readonly continues: boolean[];
  /** The keys the plugin holds now (its materialized view). */
  readonly view: Map<string, unknown>;
}

/**
 * A plugin that applies what it receives to an in-memory view and records every call in `log`
 * (shared between plugins to see their order). `onPage` runs after each page it applied.
 */
export function recordingPlugin(
  name: string,
  prefixes: string[],
  log: string[] = [],
  hooks: {
    onPage?: (page: readonly SnapshotEntry[], index: number, context: ResyncContext) => void | Promise<void>;
    onChange?: (changes: readonly Change[]) => void | Promise<void>;
    timeoutMs?: number;
  } = {},
): Plugin & { recorded: Recorded } {
  const recorded: Recorded = { calls: log, entries: [], changes: [], contexts: [], continues: [], view: new Map() };
  return {
    name,
    prefixes,
    ...(hooks.timeoutMs ? { timeoutMs: hooks.timeoutMs } : {}),
    recorded,
    async resync(snapshot: Snapshot, context: ResyncContext) {
      log.push(`${name}:resync:start`);
      recorded.contexts.push(context);
      let index = 0;
      for await (const page of snapshot.pages()) {
        for (const entry of page) {
          recorded.entries.push(entry);
          if (entry.op === 'put') recorded.view.set(entry.key, entry.value);
          else recorded.view.delete(entry.key);
        }
        await hooks.onPage?.(page, index++, context);
      }
      recorded.continues.push(snapshot.continues === true);
      log.push(`${name}:resync:end`);
    },
    async change(changes) {
      await hooks.onChange?.(changes);
      log.push(`${name}:change`);
      for (const change of changes) {
        recorded.changes.push(change);
        if (change.op === 'put') recorded.view.set(change.key, change.value);
        else recorded.view.delete(change.key);
      }
    },
  };
}
