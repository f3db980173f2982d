// An example plugin: replace it with your own. A plugin is a name, the key prefixes it watches and
// two callbacks: `resync` hands it everything under its prefixes (after a deploy, on a schedule, or
// when asked), `change` the changes since, per key in revision order. Whatever a callback throws
// is reported as an `error` on the feedback queue, and the change is retried by its source.
import type { Change, JsonValue, Plugin, SnapshotEntry } from 'serverless-datasync';

/** The keys this plugin watches, e.g. `config/greetings/en`. */
export const GREETINGS_PREFIX = 'config/greetings';

/** The greetings plugin, with a look at what it holds. */
export interface GreetingsPlugin extends Plugin {
  /** The value held for a name (the key under the prefix), if any. */
  get(name: string): JsonValue | undefined;
  /** The names held. */
  names(): string[];
}

/** Keeps the current value of every key under `config/greetings`, and logs a line per change. */
export function createGreetingsPlugin(log: (line: string) => void = (line) => console.log(line)): GreetingsPlugin {
  const held = new Map<string, JsonValue>();
  const apply = (entry: Change | SnapshotEntry) => {
    const name = entry.key.slice(GREETINGS_PREFIX.length + 1);
    if (entry.op === 'put') held.set(name, entry.value ?? null);
    else held.delete(name);
    log(`greetings: ${entry.op} ${name}`);
  };
  return {
    name: 'greetings',
    prefixes: [GREETINGS_PREFIX],
    async resync(snapshot, context) {
      // A resync replaces what the plugin holds; a long one arrives in parts, and only the first
      // starts afresh.
      if ((context.part ?? 1) === 1) held.clear();
      for await (const page of snapshot.pages()) for (const entry of page) apply(entry);
    },
    change(changes) {
      for (const change of changes) apply(change);
    },
    get: (name) => held.get(name),
    names: () => [...held.keys()],
  };
}
