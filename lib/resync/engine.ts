import { randomUUID } from 'node:crypto';
import type { AwsClients } from '../aws/clients.ts';
import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import type { TableConfig } from '../config.ts';
import { DEFAULT_PLUGIN_TIMEOUT_MS } from '../dispatch/dispatcher.ts';
import { runWithTimeout } from '../dispatch/timeout.ts';
import {
  DatasyncError,
  PluginFailedError,
  PluginTimeoutError,
  ResyncBusyError,
  StateLayoutError,
  toError,
} from '../errors.ts';
import { describeError, FEEDBACK_VERSION, type FeedbackStatus, type ResyncFeedback } from '../feedback/record.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import type { Plugin } from '../plugins/plugin.ts';
import { keyRecordsAfter, planHeldChanges } from '../state/held.ts';
import { checkLayout, readCursor, snapshotOf, viewPrefixes, type PluginCursor } from '../state/status.ts';
import type { StateRow, SyncStateStore } from '../state/store.ts';
import type { ProgressListener } from './progress.ts';
import { requestResync, type ResyncRequest } from './request.ts';
import type { ScanOptions } from './scan.ts';
import type { SnapshotDigest } from './digest.ts';
import type { LeaseHold } from './lease.ts';
import { ResyncSnapshot } from './snapshot.ts';
import { RunSpools, type SnapshotSpool } from './spool.ts';
import { resyncRows, type RunRow } from './state-rows.ts';
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
   * How long a plugin's resync lease lasts unless renewed (every checkpoint, and every page of
   * held changes, renews it); default twice the longer of `timeoutMs` and the plugins' change time
   * limits, 10 minutes with the defaults; it must be longer than each of them. While one resync
   * holds a plugin's lease, another resync of that plugin waits; a resync that crashed holds its
   * plugin at most this long.
   */
  readonly leaseMs?: number;
  /**
   * Memory for the pages one scan shares with the run's later plugins that read the same tables
   * (bytes of JSON, about); default 64 MiB. A table whose snapshot is larger is scanned again by
   * each of those plugins; 0 scans each plugin's tables for it alone.
   */
  readonly spoolBytes?: number;
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

