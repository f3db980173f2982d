import { DatasyncError } from '../errors.ts';
import type { Change } from '../model/change.ts';
import { keyMatchesPrefix, validatePrefix } from '../model/key.ts';
import type { Plugin, PluginCallbacks } from './plugin.ts';

/** A live subscription returned by `watch`: its prefixes can change until it is closed. */
export interface WatchRegistration {
  /** The plugin's name. */
  readonly name: string;
  /** The prefixes currently watched. */
  readonly prefixes: readonly string[];
  /** Whether `close()` has been called. */
  readonly closed: boolean;
  /** Starts watching one more prefix (a no-op when it is already watched). */
  register(prefix: string): void;
  /** Stops watching a prefix; other prefixes keep their subscriptions. */
  unregister(prefix: string): void;
  /** Ends the subscription: the plugin receives nothing more and its name can be reused. */
  close(): void;
}

/** A registered plugin as the dispatcher sees it: a snapshot of its prefixes at call time. */
interface Entry {
  readonly name: string;
  readonly callbacks: PluginCallbacks;
  readonly prefixes: string[];
  closed: boolean;
}

/**
 * The plugins in registration order. Routing is done here: a change goes to every plugin with a
 * matching prefix, once per plugin however many of its prefixes match.
 */
export class PluginRegistry {
  readonly #entries: Entry[] = [];

  /** Subscribes `callbacks` under a unique `name` to the given prefixes. */
  watch(name: string, callbacks: PluginCallbacks, ...prefixes: string[]): WatchRegistration {
    if (typeof name !== 'string' || name.length === 0) {
      throw new DatasyncError('CONFIGURATION', 'a plugin needs a non-empty name');
    }
    if (this.#entries.some((entry) => entry.name === name)) {
      throw new DatasyncError('DUPLICATE_PLUGIN', `a plugin named "${name}" is already registered`, {
        details: { plugin: name },
      });
    }
    if (typeof callbacks?.change !== 'function' || typeof callbacks.resync !== 'function') {
      throw new DatasyncError('CONFIGURATION', `plugin "${name}" needs change and resync callbacks`, {
        details: { plugin: name },
      });
    }
    const entry: Entry = { name, callbacks, prefixes: [], closed: false };
    for (const prefix of prefixes) addPrefix(entry, prefix);
    this.#entries.push(entry);
    return this.#registration(entry);
  }

  /** Registers a plugin object (a shorthand for `watch(plugin.name, plugin, ...plugin.prefixes)`). */
  add(plugin: Plugin): WatchRegistration {
    return this.watch(plugin.name, plugin, ...plugin.prefixes);
  }

  /** The open plugins in registration order, which is the resync order. */
  plugins(): Plugin[] {
    return this.#entries.map((entry) => toPlugin(entry));
  }

  /** The open plugin of that name, if any. */
  get(name: string): Plugin | undefined {
    const entry = this.#entries.find((candidate) => candidate.name === name);
    return entry && toPlugin(entry);
  }

  /**
   * Splits changes by plugin: for each plugin (in registration order) the changes under its
   * prefixes, in their original order, each at most once.
   */
  route(changes: readonly Change[]): Array<{ plugin: Plugin; changes: Change[] }> {
    const routes: Array<{ plugin: Plugin; changes: Change[] }> = [];
    for (const entry of this.#entries) {
      const matched = changes.filter((change) => entry.prefixes.some((prefix) => keyMatchesPrefix(change.key, prefix)));
      if (matched.length > 0) routes.push({ plugin: toPlugin(entry), changes: matched });
    }
    return routes;
  }

  #registration(entry: Entry): WatchRegistration {
    const entries = this.#entries;
    const open = (action: string) => {
      if (entry.closed) {
        throw new DatasyncError('PLUGIN_CLOSED', `cannot ${action}: plugin "${entry.name}" is closed`, {
          details: { plugin: entry.name },
        });
      }
    };
    return {
      name: entry.name,
      get prefixes() {
        return [...entry.prefixes];
      },
      get closed() {
        return entry.closed;
      },
      register(prefix: string) {
        open('register a prefix');
        addPrefix(entry, prefix);
      },
      unregister(prefix: string) {
        open('unregister a prefix');
        const index = entry.prefixes.indexOf(validatePrefix(prefix));
        if (index >= 0) entry.prefixes.splice(index, 1);
      },
      close() {
        if (entry.closed) return;
        entry.closed = true;
        const index = entries.indexOf(entry);
        if (index >= 0) entries.splice(index, 1);
      },
    };
  }
}

function addPrefix(entry: Entry, prefix: string): void {
  const valid = validatePrefix(prefix);
  if (!entry.prefixes.includes(valid)) entry.prefixes.push(valid);
}

function toPlugin(entry: Entry): Plugin {
  const { callbacks } = entry;
  return {
    name: entry.name,
    prefixes: [...entry.prefixes],
    change: (changes, context) => callbacks.change(changes, context),
    resync: (snapshot, context) => callbacks.resync(snapshot, context),
    ...(callbacks.timeoutMs === undefined ? {} : { timeoutMs: callbacks.timeoutMs }),
  };
}
