import { randomUUID } from 'node:crypto';
import type { AwsClients } from '../aws/clients.ts';
import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import type { TableConfig } from '../config.ts';
import { DEFAULT_PLUGIN_TIMEOUT_MS } from '../dispatch/dispatcher.ts';
import { runWithTimeout } from '../dispatch/timeout.ts';
import { DatasyncError, PluginFailedError, PluginTimeoutError, ResyncBusyError, toError } from '../errors.ts';
import { describeError, FEEDBACK_VERSION, type FeedbackStatus, type ResyncFeedback } from '../feedback/record.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import type { Plugin } from '../plugins/plugin.ts';
import { keyRecordsAfter, planHeldChanges, revisionsOf } from '../state/held.ts';
import { readCursor, snapshotOf, type PluginCursor } from '../state/status.ts';
import type { SyncStateStore } from '../state/store.ts';
import type { ProgressListener } from './progress.ts';
import { requestResync, type ResyncRequest } from './request.ts';
import type { ScanOptions } from './scan.ts';
import type { LeaseHold } from './lease.ts';
import { ResyncSnapshot } from './snapshot.ts';
import { resyncRows } from './state-rows.ts';
import { describeTables, tablesForPrefixes, type SegmentOptions } from './tables.ts';

/** Default time limit of one plugin's resync callback in one invocation. */
export const DEFAULT_RESYNC_TIMEOUT_MS = 5 * 60_000;
/** Default time kept in reserve before the Lambda limit: a checkpoint is taken when less is left. */
export const DEFAULT_MARGIN_MS = 20_000;

/** How a resync runs. */
export interface ResyncOptions extends SegmentOptions, ScanOptions {
  /** The tables to read (their prefixes decide which plugins each one serves). */
  readonly tables: readonly TableConfig[];
  /** The sync-state table. */
  readonly store: SyncStateStore;
  /** Where each plugin's resync feedback goes. */
  readonly sink: FeedbackSink;
  readonly clients?: Partial<AwsClients>;
  /** Milliseconds left in the invocation (Lambda's `getRemainingTimeInMillis`); default unlimited. */
  readonly remainingTimeMs?: () => number;
  /** Time kept in reserve: when less than this is left, the resync checkpoints; default 20 s. */
  readonly marginMs?: number;
  /**
   * Time limit of one plugin's resync callback per invocation; default 5 minutes. A timeout is a
   * failure. After three quarters of it the snapshot stops at the next page boundary and the
   * resync continues in a new invocation.
   */
  readonly timeoutMs?: number;
  /** Time limit of a change callback applying held changes, for plugins without `timeoutMs`; default 5 s. */
  readonly changeTimeoutMs?: number;
  /** Key buckets compared per step of the deletion sweep (of 256); default about 8,000 keys' worth. */
  readonly sweepBuckets?: number;
  readonly onProgress?: ProgressListener;
  /**
   * How long a plugin's resync lease lasts unless renewed (every checkpoint renews it); default
   * twice `timeoutMs`, 10 minutes; it must be longer than `timeoutMs`. While one resync holds a
   * plugin's lease, another resync of that plugin waits; a resync that crashed holds its plugin at
   * most this long.
   */
  readonly leaseMs?: number;
  /** Seconds a resync waits before it tries again a plugin another resync holds (1 to 900); default 60. */
  readonly busyRetrySeconds?: number;
  /** The resync queue continuations are sent to; default `DATASYNC_RESYNC_QUEUE_URL`. */
  readonly resyncQueueUrl?: string;
  /**
   * Sends the continuation of a checkpointed resync; default a request on the resync queue,
   * delayed by `delaySeconds` when given.
   */
  readonly continueResync?: (request: ResyncRequest, options: { delaySeconds?: number }) => Promise<unknown>;
}

/** Default seconds before a resync tries again a plugin another resync holds. */
export const DEFAULT_BUSY_RETRY_SECONDS = 60;

