import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DatasyncError } from '../errors.ts';
import { keyMatchesPrefix } from '../model/key.ts';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { itemKeyOf, keyOfItem, valueOfItem, versionOfItem } from '../model/item.ts';
import { compareRevisions } from '../model/revision.ts';
import type { Snapshot, SnapshotEntry } from '../plugins/plugin.ts';
import type { PluginCursor } from '../state/status.ts';
import type { KeyRecord, SyncStateStore } from '../state/store.ts';
import { scanPages, type ScanOptions } from './scan.ts';
import type { ScanTable } from './tables.ts';

/** What a snapshot needs to stream a plugin's state. */
export interface SnapshotSource {
  readonly dynamodb: DynamoDBClient;
  readonly store: SyncStateStore;
  readonly plugin: string;
  readonly prefixes: readonly string[];
  /** The tables under the plugin's prefixes, in configuration order (the cursor indexes them). */
  readonly tables: readonly ScanTable[];
  /** Where to start: a fresh cursor, or the checkpoint of an earlier part of the same resync. */
  readonly cursor: PluginCursor;
  readonly scan?: ScanOptions;
  /** Key records read per page of the deletion sweep; default DynamoDB's 1 MB pages. */
  readonly sweepPageSize?: number;
  /**
   * Check each page against the revisions the plugin holds (see `#catchUp`): needed when the
   * plugin was in sync as the resync began, since deliveries planned just before may still land.
   */
  readonly fence?: boolean;
  /** True when the invocation's time is running low and the snapshot should stop at the next page boundary. */
  readonly timeIsShort: () => boolean;
  /** Called after each page is done and checkpointed (for progress reports). */
  readonly onPage?: (cursor: PluginCursor) => void;
}

/**
 * A plugin's authoritative snapshot, read straight from the tables: each scanned page is filtered
 * to the plugin's prefixes and handed over, then the keys the plugin held that the scan did not
 * find are handed over as deletions.
 *
 * A page counts as done when the plugin asks for the next one (or the pages end); only then are
 * its keys recorded and the cursor checkpointed, so a page is never recorded without having been
 * handed over, and a resumed resync starts after the last page done: nothing is handed over twice.
 */
export class ResyncSnapshot implements Snapshot {
  readonly resyncId: string;
  readonly prefixes: readonly string[];
  readonly #source: SnapshotSource;
  #cursor: PluginCursor;
  #started = false;
  #complete = false;
  #continues = false;
  #stopped = false;

  constructor(source: SnapshotSource) {
    this.#source = source;
    this.#cursor = source.cursor;
    this.resyncId = source.cursor.resyncId;
    this.prefixes = [...source.prefixes];
  }

  get continues(): boolean {
    return this.#continues;
  }

  /** True when every page, deletions included, was handed over and done. */
  get complete(): boolean {
    return this.#complete;
  }

  /** The cursor after the last page done. */
  get cursor(): PluginCursor {
    return this.#cursor;
  }

  /** Stops handing over pages (the plugin failed or timed out). */
  stop(): void {
    this.#stopped = true;
  }