/** Default memory for the pages a scan shares with later plugins of its run. */
export const DEFAULT_SPOOL_BYTES = 64 * 1024 * 1024;

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
  /** The earlier resync that answered the request for this plugin (see `ResyncRequest.requestedAt`). */
  readonly mergedInto?: string;
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
export async function runResync(
  datasync: Registered,
  request: ResyncRequest,
  options: ResyncOptions,
): Promise<ResyncRunResult> {
  const { store } = options;
  const rows = resyncRows(store);
  const margin = options.marginMs ?? DEFAULT_MARGIN_MS;
  const remaining = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const timeIsShort = () => remaining() - margin <= 0;
  const registered = datasync.plugins();
  const leaseMs = leaseMsOf(options, registered);

  let run = await rows.run(request.resyncId);
  // A continuation of a resync that has ended (a late or repeated one) has nothing left to do;
  // starting over would resync plugins the request never named.
  if (!run && request.reason === 'continuation')
    return { resyncId: request.resyncId, reason: request.reason, plugins: [], continued: false };
  if (!run) {
    const known = new Set(registered.map((plugin) => plugin.name));
    const unknown = (request.plugins ?? []).filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new DatasyncError(
        'UNKNOWN_PLUGIN',
        `resync ${request.resyncId} names unregistered plugin(s): ${unknown.join(', ')}`,
        {
          details: { resyncId: request.resyncId, plugins: unknown },
        },
      );
    }
    let selected = registered.filter(
      (plugin) => request.plugins === undefined || request.plugins.includes(plugin.name),
    );
    if (request.reason === 'first-start') {
      const states = await store.states(selected.map((plugin) => plugin.name));
      selected = selected.filter((_, index) => states[index]!.status === 'never-synced');
    }
    if (selected.length === 0)
      return { resyncId: request.resyncId, reason: request.reason, plugins: [], continued: false };
    // A copy of the request that got there first has created the run: this one follows its row.
    run = await rows.createRun({
      resyncId: request.resyncId,
      reason: request.reason,
      plugins: selected.map((plugin) => plugin.name),
      index: 0,
      startedAt: new Date().toISOString(),
      ...(request.requestedAt ? { requestedAt: request.requestedAt } : {}),
    });
  }

  let current: RunRow = run;
  const results: PluginResyncResult[] = [];
  const outcome = (continued: boolean): ResyncRunResult => ({
    resyncId: current.resyncId,
    reason: current.reason as ResyncRequest['reason'],
    plugins: results,
    continued,
  });
  const spools = new RunSpools(Math.max(0, options.spoolBytes ?? DEFAULT_SPOOL_BYTES));
  // The spool each scanning plugin of this invocation filled, by plugin.
  const spoolOf = new Map<string, SnapshotSpool>();
  try {
    return await runPlugins();
  } finally {
    spools.clear();
  }

  async function runPlugins(): Promise<ResyncRunResult> {
    for (let index = current.index; index < current.plugins.length; index += 1) {
      const name = current.plugins[index]!;
      if (results.length > 0 && timeIsShort()) {
        await rows.saveRun({ ...current, index });
        await continuation(current.resyncId, options);
        return outcome(true);
      }
      const plugin = registered.find((candidate) => candidate.name === name);
      const step = plugin
        ? await resyncPlugin(plugin, current.resyncId, index, {
            ...options,
            leaseMs,
            remaining,
            timeIsShort,
            ...(current.requestedAt ? { requestedAt: current.requestedAt } : {}),
            share: shareOf(plugin, index),
          })
        : await reportFailure(
            name,
            current.resyncId,
            new DatasyncError('UNKNOWN_PLUGIN', `plugin "${name}" was closed before its resync`),
            undefined,
            options,
          );
      // Another invocation of this resync (a repeated delivery) has already done this plugin and
      // carries the run on.
      if (step.result === undefined) return outcome(false);
      const { result } = step;
      results.push(result);
      if (
        result.status === 'waiting' &&
        result.error instanceof ResyncBusyError &&
        result.error.holder === current.resyncId
      ) {
        // Another invocation of this same resync holds the plugin, and goes on with the run while
        // it lives. This copy looks again once that lease has run out, so a run whose invocation
        // crashed still resumes; the run row is that invocation's to move, so it is left alone.
        await continuation(
          current.resyncId,
          options,
          Math.max(1, Math.ceil(((result.error.until ?? Date.now()) - Date.now()) / 1000) + 1),
        );
        return outcome(true);
      }
      if (result.status === 'continued' || result.status === 'waiting') {
        await rows.saveRun({ ...current, index });
        // A plugin another resync holds is tried again later; the plugins after it wait with it,
        // so the run keeps registration order.
        await continuation(
          current.resyncId,
          options,
          result.status === 'waiting' ? Math.max(1, options.busyRetrySeconds ?? DEFAULT_BUSY_RETRY_SECONDS) : 0,
        );
        return outcome(true);
      }
      // The run moves past the plugin before its lease is released: a copy of this resync that
      // takes the lease next sees the plugin done (see resyncPlugin) instead of resyncing it again.
      if (index + 1 < current.plugins.length) await rows.saveRun({ ...current, index: index + 1 });
      else await endRun();
      if (step.held) await rows.releaseLease(name, step.held);
    }
    if (current.index >= current.plugins.length) await endRun();
    return outcome(false);
  }

  async function endRun(): Promise<void> {
    await rows.deleteRun(current.resyncId);
    // The snapshots the run shared go once no plugin holds them (see `releaseShared`).
    for (const snapshot of current.shared ?? []) await rows.releaseShared(snapshot);
  }

  /**
   * How a plugin's resync can share a scan with the run's other plugins that read the same tables:
   * the first of them in the run scans for the later ones (when there are any), and a later one
   * takes the pages this invocation's scan kept for it. Only a resync that begins here can share.
   */
  function shareOf(plugin: Plugin, index: number): Share | undefined {
    const tablesOf = (candidate: Plugin) =>
      tablesForPrefixes(options.tables, candidate.prefixes)
        .map((table) => table.name)
        .join('\u0000');
    const group = tablesOf(plugin);
    if (group === '' || spools.limitBytes === 0) return undefined;
    const sameTables = (names: readonly string[]) =>
      names
        .map((candidate) => registered.find((known) => known.name === candidate))
        .filter((candidate): candidate is Plugin => candidate !== undefined && tablesOf(candidate) === group);
    const earlier = sameTables(current.plugins.slice(0, index));
    const later = sameTables(current.plugins.slice(index + 1));
    if (earlier.length > 0) {
      const spool = [...earlier]
        .reverse()
        .map((candidate) => spoolOf.get(candidate.name))
        .find((candidate) => candidate?.complete);
      return spool ? { role: 'reader', spool } : undefined;
    }
    if (later.length === 0) return undefined;
    return {
      role: 'scanner',
      prefixes: [...new Set([plugin, ...later].flatMap((candidate) => candidate.prefixes))],
      open: async (snapshot) => {
        await rows.createShared(snapshot, {
          resyncId: current.resyncId,
          plugins: [plugin.name, ...later.map((candidate) => candidate.name)],
        });
        current = { ...current, index, shared: [...(current.shared ?? []), snapshot] };
        await rows.saveRun(current);
        const spool = spools.open(snapshot);
        spoolOf.set(plugin.name, spool);
        return spool;
      },
    };
  }
}