/** How one plugin's resync ended in this invocation. */
export interface PluginResyncResult {
  readonly plugin: string;
  /**
   * `continued` when the time ran low and the resync goes on in a new invocation; `waiting` when
   * another resync holds the plugin, so this one tries again later (the plugin was not called).
   */
  readonly status: FeedbackStatus | 'continued' | 'waiting';
  readonly items: number;
  readonly deleted: number;
  readonly applied: number;
  readonly error?: Error;
}

/** What one invocation of a resync did. */
export interface ResyncRunResult {
  readonly resyncId: string;
  readonly reason: ResyncRequest['reason'];
  readonly plugins: readonly PluginResyncResult[];
  /** True when the resync checkpointed and a continuation was requested. */
  readonly continued: boolean;
}

type Registered = { plugins(): Plugin[] };

/**
 * Runs (or resumes) a resync: the requested plugins one at a time in registration order, each
 * handed a snapshot of its prefixes, then the changes held for it during the resync. A plugin
 * that fails gets an `error` (or `timeout`) feedback and the next plugin still runs. When the
 * invocation's time runs low the position is checkpointed and a continuation requested.
 * @throws DatasyncError `UNKNOWN_PLUGIN` when the request names a plugin that is not registered
 *   (nothing runs); `StateFailedError` when the state table fails; the sink's error when feedback
 *   cannot be written.
 */
export async function runResync(datasync: Registered, request: ResyncRequest, options: ResyncOptions): Promise<ResyncRunResult> {
  const { store } = options;
  const rows = resyncRows(store);
  const margin = options.marginMs ?? DEFAULT_MARGIN_MS;
  const remaining = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const timeIsShort = () => remaining() - margin <= 0;
  const registered = datasync.plugins();
  leaseMsOf(options);

  let run = await rows.run(request.resyncId);
  // A continuation of a resync that has ended (a late or repeated one) has nothing left to do;
  // starting over would resync plugins the request never named.
  if (!run && request.reason === 'continuation') return { resyncId: request.resyncId, reason: request.reason, plugins: [], continued: false };
  if (!run) {
    const known = new Set(registered.map((plugin) => plugin.name));
    const unknown = (request.plugins ?? []).filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new DatasyncError('UNKNOWN_PLUGIN', `resync ${request.resyncId} names unregistered plugin(s): ${unknown.join(', ')}`, {
        details: { resyncId: request.resyncId, plugins: unknown },
      });
    }
    let selected = registered.filter((plugin) => request.plugins === undefined || request.plugins.includes(plugin.name));
    if (request.reason === 'first-start') {
      const states = await store.states(selected.map((plugin) => plugin.name));
      selected = selected.filter((_, index) => states[index]!.status === 'never-synced');
    }
    run = { resyncId: request.resyncId, reason: request.reason, plugins: selected.map((plugin) => plugin.name), index: 0, startedAt: new Date().toISOString() };
    if (run.plugins.length === 0) return { resyncId: run.resyncId, reason: request.reason, plugins: [], continued: false };
    await rows.saveRun(run);
  }

  const results: PluginResyncResult[] = [];
  for (let index = run.index; index < run.plugins.length; index += 1) {
    const name = run.plugins[index]!;
    if (results.length > 0 && timeIsShort()) {
      await rows.saveRun({ ...run, index });
      await continuation(run.resyncId, options);
      return { resyncId: run.resyncId, reason: run.reason as ResyncRequest['reason'], plugins: results, continued: true };
    }
    const plugin = registered.find((candidate) => candidate.name === name);
    const result = plugin
      ? await resyncPlugin(plugin, run.resyncId, { ...options, remaining, timeIsShort })
      : await reportFailure(name, run.resyncId, new DatasyncError('UNKNOWN_PLUGIN', `plugin "${name}" was closed before its resync`), undefined, options);
    results.push(result);
    if (result.status === 'waiting' && result.error instanceof ResyncBusyError && result.error.holder === run.resyncId) {
      // Another invocation of this same resync (a repeated delivery) holds the plugin: it goes on
      // with the run itself, so this copy stops without a continuation of its own.
      return { resyncId: run.resyncId, reason: run.reason as ResyncRequest['reason'], plugins: results, continued: false };
    }
    if (result.status === 'continued' || result.status === 'waiting') {
      await rows.saveRun({ ...run, index });
      // A plugin another resync holds is tried again later; the plugins after it wait with it,
      // so the run keeps registration order.
      await continuation(run.resyncId, options, result.status === 'waiting' ? Math.max(1, options.busyRetrySeconds ?? DEFAULT_BUSY_RETRY_SECONDS) : 0);
      return { resyncId: run.resyncId, reason: run.reason as ResyncRequest['reason'], plugins: results, continued: true };
    }
    await rows.saveRun({ ...run, index: index + 1 });
  }
  await rows.deleteRun(run.resyncId);
  return { resyncId: run.resyncId, reason: run.reason as ResyncRequest['reason'], plugins: results, continued: false };
}

