import type { Change } from '../model/change.ts';
import type { JsonValue } from '../model/json-value.ts';
import type { Revision } from '../model/revision.ts';
import type { InputOf, ValueOf, ValueSchema } from '../model/value-schema.ts';

/** What every plugin callback receives besides its data. */
export interface CallbackContext {
  /** The plugin being called. */
  readonly plugin: string;
  /**
   * Aborted when the callback's time is up. The callback has already been reported as a
   * `timeout` by then; long work should stop when it fires.
   */
  readonly signal: AbortSignal;
  /** The correlation id of the work, when the source carried one. */
  readonly correlationId?: string;
}

/** Context of a resync callback. */
export interface ResyncContext extends CallbackContext {
  /** The id of this resync, reported in its feedback. */
  readonly resyncId: string;
  /**
   * Which invocation of a long resync this call is: 1 for the call that begins the resync, 2 and
   * up when it resumes after a checkpoint (the earlier parts' entries were already handed over,
   * and only the remaining ones follow). Absent means 1.
   */
  readonly part?: number;
}

/**
 * One entry of an authoritative snapshot. Every current item under the plugin's prefixes is a
 * `put`; every key the plugin held that is no longer in the store is a `delete`, after the items.
 */
export type SnapshotEntry<V = JsonValue> =
  | {
      readonly op: 'put';
      readonly key: string;
      readonly value: V;
      /** The item's version, when the table keeps one. */
      readonly version?: Revision;
    }
  | {
      readonly op: 'delete';
      readonly key: string;
      /** The revision of the last change the plugin had of the key, when known. */
      readonly revision?: Revision;
      /** The version of the item the plugin held, when known. */
      readonly version?: Revision;
    };

/**
 * The complete current state under a plugin's prefixes, streamed page by page so a table of any
 * size never has to fit in memory. It can be read once.
 */
export interface Snapshot<V = JsonValue> {
  /** The id of the resync this snapshot belongs to. */
  readonly resyncId: string;
  /** The prefixes the snapshot covers. */
  readonly prefixes: readonly string[];
  /** The entries, a page at a time: items first, then deletions. */
  pages(): AsyncIterable<readonly SnapshotEntry<V>[]>;
  /**
   * True once `pages()` has ended early because the invocation's time ran low: the resync is not
   * finished; it continues from the next page in a new call (with `context.part` one higher).
   * False or absent once the pages have ended because the snapshot is complete.
   */
  readonly continues?: boolean;
}

/**
 * The callbacks a plugin provides. With a `schema`, the values it receives (`value` and
 * `prevValue` of its changes, `value` of its snapshot's entries) are the schema's output, typed
 * as such; without one (or when the schema's type is not known statically) they are plain JSON.
 */
export interface PluginCallbacks<S extends ValueSchema | undefined = ValueSchema | undefined> {
  /**
   * Checks the values under every prefix of the plugin (any Standard Schema validator: valibot,
   * zod, arktype, …). Every source refuses a put whose value does not fit, before any plugin
   * runs; a resync hands over only the items that fit and reports the others. Validation is
   * synchronous: a schema with asynchronous checks is a configuration error.
   */
  readonly schema?: S;
  /**
   * A value that fits the schema, which `datasync local` publishes through every source to check
   * that each one reaches the plugin (without it, it publishes a small object of its own).
   */
  readonly sample?: SampleOf<S>;
  /**
   * Applies changes to keys under the plugin's prefixes, in per-key revision order. Called only
   * after the plugin's first successful resync. Throwing (or rejecting) reports an `error`.
   */
  change(changes: readonly Change<ValueOf<S>>[], context: CallbackContext): void | Promise<void>;
  /** Replaces everything the plugin holds under its prefixes with the snapshot. */
  resync(snapshot: Snapshot<ValueOf<S>>, context: ResyncContext): void | Promise<void>;
  /** How long one callback may run before it is reported as a `timeout`; default 5000 ms. */
  readonly timeoutMs?: number;
}

/** The type of a plugin's `sample`: what its schema takes as input, or any JSON value. */
export type SampleOf<S extends ValueSchema | undefined> = [S] extends [undefined]
  ? JsonValue
  : ValueSchema extends S
    ? JsonValue
    : InputOf<NonNullable<S>>;

/**
 * A named watcher of key prefixes. The order plugins are registered in is the order of resync.
 * `Plugin` alone takes values as plain JSON; `Plugin<typeof schema>` (or `definePlugin`, which
 * infers it) types them by its schema.
 */
export interface Plugin<S extends ValueSchema | undefined = ValueSchema | undefined> extends PluginCallbacks<S> {
  /** Unique name; it identifies the plugin in feedback and sync state. */
  readonly name: string;
  /** The prefixes watched, matched on whole path segments. */
  readonly prefixes: readonly string[];
}

/**
 * A plugin of any schema, as a list of plugins takes it (`createDatasyncCore({ plugins })`): each
 * keeps its own value type.
 */
export interface AnyPlugin {
  readonly name: string;
  readonly prefixes: readonly string[];
  readonly schema?: ValueSchema | undefined;
  readonly sample?: unknown;
  readonly timeoutMs?: number;
  change(changes: readonly Change<never>[], context: CallbackContext): void | Promise<void>;
  resync(snapshot: Snapshot<never>, context: ResyncContext): void | Promise<void>;
}

/**
 * Returns the plugin as it is, typed by its schema: in a plugin object written inline, the
 * callbacks' values take the schema's output type without naming it.
 */
export function definePlugin<S extends ValueSchema | undefined = undefined>(plugin: Plugin<S>): Plugin<S> {
  return plugin;
}