/**
 * A plugin's part in a snapshot shared by a run: `scanner`, it scans its tables for itself and the
 * later plugins (recording their prefixes too, into the spool `open` makes); `reader`, it takes
 * the pages an earlier plugin's scan spooled.
 */
type Share =
  | {
      readonly role: 'scanner';
      readonly prefixes: readonly string[];
      readonly open: (snapshot: string) => Promise<SnapshotSpool>;
    }
  | { readonly role: 'reader'; readonly spool: SnapshotSpool };

async function continuation(resyncId: string, options: ResyncOptions, delaySeconds = 0): Promise<void> {
  const request: ResyncRequest = { datasync: 'resync', resyncId, reason: 'continuation' };
  const delay = delaySeconds > 0 ? { delaySeconds: Math.min(900, Math.round(delaySeconds)) } : {};
  await (
    options.continueResync ??
    ((next: ResyncRequest) =>
      requestResync({
        resyncId: next.resyncId,
        reason: 'continuation',
        ...delay,
        ...(options.clients ? { clients: options.clients } : {}),
        ...(options.resyncQueueUrl ? { queueUrl: options.resyncQueueUrl } : {}),
      }))
  )(request, delay);
}

interface PluginRunOptions extends ResyncOptions {
  readonly leaseMs: number;
  readonly remaining: () => number;
  readonly timeIsShort: () => boolean;
  readonly requestedAt?: string;
  readonly share?: Share;
}

/**
 * Clocks of the functions that make and run requests can differ a little: a resync counts as
 * begun after a request only when it began this much later.
 */
const CLOCK_MARGIN_MS = 1_000;

/**
 * The completed resync that already answers a request made at `requestedAt`: the plugin is in
 * sync from a resync that began after the request, so its snapshot is at least as new as the one
 * the request asks for.
 */
function answeringResync(statusRow: Awaited<ReturnType<SyncStateStore['status']>>, requestedAt: string | undefined) {
  if (requestedAt === undefined || statusRow?.status?.S !== 'in-sync') return undefined;
  const began = Date.parse(statusRow.startedAt?.S ?? '');
  return began > Date.parse(requestedAt) + CLOCK_MARGIN_MS ? statusRow.resyncId?.S : undefined;
}

/**
 * What one plugin's step of a run did: its result (none when another invocation of the resync had
 * already done it), and the lease this invocation still holds, which the run releases once it has
 * recorded the step.
 */
interface PluginStep {
  readonly result?: PluginResyncResult;
  readonly held?: LeaseHold;
}

