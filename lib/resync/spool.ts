import type { SnapshotEntry } from '../plugins/plugin.ts';
import { bucketOf, groupEnd, groupOf, SNAPSHOT_GROUPS } from '../state/table.ts';

/**
 * The scanned pages of a snapshot shared by a run's plugins, kept in this invocation's memory
 * for the plugins after the one that scanned them: one scan of a table serves every plugin of a
 * run that reads it, and rule 3 still holds (a later plugin is handed the pages only once the
 * earlier ones finished). Memory is bounded: past `limitBytes` the spool is dropped and the later
 * plugins scan for themselves. A spool lives as long as the invocation; a later part of the run
 * (a continuation) finds none.
 */
export class SnapshotSpool {
  /** The shared snapshot whose rows the spooled pages are. */
  readonly snapshot: string;
  readonly #limitBytes: number;
  // Per page (in scan order): when it was scanned, and its entries by key group.
  readonly #pages: Array<{ page: number; at: number; groups: Map<number, SnapshotEntry[]> }> = [];
  #bytes = 0;
  #state: 'filling' | 'complete' | 'dropped' = 'filling';

  constructor(snapshot: string, limitBytes: number) {
    this.snapshot = snapshot;
    this.#limitBytes = limitBytes;
  }

  /** True once every page of the snapshot is in the spool. */
  get complete(): boolean {
    return this.#state === 'complete';
  }

  /** Keeps one scanned page (the entries its rows record), unless the spool is over its limit. */
  add(page: number, at: number, entries: readonly SnapshotEntry[]): void {
    if (this.#state !== 'filling') return;
    for (const entry of entries) this.#bytes += entry.key.length + JSON.stringify(entry).length;
    if (this.#bytes > this.#limitBytes) {
      this.drop();
      return;
    }
    const groups = new Map<number, SnapshotEntry[]>();
    for (const entry of entries) {
      const group = groupOf(bucketOf(entry.key));
      let list = groups.get(group);
      if (!list) {
        list = [];
        groups.set(group, list);
      }
      list.push(entry);
    }
    this.#pages.push({ page, at, groups });
  }

  /** The scan ended: the spool holds the whole snapshot (unless it was dropped). */
  finish(): void {
    if (this.#state === 'filling') this.#state = 'complete';
  }

  /** Gives the memory back: the scan did not finish in this invocation, or the spool grew too large. */
  drop(): void {
    this.#state = 'dropped';
    this.#pages.length = 0;
  }

  /**
   * The spooled entries group by group (the order of the snapshot's rows), from the first group
   * whose rows sort after `after` on, each with when its first page was scanned and `after`, the
   * position past its rows.
   */
  *groups(after?: string): Generator<{ after: string; at: number; entries: readonly SnapshotEntry[] }> {
    for (let group = 0; group < SNAPSHOT_GROUPS; group += 1) {
      const past = groupEnd(group);
      if (after !== undefined && past <= after) continue;
      const pages = this.#pages.filter((page) => page.groups.has(group));
      if (pages.length === 0) continue;
      yield {
        after: past,
        // Pages are kept in scan order: the first is the earliest.
        at: pages[0]!.at,
        entries: pages.flatMap((page) => page.groups.get(group)!),
      };
    }
  }
}

/** The spools of one invocation of a run, by shared snapshot. */
export class RunSpools {
  readonly limitBytes: number;
  readonly #spools = new Map<string, SnapshotSpool>();

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** A new spool for a shared snapshot this invocation scans. */
  open(snapshot: string): SnapshotSpool {
    const spool = new SnapshotSpool(snapshot, this.limitBytes);
    this.#spools.set(snapshot, spool);
    return spool;
  }

  /** Drops every spool (the run's invocation ends). */
  clear(): void {
    for (const spool of this.#spools.values()) spool.drop();
    this.#spools.clear();
  }
}
