import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableConfig } from '../config.ts';
import { chunk } from '../aws/batch.ts';
import { DEFAULT_RETRY_POLICY, sendWithRetry } from '../aws/retry.ts';
import { DatasyncError } from '../errors.ts';
import { keyMatchesPrefix } from '../model/key.ts';
import { itemKeyOf, keyOfItem, tableOfKey, valueOfItem, versionOfItem } from '../model/item.ts';
import { fitValue, type ValueSchema } from '../model/value-schema.ts';
import { compareRevisions } from '../model/revision.ts';
import type { Snapshot, SnapshotEntry } from '../plugins/plugin.ts';
import { snapshotOf, type PluginCursor } from '../state/status.ts';
import type { HeldKey, KeyRecord, SnapshotKey, SyncStateStore } from '../state/store.ts';
import type { LeaseHold } from './lease.ts';
import { resyncRows, type ResyncRows } from './state-rows.ts';
import { snapshotTag } from '../state/key-rows.ts';
import { BUCKETS, bucketOf, chunkEnd, groupOfSnapshotSort, SNAPSHOT_GROUPS } from '../state/table.ts';
import type { SnapshotSpool } from './spool.ts';
import { addKeys, sameKeys, type SnapshotDigest } from './digest.ts';
import { scanPages, type ScanOptions } from './scan.ts';
import type { ScanTable } from './tables.ts';

/** How the items phase of a part ended: all items handed over, paused for a checkpoint, or stopped (the plugin failed). */
type ItemsEnd = 'done' | 'paused' | 'stopped';

/** What a snapshot needs to stream a plugin's state. */
export interface SnapshotSource {
  readonly dynamodb: DynamoDBClient;
  readonly store: SyncStateStore;
  readonly plugin: string;
  readonly prefixes: readonly string[];
  /** The plugin's value schema: items that do not fit it are left out and counted. */
  readonly schema?: ValueSchema;
  /** The tables under the plugin's prefixes, in configuration order (the cursor indexes them). */
  readonly tables: readonly ScanTable[];
  /** Where to start: a fresh cursor, or the checkpoint of an earlier part of the same resync. */
  readonly cursor: PluginCursor;
  /** The digest of the keys handed over before `cursor` (empty for a fresh one), when known. */
  readonly digest?: SnapshotDigest;
  readonly scan?: ScanOptions;
  /** Key buckets compared per step of the deletion sweep; default about 8,000 keys' worth. */
  readonly sweepBuckets?: number;
  /**
   * Check each page against the revisions deliveries recorded lately (see `#catchUp`): needed when
   * the plugin was in sync as the resync began, since deliveries planned just before may still land.
   */
  readonly fence?: boolean;
  /** True when the invocation's time is running low and the snapshot should stop at the next page boundary. */
  readonly timeIsShort: () => boolean;
  /** The resync lease each checkpoint renews (and is written only while held). */
  readonly hold?: LeaseHold;
  /** Called after each page is done and checkpointed (for progress reports). */
  readonly onPage?: (cursor: PluginCursor) => void;
  /**
   * A snapshot shared with the run's later plugins: with the `scan` source, where its pages go for
   * them; with `spool`, where they come from.
   */
  readonly spool?: SnapshotSpool;
}

/**
 * A plugin's authoritative snapshot, read straight from the tables: each scanned page is filtered
 * to the plugin's prefixes and handed over, then the keys the plugin held that the scan did not
 * find are handed over as deletions.
 *
 * A page counts as done when the plugin asks for the next one (or the pages end); only then are
 * its keys recorded (a few snapshot rows per page, see `state/table.ts`) and the cursor
 * checkpointed, so a page is never recorded without having been handed over, and a resumed
 * resync starts after the last page done: nothing is handed over twice.
 */
export class ResyncSnapshot implements Snapshot {
  readonly resyncId: string;
  readonly prefixes: readonly string[];
  readonly #source: SnapshotSource;
  readonly #rows: ResyncRows;
  #cursor: PluginCursor;
  // Per key bucket, a count and a hash sum of the keys handed over so far; undefined when not
  // known (a part resumed after a crash).
  #digest: SnapshotDigest | undefined;
  #started = false;
  #complete = false;
  #continues = false;
  #stopped = false;

