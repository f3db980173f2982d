import { DatasyncError } from './errors.ts';
import { dispatchChanges, type PluginOutcome } from './dispatch/dispatcher.ts';
import { MemoryLedger, type DeliveryLedger } from './dispatch/ledger.ts';
import type { ChangeEvent } from './model/change.ts';
import type { Plugin, PluginCallbacks } from './plugins/plugin.ts';
import { PluginRegistry, type WatchRegistration } from './plugins/registry.ts';

/** Configuration of a datasync instance. */
export interface DatasyncOptions {
  /** Plugins to register now, in order; registration order is resync order. */
  readonly plugins?: readonly Plugin[];
  /**
   * Where per-plugin revisions (and, with the sync-state table, resync status) are kept.
   * Defaults to memory, which lasts as long as the process.
   */
  readonly ledger?: DeliveryLedger;
  /** Time limit of a plugin callback without its own `timeoutMs`; default 5000 ms. */
  readonly defaultTimeoutMs?: number;
}

/** The core of serverless-datasync: plugins, routing and delivery. */
export interface Datasync {
  /**
   * Subscribes callbacks to key prefixes under a unique name and returns the live registration.
   * @throws DatasyncError `DUPLICATE_PLUGIN` when the name is taken; `InvalidKeyError` for a bad prefix.
   */
  watch(name: string, callbacks: PluginCallbacks, ...prefixes: string[]): WatchRegistration;
  /** The registered plugins in registration (= resync) order. */
  plugins(): Plugin[];
  /**
   * Delivers a change event to the plugins whose prefixes match and returns one outcome per
   * plugin involved, each carrying its feedback record.
   */
  dispatch(event: ChangeEvent, options?: { remainingTimeMs?: () => number }): Promise<PluginOutcome[]>;
  /** The delivery ledger in use. */
  readonly ledger: DeliveryLedger;
}

/** Creates a datasync instance with the given plugins registered in order. */
export function createDatasync(options: DatasyncOptions = {}): Datasync {
  if (options.defaultTimeoutMs !== undefined && !(options.defaultTimeoutMs > 0)) {
    throw new DatasyncError('CONFIGURATION', `defaultTimeoutMs must be positive, got ${options.defaultTimeoutMs}`);
  }
  const registry = new PluginRegistry();
  for (const plugin of options.plugins ?? []) registry.add(plugin);
  const ledger = options.ledger ?? new MemoryLedger();
  return {
    ledger,
    watch: (name, callbacks, ...prefixes) => registry.watch(name, callbacks, ...prefixes),
    plugins: () => registry.plugins(),
    dispatch: (event, dispatchOptions = {}) =>
      dispatchChanges(event, {
        registry,
        ledger,
        ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }),
        ...(dispatchOptions.remainingTimeMs ? { remainingTimeMs: dispatchOptions.remainingTimeMs } : {}),
      }),
  };
}
