import type { JsonValue, Plugin, SnapshotEntry } from '../../lib/index.ts';

/** A plugin that keeps an in-memory view of the items under one prefix. */
export interface ViewPlugin extends Plugin {
  /** An item's value by name (the key under the prefix), if held. */
  get(name: string): JsonValue | undefined;
  /** Names of the items held. */
  names(): string[];
}

/**
 * The shape both example plugins share: a map from name to value that a resync replaces and
 * changes update, calling `describe` for the line logged per applied entry.
 */
export function createViewPlugin(options: {
  name: string;
  prefix: string;
  log: (line: string) => void;
  describe?: (entry: { op: 'put' | 'delete'; name: string; value?: JsonValue }) => string;
}): ViewPlugin {
  const held = new Map<string, JsonValue>();
  const apply = (entry: { op: 'put' | 'delete'; key: string; value?: JsonValue }) => {
    const name = entry.key.slice(options.prefix.length + 1);
    if (entry.op === 'put') held.set(name, entry.value ?? null);
    else held.delete(name);
    const suffix =
      options.describe?.({ op: entry.op, name, ...(entry.value === undefined ? {} : { value: entry.value }) }) ?? '';
    options.log(`${options.name}: ${entry.op} ${name}${suffix}`);
  };
  return {
    name: options.name,
    prefixes: [options.prefix],
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