async function continuation(resyncId: string, options: ResyncOptions, delaySeconds = 0): Promise<void> {
  const request: ResyncRequest = { datasync: 'resync', resyncId, reason: 'continuation' };
  const delay = delaySeconds > 0 ? { delaySeconds: Math.min(900, Math.round(delaySeconds)) } : {};
  await (options.continueResync ?? ((next: ResyncRequest) => requestResync({
    resyncId: next.resyncId, reason: 'continuation', ...delay,
    ...(options.clients ? { clients: options.clients } : {}), ...(options.resyncQueueUrl ? { queueUrl: options.resyncQueueUrl } : {}),
  })))(request, delay);
}

interface PluginRunOptions extends ResyncOptions {
  readonly remaining: () => number;
  readonly timeIsShort: () => boolean;
}

async function resyncPlugin(plugin: Plugin, resyncId: string, options: PluginRunOptions): Promise<PluginResyncResult> {
  const { store } = options;
  const rows = resyncRows(store);
  const hold: LeaseHold = { resyncId, token: randomUUID(), ms: leaseMsOf(options) };
  try {
    await rows.takeLease(plugin.name, hold);
  } catch (thrown) {
    if (!(thrown instanceof ResyncBusyError)) throw thrown;
    return { plugin: plugin.name, status: 'waiting', items: 0, deleted: 0, applied: 0, error: thrown };
  }
  // From here until it is released or parked, the status row is this invocation's to write; it
  // is read only now, so a resync that ended while this one waited for the lease is seen.
  let held: LeaseHold | undefined = hold;
  const progress = (phase: 'started' | 'page' | 'checkpoint' | 'finished' | 'failed', at: PluginCursor) => options.onProgress?.({
    resyncId, plugin: plugin.name, phase, part: at.part, items: at.items, deleted: at.deleted,
    ...(at.estimatedItems === undefined ? {} : { estimatedItems: at.estimatedItems }),
  });
  let cursor: PluginCursor | undefined;
  let snapshot: ResyncSnapshot | undefined;
  try {
    const statusRow = await store.status(plugin.name);
    const prior = readCursor(statusRow);
    // The same resync id resumes where the last part (or a failed attempt) stopped; any other
    // id starts over.
    const resumed = prior !== undefined && prior.resyncId === resyncId;
    // Only a plugin that was in sync can have deliveries in flight when its resync begins (every
    // other status holds its changes), and only the first part can overlap them.
    const fence = !resumed && statusRow?.status?.S === 'in-sync';
    cursor = resumed ? { ...prior, part: prior.part + 1 } : freshCursor(resyncId, statusRow?.snapshotId?.S);
    const dynamodb = options.clients?.dynamodb ?? dynamoDbClient();
    const tables = await describeTables(dynamodb, tablesForPrefixes(options.tables, plugin.prefixes), options);
    cursor = { ...cursor, estimatedItems: tables.reduce((sum, table) => sum + table.estimatedItems, 0) };
    await rows.saveCursor(plugin.name, cursor, hold);
    // Snapshots other than the one the plugin holds (older ones, those of resyncs that never
    // finished) are dropped as a new resync begins: a lookup that has just read the status row
    // may still be reading the current one.
    if (!resumed) await rows.removeSnapshots(plugin.name, [...(cursor.previous === undefined ? [] : [cursor.previous]), snapshotOf(cursor)]);
    progress('started', cursor);
    // The plugin keeps half the margin to finish its page after the snapshot stops.
    const limit = Math.max(1, Math.min(options.timeoutMs ?? DEFAULT_RESYNC_TIMEOUT_MS, options.remaining() - (options.marginMs ?? DEFAULT_MARGIN_MS) / 2));
    // A part also ends (at a page boundary) once three quarters of the time limit are used, so
    // a long resync continues in parts instead of timing out; a plugin stuck on one page still
    // times out.
    const partStarted = Date.now();
    const timeIsShort = () => options.timeIsShort() || Date.now() - partStarted >= limit * 0.75;
    const active = new ResyncSnapshot({
      dynamodb, store, plugin: plugin.name, prefixes: plugin.prefixes, tables, cursor, fence, hold,
      scan: { ...(options.pageSize ? { pageSize: options.pageSize } : {}), ...(options.consistentRead ? { consistentRead: true } : {}) },
      ...(options.sweepBuckets ? { sweepBuckets: options.sweepBuckets } : {}),
      timeIsShort,
      onPage: (at) => progress('page', at),
    });
    snapshot = active;
    const part = cursor.part;
    await callPlugin(plugin.name, limit, (signal) => plugin.resync(active, { plugin: plugin.name, signal, resyncId, part }));
    cursor = active.cursor;
    if (active.continues) {
      // The next part, in a new invocation, takes the lease back; nobody else can before it runs out.
      await rows.parkLease(plugin.name, hold);
      held = undefined;
      progress('checkpoint', cursor);
      return { plugin: plugin.name, status: 'continued', items: cursor.items, deleted: cursor.deleted, applied: 0 };
    }
    if (!active.complete) {
      throw new DatasyncError('RESYNC_INCOMPLETE', `plugin "${plugin.name}" returned before reading its whole snapshot`, { details: { plugin: plugin.name } });
    }
    // Held changes are applied before and after the plugin turns in-sync: the first pass does the
    // bulk, the second catches changes held while the first ran (none can be held after the flip).
    // The lease is kept through both, so no other resync applies them at the same time.
    const recorded = snapshotOf(cursor);
    let applied = await applyHeld(plugin, recorded, options, hold);
    await rows.finishResync(plugin.name, {
      resyncId, snapshot: recorded, ...(cursor.digest ? { digest: cursor.digest } : {}), startedAt: cursor.startedAt, items: cursor.items, deleted: cursor.deleted,
    }, hold);
    applied += await applyHeld(plugin, recorded, options, hold);
    await rows.releaseLease(plugin.name, hold);
    held = undefined;
    const feedback = resyncFeedback(plugin.name, resyncId, 'ok', cursor, applied);
    await options.sink.write([feedback]);
    progress('finished', cursor);
    return { plugin: plugin.name, status: 'ok', items: cursor.items, deleted: cursor.deleted, applied };
  } catch (thrown) {
    snapshot?.stop();
    return reportFailure(plugin.name, resyncId, toError(thrown), snapshot?.cursor ?? cursor, options, held, (at) => progress('failed', at));
  }
}

