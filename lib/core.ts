import { DatasyncError } from './errors.ts';
import { dispatchChanges, type PluginOutcome } from './dispatch/dispatcher.ts';
import { KeyLocks } from './dispatch/key-locks.ts';
import { MemoryLedger, type DeliveryLedger } from './dispatch/ledger.ts';
import type { ChangeEvent } from './model/change.ts';
import type { PrefixSchema, ValueSchema } from './model/value-schema.ts';
import type { AnyPlugin, Plugin, PluginCallbacks } from './plugins/plugin.ts';
import { PluginRegistry, type WatchRegistration } from './plugins/registry.ts';

/** Configuration of a datasync instance. */
export interface DatasyncOptions {
  /** Plugins to register now, in order; registration order is resync order. */
  readonly plugins?: readonly AnyPlugin[];
  /**
   * Where per-plugin revisions (and, with the sync-state table, resync status) are kept.
   * Defaults to memory, which lasts as long as the process and knows nothing of resyncs: it
   * orders and deduplicates, but does not hold changes before a plugin's first resync. Use
   * `DynamoDbLedger` in Lambda and wherever rule 1 (changes only after the first resync) matters.
   */
  readonly ledger?: DeliveryLedger;
  /** Time limit of a plugin callback without its own `timeoutMs`; default 5000 ms. */
  readonly defaultTimeoutMs?: number;
  /**
   * Called with the outcomes of every dispatch, after the plugins ran (e.g. a `FailureTracker`
   * that marks a plugin that keeps failing out of sync). An error it throws fails the dispatch.
   */
  readonly onOutcomes?: (outcomes: readonly PluginOutcome[]) => Promise<unknown>;
}

/**
 * The core of serverless-datasync: plugins, routing and delivery, with no source attached. Every
 * handler factory (`createSqsHandler`, `createResyncHandler`, …) takes one. A Lambda function
 * that builds its handler from the core and one factory bundles only that source.
 */
export interface DatasyncCore {
  /**
   * Subscribes callbacks to key prefixes under a unique name and returns the live registration.
   * @throws DatasyncError `DUPLICATE_PLUGIN` when the name is taken; `InvalidKeyError` for a bad prefix.
   */
  watch<S extends ValueSchema | undefined = undefined>(
    name: string,
    callbacks: PluginCallbacks<S>,
    ...prefixes: string[]
  ): WatchRegistration;
  /** The registered plugins in registration (= resync) order. */
  plugins(): Plugin[];
  /**
   * The value schemas by prefix (every prefix of every plugin that declared a `schema`), current
   * at the call: the sources check each put's value against those that cover its key.
   */
  schemas(): readonly PrefixSchema[];
  /**
   * Delivers a change event to the plugins whose prefixes match and returns one outcome per
   * plugin involved, each carrying its feedback record.
   */
  dispatch(event: ChangeEvent, options?: { remainingTimeMs?: () => number }): Promise<PluginOutcome[]>;
  /** The delivery ledger in use. */
  readonly ledger: DeliveryLedger;
}

/**
 * Creates the core with the given plugins registered in order.
 * @throws DatasyncError `CONFIGURATION` for a non-positive `defaultTimeoutMs`.
 */
export function createDatasyncCore(options: DatasyncOptions = {}): DatasyncCore {
  if (options.defaultTimeoutMs !== undefined && !(options.defaultTimeoutMs > 0)) {
    throw new DatasyncError('CONFIGURATION', `defaultTimeoutMs must be positive, got ${options.defaultTimeoutMs}`);
  }
  const registry = new PluginRegistry();
  for (const plugin of options.plugins ?? []) registry.add(plugin);
  const ledger = options.ledger ?? new MemoryLedger();
  const locks = new KeyLocks();
  return {
    ledger,
    watch: (name, callbacks, ...prefixes) => registry.watch(name, callbacks, ...prefixes),
    plugins: () => registry.plugins(),
    schemas: () => registry.schemas(),
    async dispatch(event, dispatchOptions = {}) {
      const outcomes = await dispatchChanges(event, {
        registry,
        ledger,
        locks,
        ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }),
        ...(dispatchOptions.remainingTimeMs ? { remainingTimeMs: dispatchOptions.remainingTimeMs } : {}),
      });
      if (options.onOutcomes && outcomes.length > 0) await options.onOutcomes(outcomes);
      return outcomes;
    },
  };
}