  pages(): AsyncIterable<readonly SnapshotEntry[]> {
    if (this.#started) throw new DatasyncError('RESYNC_INCOMPLETE', `the snapshot of resync ${this.resyncId} can be read only once`);
    this.#started = true;
    return this.#generate();
  }

  async *#generate(): AsyncGenerator<readonly SnapshotEntry[]> {
    const source = this.#source;
    let pagesThisPart = 0;
    // Every invocation makes progress of at least one page, so a tiny time budget still ends.
    const mustStop = (): boolean => pagesThisPart > 0 && source.timeIsShort();

    while (this.#cursor.phase === 'items' && this.#cursor.table < source.tables.length) {
      const table = source.tables[this.#cursor.table]!;
      const segments = this.#cursor.segments.length > 0
        ? [...this.#cursor.segments]
        : Array.from({ length: table.segments }, () => ({ done: false }));
      if (mustStop()) return this.#checkpointed();
      for await (const page of scanPages(source.dynamodb, table.config.name, segments, source.scan)) {
        let invalid = 0;
        const entries: SnapshotEntry[] = [];
        for (const item of page.items) {
          let entry: SnapshotEntry;
          try {
            const key = keyOfItem(table.config, item);
            if (!this.prefixes.some((prefix) => keyMatchesPrefix(key, prefix))) continue;
            const revision = versionOfItem(table.config, item);
            entry = { op: 'put', key, value: valueOfItem(table.config, item), ...(revision === undefined ? {} : { revision }) };
          } catch {
            // An item that cannot be read as a change is counted (reported as `invalid` in the
            // resync's feedback) rather than failing every resync of the table.
            invalid += 1;
            continue;
          }
          entries.push(entry);
        }
        const handed = await this.#catchUp(table.config, entries);
        if (handed.length > 0) {
          yield handed;
          if (this.#stopped) return;
        }
        await source.store.writeKeys(source.plugin, handed.map((entry): KeyRecord => ({
          key: entry.key, present: true, seen: this.resyncId, ...(entry.revision === undefined ? {} : { revision: entry.revision }),
        })));
        segments[page.segment] = page.next ? { lastKey: page.next, done: false } : { done: true };
        const done = segments.every((segment) => segment.done);
        await this.#save({
          ...this.#cursor,
          items: this.#cursor.items + handed.length,
          invalid: this.#cursor.invalid + invalid,
          ...(done ? { table: this.#cursor.table + 1, segments: [] } : { segments }),
        });
        pagesThisPart += 1;
        if (!done && mustStop()) return this.#checkpointed();
      }
    }

    if (this.#cursor.phase === 'items') await this.#save({ ...this.#cursor, phase: 'deletes', segments: [] });
    for (;;) {
      if (mustStop()) return this.#checkpointed();
      const { records, next } = await source.store.unseenKeys(source.plugin, this.resyncId, this.#cursor.deleteKey, source.sweepPageSize);
      const gone = records.filter((record) => record.present && this.prefixes.some((prefix) => keyMatchesPrefix(record.key, prefix)));
      const entries: SnapshotEntry[] = gone.map((record) => ({
        op: 'delete', key: record.key, ...(record.revision === undefined ? {} : { revision: record.revision }),
      }));
      if (entries.length > 0) {
        yield entries;
        if (this.#stopped) return;
      }
      // Reported keys become tombstones seen by this resync (so a resumed sweep skips them and a
      // held delete of the same key is not applied twice). Older tombstones under the plugin's
      // prefixes are kept, marked seen: they fence a late redelivery of a change older than the
      // delete, which would otherwise bring a deleted key back. Keys outside the plugin's
      // prefixes (it stopped watching them) are dropped.
      const watched = (key: string) => this.prefixes.some((prefix) => keyMatchesPrefix(key, prefix));
      const tombstones = records.filter((record) => !record.present && watched(record.key));
      await source.store.writeKeys(source.plugin, [...gone, ...tombstones].map((record): KeyRecord => ({
        key: record.key, present: false, seen: this.resyncId, ...(record.revision === undefined ? {} : { revision: record.revision }),
      })));
      await source.store.deleteKeys(source.plugin, records.filter((record) => !watched(record.key)).map((record) => record.key));
      const { deleteKey: _previous, ...rest } = this.#cursor;
      await this.#save({ ...rest, deleted: this.#cursor.deleted + entries.length, ...(next ? { deleteKey: next } : {}) });
      pagesThisPart += 1;
      if (!next) break;
    }
    this.#complete = true;
  }

  /**
   * A change delivered while a page was being read (planned just before the resync began) may
   * already have given the plugin a newer revision of a key than the scanned item. Handing the
   * older item over would take the plugin back, and recording its revision would let that
   * change's redelivery apply again after it. Such items are read again (strongly consistent):
   * the current item is handed over, or, when the key has been deleted since, nothing is (it is
   * not a current item; its key record is left for the deletion sweep). An item the table still holds
   * only in its older form (the newer change came over a bus and is not stored yet) is handed
   * over as scanned, so the table stays the authority.
   */
  async #catchUp(config: ScanTable['config'], entries: SnapshotEntry[]): Promise<SnapshotEntry[]> {
    if (entries.length === 0 || !this.#source.fence) return entries;
    const { keys: held } = await this.#source.store.heldKeys(this.#source.plugin, entries.map((entry) => entry.key));
    return (await Promise.all(entries.map(async (entry): Promise<SnapshotEntry | undefined> => {
      const holds = held.get(entry.key)?.revision;
      if (holds === undefined || entry.revision === undefined || compareRevisions(holds, entry.revision) <= 0) return entry;
      const { Item } = await this.#source.dynamodb.send(new GetItemCommand({ TableName: config.name, Key: itemKeyOf(config, entry.key), ConsistentRead: true }));
      // Deleted since the page was read: not a current item; the deletion sweep settles the key.
      if (!Item) return undefined;
      const revision = versionOfItem(config, Item);
      return { op: 'put', key: entry.key, value: valueOfItem(config, Item), ...(revision === undefined ? {} : { revision }) };
    }))).filter((entry): entry is SnapshotEntry => entry !== undefined);
  }

  #checkpointed(): void {
    this.#continues = true;
  }

  async #save(cursor: PluginCursor): Promise<void> {
    await this.#source.store.saveCursor(this.#source.plugin, cursor);
    this.#cursor = cursor;
    this.#source.onPage?.(cursor);
  }
}
