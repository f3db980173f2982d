import type { PluginOutcome } from '../dispatch/dispatcher.ts';
import { describeError } from '../feedback/record.ts';
import { requestResync } from './request.ts';
import type { DynamoDbLedger } from '../state/ledger.ts';
import type { SyncStateStore } from '../state/store.ts';

/** How failing plugins are detected. */
export interface FailureTrackerOptions {
  /** The state table (usually `ledger.store`). */
  readonly store: SyncStateStore;
  /** The ledger in use, whose last read tells whether a success needs to reset a count. */
  readonly ledger?: DynamoDbLedger;
  /** Failed change deliveries in a row that mark a plugin out of sync; default 3. */
  readonly threshold?: number;
  /** Asks for the plugin's resync; default a `failing-plugin` request on the resync queue. */
  readonly requestResync?: (plugin: string) => Promise<unknown>;
}

/** What recording one plugin's outcome did. */
export interface FailureRecord {
  readonly plugin: string;
  readonly failures: number;
  /** True when this outcome marked the plugin out of sync and requested its resync. */
  readonly markedOutOfSync: boolean;
}

/** Default failures in a row before a plugin is marked out of sync. */
export const DEFAULT_FAILURE_THRESHOLD = 3;

/**
 * Counts each plugin's change failures in a row. When a plugin reaches the threshold it is marked
 * `out-of-sync` (its changes are held from then on) and a resync of it is requested; a success
 * resets the count. Sources call `record` with the outcomes of every dispatch.
 */
export class FailureTracker {
  readonly #options: FailureTrackerOptions;
  readonly #threshold: number;

  constructor(options: FailureTrackerOptions) {
    this.#options = options;
    this.#threshold = Math.max(1, options.threshold ?? DEFAULT_FAILURE_THRESHOLD);
  }

  /** Records the outcomes of one dispatch, one per plugin. */
  async record(outcomes: readonly PluginOutcome[]): Promise<FailureRecord[]> {
    return Promise.all(
      outcomes.map(async (outcome): Promise<FailureRecord> => {
        const plugin = outcome.feedback.plugin;
        if (outcome.error === undefined) {
          if (this.#options.ledger?.knownFailures(plugin) !== 0) await this.#options.store.clearFailures(plugin);
          return { plugin, failures: 0, markedOutOfSync: false };
        }
        const failures = await this.#options.store.addFailure(plugin, describeError(outcome.error));
        if (failures < this.#threshold) return { plugin, failures, markedOutOfSync: false };
        // The resync is requested before the plugin is marked: a plugin marked out of sync has its
        // changes held, so a mark without a request on its way could hold them for good. (If the
        // request fails, the error fails the batch, and the next failure asks again.)
        const request =
          this.#options.requestResync ??
          ((name: string) => requestResync({ plugins: [name], reason: 'failing-plugin' }));
        await request(plugin);
        const marked = await this.#options.store.markOutOfSync(plugin);
        return { plugin, failures, markedOutOfSync: marked };
      }),
    );
  }
}