  constructor(source: SnapshotSource) {
    this.#source = source;
    this.#rows = resyncRows(source.store);
    this.#cursor = source.cursor;
    this.#digest = source.digest;
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
    if (this.#started)
      throw new DatasyncError('RESYNC_INCOMPLETE', `the snapshot of resync ${this.resyncId} can be read only once`);
    this.#started = true;
    return this.#generate();
  }

  async *#generate(): AsyncGenerator<readonly SnapshotEntry[]> {
    const source = this.#source;
    // Every invocation makes progress of at least one page, so a tiny time budget still ends.
    const part = { pages: 0 };
    const mustStop = (): boolean => part.pages > 0 && source.timeIsShort();

    if (this.#cursor.phase === 'items') {
      const from = this.#cursor.source ?? 'scan';
      const end =
        from === 'scan'
          ? yield* this.#scanned(part, mustStop)
          : from === 'spool'
            ? yield* this.#spooled(part, mustStop)
            : yield* this.#reread(part, mustStop);
      if (end === 'stopped') return;
      await this.#keepDigest();
      if (end === 'paused') return this.#checkpointed();
      await this.#save({ ...this.#cursor, phase: 'deletes', segments: [], bucket: 0 });
    }
    // Snapshots are read a group of buckets at a time: by default a step is whole groups, so a
    // big table's sweep reads each group once rather than once per step inside it.
    const perGroup = BUCKETS / SNAPSHOT_GROUPS;
    const byItems = Math.floor((BUCKETS * SWEEP_KEYS) / Math.max(1, this.#cursor.estimatedItems ?? 0));
    const step = Math.max(
      1,
      Math.min(BUCKETS, source.sweepBuckets ?? Math.max(perGroup, Math.floor(byItems / perGroup) * perGroup)),
    );
    while ((this.#cursor.bucket ?? 0) < BUCKETS) {
      // (The digest is kept since the items ended: it no longer changes.)
      if (mustStop()) return this.#checkpointed();
      const first = this.#cursor.bucket ?? 0;
      const last = Math.min(BUCKETS, first + step) - 1;
      const { gone, record, stale } = await this.#sweep(first, last);
      const entries: SnapshotEntry[] = gone.map((held) => ({
        op: 'delete',
        key: held.key,
        ...(held.revision === undefined ? {} : { revision: held.revision }),
        ...(held.version === undefined ? {} : { version: held.version }),
      }));
      if (entries.length > 0) {
        yield entries;
        if (this.#stopped) return;
      }
      // Reported keys become tombstones, so that a late redelivery of an older put (an SQS or
      // EventBridge retry, a replayed stream record) is not applied over the deletion, and a
      // resumed sweep does not report them again.
      await source.store.writeKeys(
        source.plugin,
        [...gone.map((held): KeyRecord => ({ ...held, present: false })), ...record],
        snapshotOf(this.#cursor),
      );
      await this.#rows.deleteKeyRows(source.plugin, stale);
      await this.#save({ ...this.#cursor, deleted: this.#cursor.deleted + entries.length, bucket: last + 1 });
      part.pages += 1;
    }
    this.#complete = true;
  }

  /**
   * The items, scanned from the plugin's tables. Each page's rows record the items under the
   * snapshot's prefixes (the plugin's, or for a snapshot shared with later plugins, theirs too,
   * which the spool keeps for them); the plugin is handed those under its own prefixes.
   */
  async *#scanned(
    part: { pages: number },
    mustStop: () => boolean,
  ): AsyncGenerator<readonly SnapshotEntry[], ItemsEnd> {
    const source = this.#source;
    const recordPrefixes = this.#cursor.record ?? this.prefixes;
    const configs = source.tables.map((table) => table.config);
    // A scan that does not end in this invocation keeps no pages for later plugins.
    const pause = (): ItemsEnd => {
      source.spool?.drop();
      return 'paused';
    };
    while (this.#cursor.table < source.tables.length) {
      const table = source.tables[this.#cursor.table]!;
      const segments =
        this.#cursor.segments.length > 0
          ? [...this.#cursor.segments]
          : Array.from({ length: table.segments }, () => ({ done: false }));
      if (mustStop()) return pause();
      for await (const page of scanPages(source.dynamodb, table.config.name, segments, source.scan)) {
        const scannedAt = Date.now();
        let invalid = 0;
        const recorded: SnapshotEntry[] = [];
        for (const item of page.items) {
          let entry: SnapshotEntry;
          try {
            const key = keyOfItem(table.config, item);
            if (!recordPrefixes.some((prefix) => keyMatchesPrefix(key, prefix))) continue;
            const version = versionOfItem(table.config, item);
            entry = {
              op: 'put',
              key,
              value: valueOfItem(table.config, item),
              ...(version === undefined ? {} : { version }),
            };
          } catch {
            // An item that cannot be read as a change is counted (reported as `invalid` in the
            // resync's feedback) rather than failing every resync of the table.
            invalid += 1;
            continue;
          }
          recorded.push(entry);
        }
        const mine = recorded.filter((entry) => this.#watched(entry.key));
        const { fit: handed, misfits } = this.#fitting(
          await this.#catchUp(configs, mine, () =>
            this.#rows.keyRowsSince(source.plugin, this.#cursor.startedAt - FENCE_LOOKBACK_MS),
          ),
        );
        if (handed.length > 0) {
          yield handed;
          if (this.#stopped) {
            source.spool?.drop();
            return 'stopped';
          }
        }
        const pageNumber = this.#cursor.pages ?? 0;
        await this.#rows.writeSnapshotPage(snapshotOf(this.#cursor), pageNumber, recorded);
        source.spool?.add(pageNumber, scannedAt, recorded);
        segments[page.segment] = page.next ? { lastKey: page.next, done: false } : { done: true };
        const done = segments.every((segment) => segment.done);
        this.#addToDigest(handed);
        await this.#save({
          ...this.#cursor,
          items: this.#cursor.items + handed.length,
          invalid: this.#cursor.invalid + invalid,
          ...this.#mismatched(misfits),
          pages: pageNumber + 1,
          ...(done ? { table: this.#cursor.table + 1, segments: [] } : { segments }),
        });
        part.pages += 1;
        if (!done && mustStop()) return pause();
      }
    }
    source.spool?.finish();
    return 'done';
  }

  /**
   * The items of a snapshot a run's earlier plugin scanned, from the spool: a page per key group
   * (the order of the snapshot's rows), each checked against the plugin's key rows of that group
   * written since the group's first page was scanned (the plugin was in sync meanwhile). The
   * checkpoint follows each group.
   */
  async *#spooled(
    part: { pages: number },
    mustStop: () => boolean,
  ): AsyncGenerator<readonly SnapshotEntry[], ItemsEnd> {
    const source = this.#source;
    const configs = source.tables.map((table) => table.config);
    for (const group of source.spool!.groups(this.#cursor.after)) {
      const mine = group.entries.filter((entry) => this.#watched(entry.key));
      if (mine.length === 0) continue;
      if (mustStop()) return 'paused';
      const { fit: handed, misfits } = this.#fitting(
        await this.#catchUp(configs, mine, () =>
          this.#rows.keyRowsSince(source.plugin, group.at - FENCE_LOOKBACK_MS, groupOfSnapshotSort(group.after)),
        ),
      );
      if (handed.length > 0) {
        yield handed;
        if (this.#stopped) return 'stopped';
      }
      this.#addToDigest(handed);
      await this.#save({
        ...this.#cursor,
        items: this.#cursor.items + handed.length,
        ...this.#mismatched(misfits),
        after: group.after,
      });
      part.pages += 1;
    }
    return 'done';
  }

  /**
   * The rest of a shared snapshot whose spool is gone (the resync continues in a new invocation):
   * its recorded keys under the plugin's prefixes, chunk by chunk, read again from the tables.
   * An item that changed since the scan is handed over as it is now and its position recorded; a
   * key whose item is gone is handed over as a deletion (the plugin may hold it from before) and
   * recorded as a tombstone.
   */
  async *#reread(part: { pages: number }, mustStop: () => boolean): AsyncGenerator<readonly SnapshotEntry[], ItemsEnd> {
    const source = this.#source;
    const snapshot = snapshotOf(this.#cursor);
    const configs = source.tables.map((table) => table.config);
    for await (const chunk of this.#rows.snapshotChunks(snapshot, this.#cursor.after)) {
      const mine = chunk.records.filter(([key]) => this.#watched(key));
      if (mine.length === 0) continue;
      if (mustStop()) return 'paused';
      const items = await readItems(
        source.dynamodb,
        configs,
        mine.map(([key]) => key),
      );
      const entries: SnapshotEntry[] = [];
      const positions: KeyRecord[] = [];
      for (const [key, recordedVersion] of mine) {
        const found = items.get(key);
        if (found === undefined) {
          entries.push({ op: 'delete', key, ...(recordedVersion === undefined ? {} : { version: recordedVersion }) });
          positions.push({
            key,
            present: false,
            ...(recordedVersion === undefined ? {} : { version: recordedVersion }),
          });
          continue;
        }
        entries.push(found);
        if (found.op === 'put' && found.version !== recordedVersion)
          positions.push({ key, present: true, ...(found.version === undefined ? {} : { version: found.version }) });
      }
      await source.store.writeKeys(source.plugin, positions, snapshot);
      const { fit, misfits } = this.#fitting(entries);
      if (fit.length > 0) {
        yield fit;
        if (this.#stopped) return 'stopped';
      }
      const puts = fit.filter((entry) => entry.op === 'put');
      this.#addToDigest(puts);
      await this.#save({
        ...this.#cursor,
        items: this.#cursor.items + puts.length,
        deleted: this.#cursor.deleted + fit.length - puts.length,
        ...this.#mismatched(misfits),
        after: chunkEnd(chunk.name),
      });
      part.pages += 1;
    }
    return 'done';
  }

  #watched(key: string): boolean {
    return this.prefixes.some((prefix) => keyMatchesPrefix(key, prefix));
  }

  /** Adds keys handed over to the digest (when it is known). */
  #addToDigest(handed: readonly SnapshotEntry[]): void {
    if (this.#digest)
      this.#digest = addKeys(
        this.#digest,
        handed.map((entry) => entry.key),
      );
  }

  /**
   * Keeps the digest for a later part: written at the end of the items and at each checkpoint
   * before a continuation, not with every page (a digest is ~6 KB, a write unit 1 KB). A part that
   * crashes leaves a digest that does not match its cursor, and the sweep then reads every bucket.
   */
  async #keepDigest(): Promise<void> {
    if (this.#digest)
      await this.#rows.writeDigest(this.#source.plugin, snapshotOf(this.#cursor), this.#digest, this.#cursor.items);
  }

  /**
   * Compares buckets `first` to `last` of what the plugin holds (the current snapshot and its key
   * rows) with this resync's snapshot.
   * - `gone`: keys it holds present that the scan did not find and the table no longer has.
   * - `record`: keys it holds from the current snapshot that the scan missed but the table has
   *   (written while the scan ran; their changes are held and follow): they become key rows, as
   *   that snapshot is dropped by the next resync.
   * - `stale`: key rows that no longer say anything: older than the key's entry in the current
   *   snapshot, tombstones older than any redelivery can be (when no snapshot entry would take
   *   their place), keys outside the plugin's prefixes (it stopped watching them). Rows are judged
   *   against the current snapshot only, never against this one, which may still fail.
   */
  async #sweep(
    first: number,
    last: number,
  ): Promise<{
    gone: KeyRecord[];
    record: KeyRecord[];
    stale: Array<{ key: string; stored?: string }>;
  }> {
    const { store, plugin } = this.#source;
    const previous = this.#cursor.previous;
    const rows = await this.#rows.keyRows(plugin, first, last);
    // A bucket needs comparing when it has key rows, or when the two snapshots may differ there:
    // their digests disagree, or one is missing (a resync that kept none, a first resync).
    const withRows = new Set([...rows.keys()].map(bucketOf));
    const earlier = previous === undefined ? undefined : await this.#previousDigest(previous);
    const current = this.#digest;
    const needed: number[] = [];
    for (let bucket = first; bucket <= last; bucket += 1) {
      const differ =
        previous !== undefined &&
        (earlier === undefined || current === undefined || !sameKeys(earlier, current, bucket));
      if (withRows.has(bucket) || differ) needed.push(bucket);
    }
    if (needed.length === 0) return { gone: [], record: [], stale: [] };
    // Snapshots are read a group at a time and may hold other plugins' keys: each is seen through
    // the prefixes the plugin held it under, in the buckets of this step.
    const inStep = new Set(needed);
    const previousView = this.#cursor.previousPrefixes;
    const flatten = (byBucket: Map<number, Map<string, SnapshotKey>>, view: readonly string[] | undefined) =>
      new Map(
        [...byBucket]
          .filter(([bucket]) => inStep.has(bucket))
          .flatMap(([, keys]) =>
            [...keys].filter(([key]) => view === undefined || view.some((prefix) => keyMatchesPrefix(key, prefix))),
          ),
      );
    const [before, after] = await Promise.all([
      previous === undefined
        ? new Map<string, SnapshotKey>()
        : store.snapshotKeys(previous, needed).then((keys) => flatten(keys, previousView)),
      store.snapshotKeys(snapshotOf(this.#cursor), needed).then((keys) => flatten(keys, this.prefixes)),
    ]);
    const configs = this.#source.tables.map((table) => table.config);
    const previousTag = previous === undefined ? undefined : snapshotTag(previous);
    const stale: Array<{ key: string; stored?: string }> = [];
    const staleRow = (key: string, row: HeldKey) =>
      stale.push({ key, ...(row.stored === undefined ? {} : { stored: row.stored }) });
    const candidates: Array<KeyRecord & { fromSnapshot: boolean }> = [];
    for (const [key, row] of rows) {
      if (!this.#watched(key)) {
        staleRow(key, row);
        continue;
      }
      const earlier = before.get(key);
      const superseded = earlier !== undefined && row.under !== previousTag && (row.at ?? 0) < earlier.at;
      if (superseded) staleRow(key, row);
      if (after.has(key)) continue;
      const held = superseded ? { present: true, revision: row.revision, version: earlier.version } : row;
      if (held.present)
        candidates.push({
          key,
          present: true,
          fromSnapshot: superseded,
          ...(held.revision === undefined ? {} : { revision: held.revision }),
          ...(held.version === undefined ? {} : { version: held.version }),
        });
      else if (earlier === undefined && row.at !== undefined && Date.now() - row.at > TOMBSTONE_RETENTION_MS)
        staleRow(key, row);
    }
    for (const [key, earlier] of before) {
      if (rows.has(key) || after.has(key) || !this.#watched(key)) continue;
      candidates.push({
        key,
        present: true,
        fromSnapshot: true,
        ...(earlier.version === undefined ? {} : { version: earlier.version }),
      });
    }
    // A key no table holds (a bus key) is not the resync's to judge: it is neither handed over
    // nor reported deleted.
    const tableKeys = candidates.filter((held) => tableOfKey(configs, held.key) !== undefined);
    candidates.length = 0;
    candidates.push(...tableKeys);
    // A key the scan did not find is gone only if the table says so: a change committed while
    // the scan ran can leave a live key out of the snapshot.
    const live = await readItems(
      this.#source.dynamodb,
      this.#source.tables.map((table) => table.config),
      candidates.map((held) => held.key),
    );
    const strip = ({ fromSnapshot: _from, ...held }: KeyRecord & { fromSnapshot: boolean }): KeyRecord => held;
    return {
      gone: candidates.filter((held) => !live.has(held.key)).map(strip),
      record: candidates.filter((held) => live.has(held.key) && held.fromSnapshot).map(strip),
      stale,
    };
  }

  /**
   * A change delivered while a page was being read (planned just before the resync began), or,
   * for a page a run's earlier plugin scanned, since it was scanned, may already have given the
   * plugin a newer revision of a key than the page's item. Handing the older item over would take
   * the plugin back, and recording its revision would let that change's redelivery apply again
   * after it. Such items are read again (strongly consistent): the current item is handed over
   * and its position recorded (it is newer than the snapshot's record); when the key has been
   * deleted since, nothing is handed over (it is not a current item) and a tombstone the plugin
   * was given is recorded again, under this snapshot. An item the table still holds only in its
   * older form (the newer change came over a bus and is not stored yet) is handed over as
   * scanned, so the table stays the authority.
   * @param fence the plugin's key rows written lately (read only when the entries need them).
   */
  async #catchUp(
    configs: readonly TableConfig[],
    entries: SnapshotEntry[],
    fence: () => Promise<Map<string, HeldKey>>,
  ): Promise<SnapshotEntry[]> {
    if (entries.length === 0 || !this.#source.fence) return entries;
    const held = await fence();
    // A key no delivery touched lately is as the scan read it. One that was touched is read
    // again, unless what the plugin was given is not newer than the item read (by version, where
    // both have one). The keys read again are read together, 100 a call.
    const stale = entries.filter((entry) => {
      const holds = held.get(entry.key);
      if (holds === undefined) return false;
      return !(
        entry.op === 'put' &&
        holds.version !== undefined &&
        entry.version !== undefined &&
        compareRevisions(holds.version, entry.version) <= 0
      );
    });
    if (stale.length === 0) return entries;
    const current = await readItems(
      this.#source.dynamodb,
      configs,
      stale.map((entry) => entry.key),
    );
    const reread = new Set(stale);
    const positions: KeyRecord[] = [];
    const handed: Array<SnapshotEntry | undefined> = entries.map((entry) => {
      if (!reread.has(entry)) return entry;
      const holds = held.get(entry.key)!;
      const revision = holds.revision === undefined ? {} : { revision: holds.revision };
      const item = current.get(entry.key);
      // The current item is handed over and its position recorded; a key deleted since hands
      // nothing over, and a tombstone the plugin was given is recorded again, under this snapshot.
      if (item !== undefined || !holds.present) {
        const version = item === undefined ? holds.version : item.version;
        positions.push({
          key: entry.key,
          present: item !== undefined,
          ...revision,
          ...(version === undefined ? {} : { version }),
        });
      }
      return item;
    });
    await this.#source.store.writeKeys(this.#source.plugin, positions, snapshotOf(this.#cursor));
    return handed.filter((entry): entry is SnapshotEntry => entry !== undefined);
  }

  /**
   * The entries whose value fits the plugin's schema, and the keys of those that do not. An item
   * that does not fit is not handed over, but the snapshot records it (the table holds it), so the
   * deletion sweep does not report it deleted either: the plugin keeps what it held of the key,
   * and the resync's feedback counts it.
   */
  #fitting(entries: SnapshotEntry[]): { fit: SnapshotEntry[]; misfits: string[] } {
    const { schema, plugin } = this.#source;
    if (!schema || entries.length === 0) return { fit: entries, misfits: [] };
    const fit: SnapshotEntry[] = [];
    const misfits: string[] = [];
    for (const entry of entries) {
      const prefix = this.prefixes.find((candidate) => keyMatchesPrefix(entry.key, candidate)) ?? '';
      if (entry.op === 'put' && fitValue({ prefix, schema, plugin }, entry.value).issues) misfits.push(entry.key);
      else fit.push(entry);
    }
    return { fit, misfits };
  }

  /** The cursor's count and first keys of items that did not fit, with `misfits` added. */
  #mismatched(misfits: readonly string[]): Pick<PluginCursor, 'mismatched' | 'mismatchedKeys'> {
    if (misfits.length === 0) return {};
    return {
      mismatched: (this.#cursor.mismatched ?? 0) + misfits.length,
      mismatchedKeys: [...(this.#cursor.mismatchedKeys ?? []), ...misfits].slice(0, MISMATCHED_KEYS),
    };
  }

  // The previous snapshot's digest, read once per part (it is the plugin's current snapshot until
  // this resync finishes).
  #earlier: Promise<SnapshotDigest | undefined> | undefined;
  #previousDigest(previous: string): Promise<SnapshotDigest | undefined> {
    this.#earlier ??= this.#rows.snapshotDigest(this.#source.plugin, previous);
    return this.#earlier;
  }

  #checkpointed(): void {
    this.#continues = true;
  }

  async #save(cursor: PluginCursor): Promise<void> {
    await this.#rows.saveCursor(this.#source.plugin, cursor, this.#source.hold);
    this.#cursor = cursor;
    this.#source.onPage?.(cursor);
  }
}

/** How many keys of items that do not fit the plugin's schema the resync's feedback names. */
const MISMATCHED_KEYS = 10;

/** Keys the deletion sweep aims to compare per step (it reads whole groups of buckets). */
const SWEEP_KEYS = 8_192;

/**
 * How far before a resync's start the fence looks for deliveries: a delivery planned before the
 * plugin turned `resyncing` is recorded within its invocation, and no Lambda invocation runs
 * longer than 15 minutes.
 */
const FENCE_LOOKBACK_MS = 15 * 60_000;

/**
 * How long a tombstone is kept: the longest a message can wait in SQS (14 days), which is longer
 * than a stream record (24 hours) or an EventBridge retry (24 hours) can come back.
 */
export const TOMBSTONE_RETENTION_MS = 14 * 24 * 60 * 60 * 1000;

/**
 * The current items of keys, by key, as snapshot entries (strongly consistent reads, 100 keys a
 * call); a key whose item is gone is absent.
 */
async function readItems(
  dynamodb: DynamoDBClient,
  tables: readonly TableConfig[],
  keys: readonly string[],
): Promise<Map<string, SnapshotEntry>> {
  const found = new Map<string, SnapshotEntry>();
  if (keys.length === 0) return found;
  const byTable = new Map<TableConfig, string[]>();
  for (const key of keys) {
    const table = tableOfKey(tables, key);
    if (table) byTable.set(table, [...(byTable.get(table) ?? []), key]);
  }
  for (const [table, tableKeys] of byTable) {
    for (const batch of chunk(tableKeys, 100)) {
      // Keys DynamoDB leaves unprocessed are read again, and only they.
      const outcome = await sendWithRetry(
        batch,
        async (pending) => {
          const result = await dynamodb.send(
            new BatchGetItemCommand({
              RequestItems: {
                [table.name]: { Keys: pending.map((key) => itemKeyOf(table, key)), ConsistentRead: true },
              },
            }),
          );
          for (const item of result.Responses?.[table.name] ?? []) {
            const key = keyOfItem(table, item);
            const version = versionOfItem(table, item);
            found.set(key, {
              op: 'put',
              key,
              value: valueOfItem(table, item),
              ...(version === undefined ? {} : { version }),
            });
          }
          const unread = new Set(
            (result.UnprocessedKeys?.[table.name]?.Keys ?? []).map((item) => keyOfItem(table, item)),
          );
          return {
            delivered: pending.filter((key) => !unread.has(key)),
            failed: pending
              .filter((key) => unread.has(key))
              .map((entry) => ({ entry, retryable: true, reason: 'left unprocessed by BatchGetItem' })),
          };
        },
        DEFAULT_RETRY_POLICY,
      );
      if (outcome.failed.length > 0) {
        throw new DatasyncError(
          'SCAN_FAILED',
          `could not read ${outcome.failed.length} key(s) of table ${table.name} again: ${outcome.failed[0]!.reason}`,
          {
            details: { table: table.name },
          },
        );
      }
    }
  }
  return found;
}