/** The lease duration: it must outlast the longest gap between checkpoints, a page in the plugin. */
function leaseMsOf(options: ResyncOptions): number {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RESYNC_TIMEOUT_MS;
  const leaseMs = options.leaseMs ?? 2 * timeoutMs;
  if (!(leaseMs > timeoutMs)) {
    throw new DatasyncError('CONFIGURATION', `leaseMs (${leaseMs}) must be longer than the resync time limit timeoutMs (${timeoutMs}): a page may take that long between two renewals`, {
      details: { leaseMs, timeoutMs },
    });
  }
  return leaseMs;
}

async function reportFailure(
  plugin: string, resyncId: string, error: Error, cursor: PluginCursor | undefined, options: ResyncOptions,
  hold?: LeaseHold, progress?: (cursor: PluginCursor) => void,
): Promise<PluginResyncResult> {
  const status: FeedbackStatus = error instanceof PluginTimeoutError ? 'timeout' : 'error';
  // Not written when another resync took the plugin over: the row, and the plugin's state, are its.
  await resyncRows(options.store).failResync(plugin, resyncId, describeError(error), hold);
  const at = cursor ?? { resyncId, part: 1, startedAt: Date.now(), items: 0, deleted: 0, invalid: 0, phase: 'items' as const, table: 0, segments: [] };
  await options.sink.write([resyncFeedback(plugin, resyncId, status, at, 0, error)]);
  progress?.(at);
  return { plugin, status, items: at.items, deleted: at.deleted, applied: 0, error };
}

