import { PluginFailedError, PluginTimeoutError, toError } from '../errors.ts';
import { changeRef, type ChangeEvent } from '../model/change.ts';
import type { ChangeFeedback, FeedbackError } from '../feedback/record.ts';
import { describeError, FEEDBACK_VERSION } from '../feedback/record.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { DeliveryLedger } from './ledger.ts';
import { runWithTimeout } from './timeout.ts';

/** Default time one plugin callback may take. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 5_000;

/** How the dispatcher runs. */
export interface DispatchOptions {
  readonly registry: PluginRegistry;
  readonly ledger: DeliveryLedger;
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

/**
 * Delivers a change event to every plugin with a matching prefix. Plugins run concurrently, each
 * with its own time limit; each plugin receives its changes in per-key revision order, without
 * those it already holds. One plugin failing or hanging never stops another. Every plugin that
 * had a change in the event gets exactly one outcome.
 */
export async function dispatchChanges(event: ChangeEvent, options: DispatchOptions): Promise<PluginOutcome[]> {
  const now = options.now ?? Date.now;
  const routes = options.registry.route(event.changes);
  return Promise.all(
    routes.map(async ({ plugin, changes }): Promise<PluginOutcome> => {
      const started = now();
      const limit = Math.max(
        1,
        Math.min(
          plugin.timeoutMs ?? options.defaultTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
          options.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY,
        ),
      );
      let delivered: typeof changes = [];
      let skipped: typeof changes = [];
      let held: typeof changes = [];
      let failure: Error | undefined;
      try {
        ({ deliver: delivered, skipped, held } = await options.ledger.plan(plugin.name, changes));
        if (delivered.length > 0) {
          try {
            await runWithTimeout(plugin.name, limit, (signal) =>
              plugin.change(delivered, { plugin: plugin.name, signal, ...correlation(event.correlationId) }),
            );
          } catch (thrown) {
            throw thrown instanceof PluginTimeoutError ? thrown : new PluginFailedError(plugin.name, thrown);
          }
          await options.ledger.commit(plugin.name, delivered);
        }
      } catch (thrown) {
        // Ledger errors (the sync state could not be read or written) fail the plugin's share too.
        failure = toError(thrown);
      }
      const error: FeedbackError | undefined = failure && describeError(failure);
      const feedback: ChangeFeedback = {
        version: FEEDBACK_VERSION,
        event: 'change',
        plugin: plugin.name,
        status: failure === undefined ? 'ok' : failure instanceof PluginTimeoutError ? 'timeout' : 'error',
        source: event.source,
        changes: (delivered.length > 0 || failure === undefined ? delivered : changes).map(changeRef),
        ...(skipped.length > 0 ? { skipped: skipped.map(changeRef) } : {}),
        ...(held.length > 0 ? { held: held.map(changeRef) } : {}),
        ...(error ? { error } : {}),
        ...correlation(event.correlationId),
        time: new Date(now()).toISOString(),
        durationMs: now() - started,
      };
      return failure ? { feedback, error: failure } : { feedback };
    }),
  );
}

function correlation(id: string | undefined): { correlationId?: string } {
  return id === undefined ? {} : { correlationId: id };
}
