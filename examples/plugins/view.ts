import type { Plugin, SampleOf, SnapshotEntry, ValueOf, ValueSchema } from '../../lib/index.ts';

/** A plugin that keeps an in-memory view of the items under one prefix, typed by its schema. */
export interface ViewPlugin<S extends ValueSchema> extends Plugin<S> {
  readonly schema: S;
  /** An item's value by name (the key under the prefix), if held. */
  get(name: string): ValueOf<S> | undefined;
  /** Names of the items held. */
  names(): string[];
}

/**
 * The shape both example plugins share: a map from name to value that a resync replaces and
 * changes update, calling `describe` for the line logged per applied entry. The schema makes every
 * source refuse a value that does not fit before this plugin runs, so the view holds only values
 * of its type.
 */
export function createViewPlugin<S extends ValueSchema>(options: {
  name: string;
  prefix: string;
  schema: S;
  sample: SampleOf<S>;
  log: (line: string) => void;
  describe?: (entry: { op: 'put' | 'delete'; name: string; value?: ValueOf<S> }) => string;
}): ViewPlugin<S> {
  const held = new Map<string, ValueOf<S>>();
  const apply = (entry: { op: 'put' | 'delete'; key: string; value?: ValueOf<S> }) => {
    const name = entry.key.slice(options.prefix.length + 1);
    if (entry.op === 'put' && entry.value !== undefined) held.set(name, entry.value);
    else held.delete(name);
    const suffix =
      options.describe?.({ op: entry.op, name, ...(entry.value === undefined ? {} : { value: entry.value }) }) ?? '';
    options.log(`${options.name}: ${entry.op} ${name}${suffix}`);
  };
  return {
    name: options.name,
    prefixes: [options.prefix],
    schema: options.schema,
    sample: options.sample,
    async resync(snapshot, context) {
      // A resync replaces the view; a long one arrives in parts, and only the first starts afresh.
      if ((context.part ?? 1) === 1) held.clear();
      for await (const page of snapshot.pages()) for (const entry of page as SnapshotEntry<ValueOf<S>>[]) apply(entry);
    },
    change(changes) {
      for (const change of changes) apply(change);
    },
    get: (name) => held.get(name),
    names: () => [...held.keys()],
  };
}
