import { ChangeFailures, PluginFailedError, PluginTimeoutError, toError } from '../errors.ts';
import type { ChangeFeedback, FeedbackError } from '../feedback/record.ts';
import { describeError, FEEDBACK_VERSION } from '../feedback/record.ts';
import { type Change, type ChangeEvent, changeRef } from '../model/change.ts';
import type { Plugin } from '../plugins/plugin.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { KeyLocks } from './key-locks.ts';
import type { DeliveryLedger } from './ledger.ts';
import type { DeliveryPlan } from './order.ts';
import { runWithTimeout } from './timeout.ts';

/** Default time one plugin callback may take. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 5_000;

/** How the dispatcher runs. */
export interface DispatchOptions {
  readonly registry: PluginRegistry;
  readonly ledger: DeliveryLedger;
  /** Serializes deliveries of the same keys within this process. */
  readonly locks: KeyLocks;
  /** Time limit of a plugin without its own `timeoutMs`. */
  readonly defaultTimeoutMs?: number;
  /**
   * Milliseconds left before the whole invocation must end (Lambda's remaining time less a
   * margin). No plugin is given longer than this, so a timeout is reported before Lambda kills us.
   */
  readonly remainingTimeMs?: () => number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** One plugin's outcome: its feedback record plus the failure, for the source's retry decision. */
export interface PluginOutcome {
  readonly feedback: ChangeFeedback;
  /** The error when the plugin failed or timed out. */
  readonly error?: Error;
}

/** What happened to one plugin's share. */
interface ShareResult {
  readonly plugin: Plugin;
  readonly plan: DeliveryPlan;
  readonly started: number;
  /** Changes the plugin applied. */
  applied: Change[];
  /** Changes that failed (all delivered ones, unless the plugin said which). */
  failed: Change[];
  failure?: Error;
}

/**
 * Delivers a change event to every plugin with a matching prefix. The event's keys are taken
 * for this process first, then every plugin's position on them is read at once; plugins run
 * concurrently, each with its own time limit, and each receives its changes in per-key revision
 * order, without those it already holds; what they applied is recorded at once. One plugin
 * failing or hanging never stops another. Every plugin that had a change in the event gets
 * exactly one outcome.
 */
export async function dispatchChanges(event: ChangeEvent, options: DispatchOptions): Promise<PluginOutcome[]> {
  const now = options.now ?? Date.now;
  const routes = options.registry.route(event.changes);
  if (routes.length === 0) return [];
  const keys = event.changes.map((change) => change.key);
  const results = await options.locks.run(keys, () => deliver(event, routes, options, now));
  return results.map((result) => outcomeOf(event, result, now));
}

async function deliver(
  event: ChangeEvent,
  routes: ReadonlyArray<{ plugin: Plugin; changes: Change[] }>,
  options: DispatchOptions,
  now: () => number,
): Promise<ShareResult[]> {
  const started = now();
  let plans: Map<string, DeliveryPlan>;
  try {
    plans = await options.ledger.plan(routes.map(({ plugin, changes }) => ({ plugin: plugin.name, changes })));
  } catch (thrown) {
    // The sync state could not be read: every plugin's share fails, and the source retries it.
    const failure = toError(thrown);
    return routes.map(({ plugin, changes }) => ({
      plugin,
      plan: { deliver: [], skipped: [], held: [] },
      started,
      applied: [],
      failed: changes,
      failure,
    }));
  }
  const results = await Promise.all(
    routes.map(async ({ plugin, changes }): Promise<ShareResult> => {
      const plan = plans.get(plugin.name) ?? { deliver: [...changes], skipped: [], held: [] };
      const result: ShareResult = { plugin, plan, started: now(), applied: [], failed: [] };
      if (plan.deliver.length === 0) return result;
      const limit = Math.max(
        1,
        Math.min(
          plugin.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
          options.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY,
        ),
      );
      try {
        await runWithTimeout(plugin.name, limit, (signal) =>
          plugin.change(plan.deliver, { plugin: plugin.name, signal, ...correlation(event.correlationId) }),
        );
        result.applied = plan.deliver;
      } catch (thrown) {
        if (thrown instanceof ChangeFailures) {
          // The plugin applied all but the changes it named.
          const failed = new Set(thrown.failures.map((failure) => failureId(failure.key, failure.revision)));
          result.failed = plan.deliver.filter((change) => failed.has(failureId(change.key, change.revision)));
          result.applied = plan.deliver.filter((change) => !failed.has(failureId(change.key, change.revision)));
          result.failure = new PluginFailedError(plugin.name, thrown);
        } else {
          result.failed = plan.deliver;
          result.failure = thrown instanceof PluginTimeoutError ? thrown : new PluginFailedError(plugin.name, thrown);
        }
      }
      return result;
    }),
  );
  const applied = results.filter((result) => result.applied.length > 0);
  if (applied.length === 0) return results;
  let refused: Map<string, Error>;
  try {
    refused = await options.ledger.commit(
      applied.map((result) => ({ plugin: result.plugin.name, changes: result.applied, plan: result.plan })),
    );
  } catch (thrown) {
    // Applied but not recorded: reported failed, so the source delivers them again (they are
    // applied twice rather than lost).
    const error = toError(thrown);
    refused = new Map(applied.map((result) => [result.plugin.name, error]));
  }
  for (const result of applied) {
    const error = refused.get(result.plugin.name);
    if (!error) continue;
    result.failed = [...result.failed, ...result.applied];
    result.applied = [];
    result.failure ??= error;
  }
  return results;
}

function outcomeOf(event: ChangeEvent, result: ShareResult, now: () => number): PluginOutcome {
  const { plan, failure } = result;
  const error: FeedbackError | undefined = failure && describeError(failure);
  const partial = failure !== undefined && result.applied.length > 0;
  const feedback: ChangeFeedback = {
    version: FEEDBACK_VERSION,
    event: 'change',
    plugin: result.plugin.name,
    status: failure === undefined ? 'ok' : failure instanceof PluginTimeoutError ? 'timeout' : 'error',
    source: event.source,
    // On failure, the changes that failed: those are the ones the source delivers again.
    changes: (failure === undefined ? result.applied : result.failed).map(changeRef),
    ...(partial ? { applied: result.applied.map(changeRef) } : {}),
    ...(plan.skipped.length > 0 ? { skipped: plan.skipped.map(changeRef) } : {}),
    ...(plan.held.length > 0 ? { held: plan.held.map(changeRef) } : {}),
    ...(error ? { error } : {}),
    ...correlation(event.correlationId),
    time: new Date(now()).toISOString(),
    durationMs: now() - result.started,
  };
  return failure ? { feedback, error: failure } : { feedback };
}

function failureId(key: string, revision: string | undefined): string {
  return `${key}\u0000${revision ?? ''}`;
}

function correlation(id: string | undefined): { correlationId?: string } {
  return id === undefined ? {} : { correlationId: id };
}