async function resyncPlugin(
  plugin: Plugin,
  resyncId: string,
  index: number,
  options: PluginRunOptions,
): Promise<PluginStep> {
  const { store } = options;
  const rows = resyncRows(store);
  const hold: LeaseHold = { resyncId, token: randomUUID(), ms: options.leaseMs };
  try {
    await rows.takeLease(plugin.name, hold);
  } catch (thrown) {
    if (!(thrown instanceof ResyncBusyError)) throw thrown;
    return { result: { plugin: plugin.name, status: 'waiting', items: 0, deleted: 0, applied: 0, error: thrown } };
  }
  // A copy of this resync may have finished the plugin while this one waited for the lease: the
  // run then ended or moved past it before the lease was released.
  const run = await rows.run(resyncId);
  if (run === undefined || run.index > index) {
    await rows.releaseLease(plugin.name, hold);
    return {};
  }
  // From here until it is released or parked, the status row is this invocation's to write; it
  // is read only now, so a resync that ended while this one waited for the lease is seen.
  let held: LeaseHold | undefined = hold;
  const progress = (phase: 'started' | 'page' | 'checkpoint' | 'finished' | 'failed', at: PluginCursor) =>
    options.onProgress?.({
      resyncId,
      plugin: plugin.name,
      phase,
      part: at.part,
      items: at.items,
      deleted: at.deleted,
      ...(at.estimatedItems === undefined ? {} : { estimatedItems: at.estimatedItems }),
    });
  let cursor: PluginCursor | undefined;
  let snapshot: ResyncSnapshot | undefined;
  try {
    const statusRow = await store.status(plugin.name);
    checkLayout(store.tableName, plugin.name, statusRow);
    const prior = readCursor(statusRow);
    // The same resync id resumes where the last part (or a failed attempt) stopped; any other
    // id starts over.
    const resumed = prior !== undefined && prior.resyncId === resyncId;
    // Only a plugin that was in sync can have deliveries in flight when its resync begins (every
    // other status holds its changes), and only the first part can overlap them.
    const fence = !resumed && statusRow?.status?.S === 'in-sync';
    // Requests queued behind one another (a burst of POST /resync) merge into the first: each
    // later one finds the plugin resynced since it was made, and scans nothing.
    const answeredBy = resumed ? undefined : answeringResync(statusRow, options.requestedAt);
    if (answeredBy !== undefined) {
      const at = emptyCursor(resyncId);
      await options.sink.write([{ ...resyncFeedback(plugin.name, resyncId, 'ok', at, 0), mergedInto: answeredBy }]);
      progress('finished', at);
      return {
        result: { plugin: plugin.name, status: 'ok', items: 0, deleted: 0, applied: 0, mergedInto: answeredBy },
        held: hold,
      };
    }
    let spool: SnapshotSpool | undefined;
    if (resumed) {
      cursor = { ...prior, part: prior.part + 1 };
      // The pages an earlier plugin's scan kept are gone with the invocation that kept them (a
      // run's spools live for one call of runResync): the rest of the shared snapshot is read
      // again from its rows.
      if (cursor.source === 'spool') cursor = { ...cursor, source: 'rows' };
    } else {
      const fresh = freshCursor(resyncId, statusRow);
      const { share } = options;
      if (share?.role === 'reader') {
        spool = share.spool;
        cursor = { ...fresh, snapshot: spool.snapshot, source: 'spool' };
      } else if (share?.role === 'scanner') {
        const snapshot = `${fresh.snapshot}*${index}`;
        spool = await share.open(snapshot);
        cursor = { ...fresh, snapshot, record: share.prefixes };
      } else cursor = { ...fresh, snapshot: `${fresh.snapshot}@${plugin.name}` };
    }
    // The keys handed over so far, as a digest: none yet, or, resumed, as the last checkpoint kept it.
    const digest = resumed
      ? await rows.snapshotDigest(plugin.name, snapshotOf(cursor), cursor.items)
      : ({} as SnapshotDigest);
    const dynamodb = options.clients?.dynamodb ?? dynamoDbClient();
    const tables = await describeTables(dynamodb, tablesForPrefixes(options.tables, plugin.prefixes), options);
    cursor = { ...cursor, estimatedItems: tables.reduce((sum, table) => sum + table.estimatedItems, 0) };
    await rows.saveCursor(plugin.name, cursor, hold);
    // Snapshots other than the one the plugin holds (older ones, those of resyncs that never
    // finished) are dropped as a new resync begins: a lookup that has just read the status row
    // may still be reading the current one.
    if (!resumed)
      await rows.removeSnapshots(plugin.name, [
        ...(cursor.previous === undefined ? [] : [cursor.previous]),
        snapshotOf(cursor),
      ]);
    progress('started', cursor);
    // The plugin keeps half the margin to finish its page after the snapshot stops.
    const limit = Math.max(
      1,
      Math.min(
        options.timeoutMs ?? DEFAULT_RESYNC_TIMEOUT_MS,
        options.remaining() - (options.marginMs ?? DEFAULT_MARGIN_MS) / 2,
      ),
    );
    // A part also ends (at a page boundary) once three quarters of the time limit are used, so
    // a long resync continues in parts instead of timing out; a plugin stuck on one page still
    // times out.
    const partStarted = Date.now();
    const timeIsShort = () => options.timeIsShort() || Date.now() - partStarted >= limit * 0.75;
    const active = new ResyncSnapshot({
      dynamodb,
      store,
      plugin: plugin.name,
      prefixes: plugin.prefixes,
      ...(plugin.schema ? { schema: plugin.schema } : {}),
      tables,
      cursor,
      fence,
      hold,
      scan: {
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
        ...(options.consistentRead ? { consistentRead: true } : {}),
      },
      ...(options.sweepBuckets ? { sweepBuckets: options.sweepBuckets } : {}),
      ...(spool ? { spool } : {}),
      ...(digest ? { digest } : {}),
      timeIsShort,
      onPage: (at) => progress('page', at),
    });
    snapshot = active;
    const part = cursor.part;
    await callPlugin(plugin.name, limit, (signal) =>
      plugin.resync(active, { plugin: plugin.name, signal, resyncId, part }),
    );
    cursor = active.cursor;
    if (active.continues) {
      progress('checkpoint', cursor);
      // The next part, in a new invocation, takes the lease back; nobody else can before it runs out.
      await rows.parkLease(plugin.name, hold);
      held = undefined;
      return {
        result: { plugin: plugin.name, status: 'continued', items: cursor.items, deleted: cursor.deleted, applied: 0 },
      };
    }
    if (!active.complete) {
      throw new DatasyncError(
        'RESYNC_INCOMPLETE',
        `plugin "${plugin.name}" returned before reading its whole snapshot`,
        { details: { plugin: plugin.name } },
      );
    }
    // Held changes are applied before and after the plugin turns in-sync: the first pass does the
    // bulk, the second catches changes held while the first ran (none can be held after the flip).
    // The lease is kept through both, so no other resync applies them at the same time.
    const recorded = snapshotOf(cursor);
    let applied = await applyHeld(plugin, recorded, options, hold);
    // (The digest of what the plugin was handed was kept as the items ended: see ResyncSnapshot.)
    await rows.finishResync(
      plugin.name,
      {
        resyncId,
        snapshot: recorded,
        prefixes: plugin.prefixes,
        startedAt: cursor.startedAt,
        items: cursor.items,
        deleted: cursor.deleted,
      },
      hold,
    );
    applied += await applyHeld(plugin, recorded, options, hold);
    const feedback = resyncFeedback(plugin.name, resyncId, 'ok', cursor, applied);
    await options.sink.write([feedback]);
    progress('finished', cursor);
    return {
      result: { plugin: plugin.name, status: 'ok', items: cursor.items, deleted: cursor.deleted, applied },
      held: hold,
    };
  } catch (thrown) {
    snapshot?.stop();
    return reportFailure(
      plugin.name,
      resyncId,
      toError(thrown),
      snapshot?.cursor ?? cursor,
      options,
      held,
      (at) => progress('failed', at),
      // A row of another layout is left as it is: recording the failure would mark it as this one's.
      thrown instanceof StateLayoutError,
    );
  }
}

