import type { Plugin } from '../plugins/plugin.ts';
import type { PluginState } from './status.ts';
import { SyncStateStore, type SyncStateOptions } from './store.ts';

/**
 * Every plugin's sync state: status, last resync (id, when, counts), last error, failures in a
 * row, and the progress of a running resync. Plugins are given by name or as a datasync
 * instance (then in registration order). Meant for status displays such as a CLI.
 */
export async function readPluginStates(
  plugins: readonly string[] | { plugins(): Plugin[] },
  options: SyncStateOptions | { store: SyncStateStore } = {},
): Promise<PluginState[]> {
  const names = Array.isArray(plugins) ? plugins as readonly string[] : (plugins as { plugins(): Plugin[] }).plugins().map((plugin) => plugin.name);
  const store = 'store' in options ? options.store : new SyncStateStore(options);
  return store.states(names);
}