/**
 * Applies the changes held for a plugin, in arrival order a page at a time, then releases them.
 * What the plugin holds is read against this resync's snapshot (before it becomes the current one).
 */
async function applyHeld(plugin: Plugin, snapshot: string, options: PluginRunOptions, hold: LeaseHold): Promise<number> {
  let applied = 0;
  for (;;) {
    // Each page of held changes renews the lease (and stops here if it was taken over).
    await resyncRows(options.store).renewLease(plugin.name, hold);
    const held = await resyncRows(options.store).heldChanges(plugin.name);
    if (held.length === 0) return applied;
    const changes = held.map((entry) => entry.change);
    const { keys } = await options.store.heldKeys(plugin.name, changes.map((change) => change.key), { snapshot });
    const { deliver } = planHeldChanges(changes, keys);
    if (deliver.length > 0) {
      const limit = Math.max(1, Math.min(plugin.timeoutMs ?? options.changeTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS, options.remaining()));
      await callPlugin(plugin.name, limit, (signal) => plugin.change(deliver, { plugin: plugin.name, signal }));
      await options.store.writeKeys(plugin.name, keyRecordsAfter(deliver, revisionsOf(keys)), snapshot);
    }
    await resyncRows(options.store).releaseHeld(plugin.name, held.map((entry) => entry.sort));
    applied += deliver.length;
  }
}

function freshCursor(resyncId: string, previous: string | undefined): PluginCursor {
  const startedAt = Date.now();
  return {
    resyncId, part: 1, startedAt, items: 0, deleted: 0, invalid: 0, phase: 'items', table: 0, segments: [],
    snapshot: `${resyncId}.${startedAt}`, pages: 0, digest: {}, ...(previous === undefined ? {} : { previous }),
  };
}

async function callPlugin(name: string, limit: number, work: (signal: AbortSignal) => unknown): Promise<void> {
  try {
    await runWithTimeout(name, limit, work);
  } catch (thrown) {
    throw thrown instanceof PluginTimeoutError ? thrown : new PluginFailedError(name, thrown);
  }
}

function resyncFeedback(
  plugin: string, resyncId: string, status: FeedbackStatus, cursor: PluginCursor, applied: number, error?: Error,
): ResyncFeedback {
  return {
    version: FEEDBACK_VERSION,
    event: 'resync',
    plugin,
    resyncId,
    status,
    items: cursor.items,
    deleted: cursor.deleted,
    ...(cursor.invalid > 0 ? { invalid: cursor.invalid } : {}),
    ...(applied > 0 ? { applied } : {}),
    ...(cursor.part > 1 ? { parts: cursor.part } : {}),
    ...(error ? { error: describeError(error) } : {}),
    time: new Date().toISOString(),
    durationMs: Date.now() - cursor.startedAt,
  };
}