/**
 * The lease duration: it must outlast the longest gap between two renewals, a page in the
 * plugin's resync callback or a page of held changes in its change callback. The default is twice
 * the longer of those limits.
 */
function leaseMsOf(options: ResyncOptions, plugins: readonly Plugin[]): number {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RESYNC_TIMEOUT_MS;
  const leaseMs =
    options.leaseMs ?? 2 * Math.max(timeoutMs, ...plugins.map((plugin) => changeLimitOf(plugin, options)));
  if (!(leaseMs > timeoutMs)) {
    throw new DatasyncError(
      'CONFIGURATION',
      `leaseMs (${leaseMs}) must be longer than the resync time limit timeoutMs (${timeoutMs}): a page may take that long between two renewals`,
      {
        details: { leaseMs, timeoutMs },
      },
    );
  }
  for (const plugin of plugins) {
    const changeMs = changeLimitOf(plugin, options);
    if (!(leaseMs > changeMs)) {
      throw new DatasyncError(
        'CONFIGURATION',
        `leaseMs (${leaseMs}) must be longer than the change time limit of plugin "${plugin.name}" (${changeMs}): a page of held changes may take that long between two renewals`,
        {
          details: { leaseMs, plugin: plugin.name, changeTimeoutMs: changeMs },
        },
      );
    }
  }
  return leaseMs;
}

/** The time limit of a plugin's change callback while held changes are applied. */
function changeLimitOf(plugin: Plugin, options: ResyncOptions): number {
  return plugin.timeoutMs ?? options.changeTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
}

