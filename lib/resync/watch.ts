import { DatasyncError } from '../errors.ts';
import type { FeedbackError } from '../feedback/record.ts';
import type { PluginState } from '../state/status.ts';
import { scanStates } from '../state/read.ts';
import type { SyncStateStore } from '../state/store.ts';
import { resyncRows } from './state-rows.ts';

/** Where one plugin stands in a followed resync. */
export interface PluginResyncView {
  readonly plugin: string;
  /** `waiting`: not begun; `running`: handing over pages; `ok`/`failed`: its resync ended. */
  readonly phase: 'waiting' | 'running' | 'ok' | 'failed';
  /** Items handed over so far (the final count once ended). */
  readonly items: number;
  readonly deleted: number;
  /** DynamoDB's estimate of the items in the plugin's tables, while running (an upper bound). */
  readonly estimatedItems?: number;
  /** The invocation of the resync that is running (more than 1 after a checkpoint). */
  readonly part?: number;
  /** Why it failed. */
  readonly error?: FeedbackError;
}

/** A followed resync as the sync-state table shows it. */
export interface ResyncView {
  readonly resyncId: string;
  /** True once the resync function took the request up (its run row or a plugin row carries the id). */
  readonly started: boolean;
  /** The plugins, in registration order once the run is known (before that, as requested). */
  readonly plugins: readonly PluginResyncView[];
  /** True when every plugin's resync ended. */
  readonly done: boolean;
}

/** How to follow a resync. */
export interface WatchResyncOptions {
  readonly store: SyncStateStore;
  readonly resyncId: string;
  /** The plugins the request named; without them the run's own list is used. */
  readonly plugins?: readonly string[];
  /** How long to wait for every plugin to end. */
  readonly timeoutMs: number;
  /** Pause between reads of the state table; default 1000 ms. */
  readonly intervalMs?: number;
  /**
   * Without `plugins`, a resync that ended before its run row was ever read is found by scanning
   * the state table for its id; at most once per this many ms (default 5000), since a scan reads
   * the whole table.
   */
  readonly scanIntervalMs?: number;
  readonly signal?: AbortSignal;
  /** Called after every read with where the resync stands. */
  readonly onUpdate?: (view: ResyncView) => void;
}

/**
 * Follows a resync through the sync-state table until every plugin's resync ended (ok or failed),
 * reporting each plugin's progress as it goes. It reads only (the feedback queue is left to its
 * readers): the run row (`resync#<id>`) for the plugins in registration order, and each plugin's
 * status row for its phase, counts, estimate and error.
 * @returns the final view; `plugins` tells which failed.
 * @throws ResyncTimeoutError when `timeoutMs` passes first; the signal's reason when aborted;
 *   StateFailedError when the state table cannot be read.
 */
export async function watchResync(options: WatchResyncOptions): Promise<ResyncView> {
  const { store, resyncId } = options;
  const interval = options.intervalMs ?? 1_000;
  const scanInterval = options.scanIntervalMs ?? 5_000;
  const deadline = Date.now() + options.timeoutMs;
  let order: readonly string[] | undefined =
    options.plugins && options.plugins.length > 0 ? [...new Set(options.plugins)] : undefined;
  let started = false;
  let lastScan = Number.NEGATIVE_INFINITY;

  for (;;) {
    options.signal?.throwIfAborted();
    let states: PluginState[] | undefined;
    const run = await resyncRows(store).run(resyncId);
    if (run) {
      [order, started] = [run.plugins, true];
    }
    if (order) {
      states = await store.states(order);
    } else if (Date.now() - lastScan >= scanInterval) {
      // No list yet and no run row: the run has not begun, or began and ended between reads.
      lastScan = Date.now();
      if ((await scanStates(store, { resyncId })).length > 0 && !(await resyncRows(store).run(resyncId))) {
        // It ended before the second read of its run row, so a new scan sees all its plugins.
        states = await scanStates(store, { resyncId });
        order = states.map((state) => state.plugin);
      }
    }
    const plugins = (states ?? []).map((state) => viewOf(state, resyncId));
    started ||= plugins.some((plugin) => plugin.phase !== 'waiting');
    const done =
      order !== undefined &&
      plugins.length > 0 &&
      plugins.every((plugin) => plugin.phase === 'ok' || plugin.phase === 'failed');
    const view: ResyncView = { resyncId, started, plugins, done };
    options.onUpdate?.(view);
    // With a requested list the run row may never be seen (a fast run): the plugin rows decide.
    if (done) return view;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new ResyncTimeoutError(options.timeoutMs, view);
    await sleep(Math.min(interval, remaining), options.signal);
  }
}

/** One plugin's state read as its part in the resync `resyncId`. */
export function viewOf(state: PluginState, resyncId: string): PluginResyncView {
  const base = { plugin: state.plugin };
  if (state.resyncId !== resyncId) return { ...base, phase: 'waiting', items: 0, deleted: 0 };
  const progress = state.progress?.resyncId === resyncId ? state.progress : undefined;
  if (state.status === 'in-sync') return { ...base, phase: 'ok', items: state.items, deleted: state.deleted };
  if (state.status === 'out-of-sync') {
    return {
      ...base,
      phase: 'failed',
      items: progress?.items ?? 0,
      deleted: progress?.deleted ?? 0,
      ...(state.lastError ? { error: state.lastError } : {}),
    };
  }
  return {
    ...base,
    phase: 'running',
    items: progress?.items ?? 0,
    deleted: progress?.deleted ?? 0,
    ...(progress?.estimatedItems === undefined ? {} : { estimatedItems: progress.estimatedItems }),
    ...(progress ? { part: progress.part } : {}),
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A resync being followed did not end in time: some plugins had not finished (or none had
 * begun). A timeout is a failure; `view` is where each plugin stood when the wait gave up.
 */
export class ResyncTimeoutError extends DatasyncError {
  readonly view: ResyncView;

  constructor(timeoutMs: number, view: ResyncView) {
    const pending = view.plugins.filter((plugin) => plugin.phase === 'waiting' || plugin.phase === 'running');
    const what = !view.started
      ? 'no plugin began its resync (is the resync function reading the resync queue, and are the plugin names right?)'
      : `not finished: ${pending.map((plugin) => `${plugin.plugin} (${plugin.phase}, ${plugin.items} items)`).join(', ')}`;
    super('RESYNC_TIMEOUT', `resync ${view.resyncId} did not end within ${timeoutMs / 1000} s: ${what}`, {
      details: {
        resyncId: view.resyncId,
        timeoutMs,
        started: view.started,
        pending: pending.map((plugin) => plugin.plugin),
      },
    });
    this.view = view;
  }
}
