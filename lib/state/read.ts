import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Plugin } from '../plugins/plugin.ts';
import { toPluginState, type PluginState } from './status.ts';
import { stateTableOf, SyncStateStore, type SyncStateOptions } from './store.ts';
import { SORT, pluginPartition } from './table.ts';

/**
 * Every plugin's sync state: status, last resync (id, when, counts), last error, failures in a
 * row, and the progress of a running resync. Plugins are given by name or as a datasync
 * instance (then in registration order). Meant for status displays such as a CLI.
 */
export async function readPluginStates(
  plugins: readonly string[] | { plugins(): Plugin[] },
  options: SyncStateOptions | { store: SyncStateStore } = {},
): Promise<PluginState[]> {
  const names = Array.isArray(plugins)
    ? (plugins as readonly string[])
    : (plugins as { plugins(): Plugin[] }).plugins().map((plugin) => plugin.name);
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
  return scanStates(storeOf(options), options.resyncId === undefined ? {} : { resyncId: options.resyncId });
}

/**
 * The state of every plugin that has a status row, by name; with `resyncId`, only those whose
 * last or running resync is that one. There is no index of plugins, so this scans the whole
 * table: for status displays, not for hot paths.
 */
export async function scanStates(store: SyncStateStore, filter: { resyncId?: string } = {}): Promise<PluginState[]> {
  const table = stateTableOf(store);
  const plugins = pluginPartition('');
  const states: PluginState[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await table.call('list the plugins', () =>
      table.dynamodb.send(
        new ScanCommand({
          TableName: table.name,
          FilterExpression: filter.resyncId === undefined ? 'sk = :status' : 'sk = :status AND resyncId = :id',
          ExpressionAttributeValues: {
            ':status': { S: SORT.status },
            ...(filter.resyncId === undefined ? {} : { ':id': { S: filter.resyncId } }),
          },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      ),
    );
    for (const row of page.Items ?? []) {
      const partition = row.pk?.S ?? '';
      if (partition.startsWith(plugins)) states.push(toPluginState(partition.slice(plugins.length), row));
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return states.sort((a, b) => (a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0));
}

function storeOf(options: SyncStateOptions | { store: SyncStateStore }): SyncStateStore {
  return 'store' in options ? options.store : new SyncStateStore(options);
}