async function reportFailure(
  plugin: string,
  resyncId: string,
  error: Error,
  cursor: PluginCursor | undefined,
  options: ResyncOptions,
  hold?: LeaseHold,
  progress?: (cursor: PluginCursor) => void,
  feedbackOnly = false,
): Promise<PluginStep> {
  const status: FeedbackStatus = error instanceof PluginTimeoutError ? 'timeout' : 'error';
  // Not written when another resync took the plugin over: the row, and the plugin's state, are
  // its, and so is the lease.
  const recorded =
    !feedbackOnly && (await resyncRows(options.store).failResync(plugin, resyncId, describeError(error), hold));
  const at = cursor ?? emptyCursor(resyncId);
  await options.sink.write([resyncFeedback(plugin, resyncId, status, at, 0, error)]);
  progress?.(at);
  return {
    result: { plugin, status, items: at.items, deleted: at.deleted, applied: 0, error },
    // The run releases a lease this invocation still holds once it has recorded the step.
    ...((recorded || feedbackOnly) && hold ? { held: hold } : {}),
  };
}

/**
 * Applies the changes held for a plugin, in arrival order a page at a time, then releases them.
 * What the plugin holds is read against this resync's snapshot (before it becomes the current one).
 */
async function applyHeld(
  plugin: Plugin,
  snapshot: string,
  options: PluginRunOptions,
  hold: LeaseHold,
): Promise<number> {
  let applied = 0;
  for (;;) {
    // Each page of held changes renews the lease (and stops here if it was taken over).
    await resyncRows(options.store).renewLease(plugin.name, hold);
    const held = await resyncRows(options.store).heldChanges(plugin.name);
    if (held.length === 0) return applied;
    const changes = held.map((entry) => entry.change);
    const { keys } = await options.store.heldKeys(
      plugin.name,
      changes.map((change) => change.key),
      { snapshot, prefixes: plugin.prefixes },
    );
    const { deliver } = planHeldChanges(changes, keys);
    if (deliver.length > 0) {
      const limit = Math.max(1, Math.min(changeLimitOf(plugin, options), options.remaining()));
      await callPlugin(plugin.name, limit, (signal) => plugin.change(deliver, { plugin: plugin.name, signal }));
      await options.store.writeKeys(plugin.name, keyRecordsAfter(deliver, keys), snapshot);
    }
    await resyncRows(options.store).releaseHeld(
      plugin.name,
      held.map((entry) => entry.sort),
    );
    applied += deliver.length;
  }
}

/**
 * The cursor of a resync that begins: its snapshot id is the resync id and its start, to which
 * the caller adds whose it is (`@<plugin>`, or `*<index>` for one the run shares).
 */
function freshCursor(resyncId: string, statusRow: StateRow | undefined): PluginCursor {
  const start = emptyCursor(resyncId);
  const previous = statusRow?.snapshotId?.S;
  const previousPrefixes = viewPrefixes(statusRow);
  return {
    ...start,
    snapshot: `${resyncId}.${start.startedAt}`,
    pages: 0,
    ...(previous === undefined ? {} : { previous }),
    ...(previousPrefixes === undefined ? {} : { previousPrefixes }),
  };
}

async function callPlugin(name: string, limit: number, work: (signal: AbortSignal) => unknown): Promise<void> {
  try {
    await runWithTimeout(name, limit, work);
  } catch (thrown) {
    throw thrown instanceof PluginTimeoutError ? thrown : new PluginFailedError(name, thrown);
  }
}

/** The position of a resync that has read nothing yet. */
function emptyCursor(resyncId: string): PluginCursor {
  return {
    resyncId,
    part: 1,
    startedAt: Date.now(),
    items: 0,
    deleted: 0,
    invalid: 0,
    phase: 'items',
    table: 0,
    segments: [],
  };
}

function resyncFeedback(
  plugin: string,
  resyncId: string,
  status: FeedbackStatus,
  cursor: PluginCursor,
  applied: number,
  error?: Error,
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
    ...(cursor.mismatched ? { mismatched: cursor.mismatched, mismatchedKeys: cursor.mismatchedKeys ?? [] } : {}),
    ...(applied > 0 ? { applied } : {}),
    ...(cursor.part > 1 ? { parts: cursor.part } : {}),
    ...(error ? { error: describeError(error) } : {}),
    time: new Date().toISOString(),
    durationMs: Date.now() - cursor.startedAt,
  };
}
