import type { JsonValue, Plugin, SnapshotEntry } from '../../lib/index.ts';
import type { InterfacesPlugin } from './interfaces.ts';

/** Prefix of route configs, e.g. `config/routes/default`. */
export const ROUTES_PREFIX = 'config/routes';

/** The routes example plugin plus a read-only view of what it holds. */
export interface RoutesPlugin extends Plugin {
  /** A route's config by name, if held. */
  get(name: string): JsonValue | undefined;
  /** Names of the routes held. */
  names(): string[];
  /** Routes whose `interface` is not (yet) a known interface. */
  unresolved(): string[];
}

/**
 * An example plugin watching `config/routes`. A route names the interface it leaves through
 * (`{"interface": "eth0", ...}`); that is why it is registered after the interfaces plugin, which
 * resync therefore fills first. It keeps an in-memory view and logs one line per change.
 */
export function createRoutesPlugin(interfaces: Pick<InterfacesPlugin, 'get'>, log: (line: string) => void = console.log): RoutesPlugin {
  const held = new Map<string, JsonValue>();
  const via = (value: JsonValue | undefined): string | undefined =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.interface === 'string' ? value.interface : undefined;
  const apply = (entry: { op: 'put' | 'delete'; key: string; value?: JsonValue }) => {
    const name = entry.key.slice(ROUTES_PREFIX.length + 1);
    if (entry.op === 'put') held.set(name, entry.value ?? null);
    else held.delete(name);
    const iface = via(entry.value);
    const resolved = iface === undefined || interfaces.get(iface) !== undefined ? '' : ` (interface ${iface} unknown)`;
    log(`routes: ${entry.op} ${name}${resolved}`);
  };
  return {
    name: 'routes',
    prefixes: [ROUTES_PREFIX],
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
    unresolved: () => [...held].filter(([, value]) => {
      const iface = via(value);
      return iface !== undefined && interfaces.get(iface) === undefined;
    }).map(([name]) => name),
  };
}
