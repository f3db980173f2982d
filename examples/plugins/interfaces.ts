import type { JsonValue, Plugin, SnapshotEntry } from '../../lib/index.ts';

/** Prefix of network interface configs, e.g. `config/interfaces/eth0`. */
export const INTERFACES_PREFIX = 'config/interfaces';

/** The interfaces example plugin plus a read-only view of what it holds. */
export interface InterfacesPlugin extends Plugin {
  /** The config of an interface by name (the last key segment), if held. */
  get(name: string): JsonValue | undefined;
  /** Names of the interfaces held. */
  names(): string[];
}

/**
 * An example plugin watching `config/interfaces`: it keeps an in-memory view of interface
 * configs and logs one line per change.
 */
export function createInterfacesPlugin(log: (line: string) => void = console.log): InterfacesPlugin {
  const held = new Map<string, JsonValue>();
  const apply = (entry: { op: 'put' | 'delete'; key: string; value?: JsonValue }) => {
    const name = entry.key.slice(INTERFACES_PREFIX.length + 1);
    if (entry.op === 'put') held.set(name, entry.value ?? null);
    else held.delete(name);
    log(`interfaces: ${entry.op} ${name}`);
  };
  return {
    name: 'interfaces',
    prefixes: [INTERFACES_PREFIX],
    async resync(snapshot, context) {
      // A resync replaces the view; a long one arrives in parts, and only the first starts afresh.
      if ((context.part ?? 1) === 1) held.clear();
      for await (const page of snapshot.pages()) for (const entry of page as SnapshotEntry[]) apply(entry);
    },
    change(changes) {
      for (const change of changes) apply(change);
    },
    get: (name) => held.get(name),
    names: () => [...held.keys()],
  };
}
