import { DatasyncError } from '../errors.ts';
import type { Change } from '../model/change.ts';
import { keyMatchesPrefix, validatePrefix } from '../model/key.ts';
import type { PrefixSchema, ValueSchema } from '../model/value-schema.ts';
import type { AnyPlugin, CallbackContext, Plugin, PluginCallbacks, ResyncContext, Snapshot } from './plugin.ts';
import { changeTyped, snapshotTyped } from './typed-values.ts';

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

/** Every prefix of the plugins with a schema, with that schema, in registration order. */
function schemasOf(entries: readonly Entry[]): PrefixSchema[] {
  return entries.flatMap((entry) => {
    const { schema } = entry.callbacks;
    return schema ? entry.prefixes.map((prefix) => ({ prefix, schema, plugin: entry.name })) : [];
  });
}

/**
 * The plugins in registration order. Routing is done here: a change goes to every plugin with a
 * matching prefix, once per plugin however many of its prefixes match.
 */
export class PluginRegistry {
  readonly #entries: Entry[] = [];
  // Built when first asked for after a change of plugins or prefixes: every source reads it per batch.
  #schemas: readonly PrefixSchema[] | undefined;

  /**
   * Subscribes `callbacks` under a unique `name` to the given prefixes.
   * @throws DatasyncError `CONFIGURATION` for a `schema` that is not a Standard Schema (version 1).
   */
  watch<S extends ValueSchema | undefined = undefined>(
    name: string,
    callbacks: PluginCallbacks<S>,
    ...prefixes: string[]
  ): WatchRegistration {
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
    const schema = callbacks.schema as unknown;
    if (schema !== undefined && !isStandardSchema(schema)) {
      throw new DatasyncError(
        'CONFIGURATION',
        `the schema of plugin "${name}" is not a Standard Schema (a validator with a "~standard" member of version 1)`,
        { details: { plugin: name } },
      );
    }
    // Inside, values are handled as JSON; the callbacks see them typed (see toPlugin).
    const entry: Entry = { name, callbacks: callbacks as unknown as PluginCallbacks, prefixes: [], closed: false };
    for (const prefix of prefixes) addPrefix(entry, prefix);
    this.#entries.push(entry);
    this.#schemas = undefined;
    return this.#registration(entry);
  }

  /**
   * The schemas of the values, by prefix: every prefix of every open plugin with a schema. Every
   * source checks a put's value against those whose prefix covers its key.
   */
  schemas(): readonly PrefixSchema[] {
    this.#schemas ??= Object.freeze(schemasOf(this.#entries));
    return this.#schemas;
  }

  /** Registers a plugin object (a shorthand for `watch(plugin.name, plugin, ...plugin.prefixes)`). */
  add(plugin: AnyPlugin): WatchRegistration {
    // Each plugin's callbacks take its own value type; the registry hands them values that way.
    return this.watch(plugin.name, plugin as unknown as PluginCallbacks, ...plugin.prefixes);
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
    const changed = () => {
      this.#schemas = undefined;
    };
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
        changed();
      },
      unregister(prefix: string) {
        open('unregister a prefix');
        const index = entry.prefixes.indexOf(validatePrefix(prefix));
        if (index >= 0) entry.prefixes.splice(index, 1);
        changed();
      },
      close() {
        if (entry.closed) return;
        entry.closed = true;
        const index = entries.indexOf(entry);
        if (index >= 0) entries.splice(index, 1);
        changed();
      },
    };
  }
}

function addPrefix(entry: Entry, prefix: string): void {
  const valid = validatePrefix(prefix);
  if (!entry.prefixes.includes(valid)) entry.prefixes.push(valid);
}

/** Whether a value is a Standard Schema validator (version 1). */
function isStandardSchema(value: unknown): value is ValueSchema {
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    props?.version === 1 &&
    typeof props.validate === 'function'
  );
}

/**
 * The plugin as the dispatcher and the resync call it: values as JSON in. A plugin with a schema
 * receives them as its schema outputs them, and carries the schema, so that its resync leaves out
 * the items that do not fit.
 */
function toPlugin(entry: Entry): Plugin {
  const { callbacks } = entry;
  const { schema } = callbacks;
  if (!schema) {
    return {
      name: entry.name,
      prefixes: [...entry.prefixes],
      change: (changes, context) => callbacks.change(changes, context),
      resync: (snapshot, context) => callbacks.resync(snapshot, context),
      ...(callbacks.timeoutMs === undefined ? {} : { timeoutMs: callbacks.timeoutMs }),
      ...(callbacks.sample === undefined ? {} : { sample: callbacks.sample }),
    };
  }
  // The callbacks were declared for the schema's output type (see PluginCallbacks).
  const typed = callbacks as unknown as {
    change(changes: readonly Change<unknown>[], context: CallbackContext): void | Promise<void>;
    resync(snapshot: Snapshot<unknown>, context: ResyncContext): void | Promise<void>;
  };
  const plugin = { name: entry.name, schema, prefixes: () => entry.prefixes };
  return {
    name: entry.name,
    prefixes: [...entry.prefixes],
    schema,
    change: (changes, context) => changeTyped(plugin, changes, context, (list, ctx) => typed.change(list, ctx)),
    resync: (snapshot, context) => typed.resync(snapshotTyped(plugin, snapshot), context),
    ...(callbacks.timeoutMs === undefined ? {} : { timeoutMs: callbacks.timeoutMs }),
    ...(callbacks.sample === undefined ? {} : { sample: callbacks.sample }),
  };
}
