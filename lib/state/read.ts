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
  return storeOf(options).states(names);
}

/**
 * The state of every plugin the state table knows (each that ever began a resync), by name,
 * for callers that do not have the plugins at hand (a CLI run from a workstation). It scans the
 * whole state table; give names to `readPluginStates` to read only those.
 */
export async function listPluginStates(
  options: (SyncStateOptions | { store: SyncStateStore }) & { resyncId?: string } = {},
): Promise<PluginState[]> {
  return storeOf(options).allStates(options.resyncId === undefined ? {} : { resyncId: options.resyncId });
}

function storeOf(options: SyncStateOptions | { store: SyncStateStore }): SyncStateStore {
  return 'store' in options ? options.store : new SyncStateStore(options);
}
