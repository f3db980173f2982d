import { ChangeFailures, type SchemaMismatchError } from '../errors.ts';
import type { Change } from '../model/change.ts';
import { keyMatchesPrefix } from '../model/key.ts';
import {
  fitValue,
  mismatch,
  TYPED_VALUES,
  typedValue,
  type CarriesTypedValues,
  type PrefixSchema,
  type ValueSchema,
} from '../model/value-schema.ts';
import type { CallbackContext, Snapshot, SnapshotEntry } from './plugin.ts';

/**
 * What a plugin with a schema is handed: each value as its schema outputs it. The sources have
 * already refused values that do not fit (and the resync left them out). The output a batch
 * source computed travels with the change and is reused; a previous value, or a value that came
 * without an output (one handed to `dispatch` directly), is validated here.
 */
export interface TypedPlugin {
  readonly name: string;
  readonly schema: ValueSchema;
  /** The plugin's prefixes now, to name the one a refused key lies under. */
  readonly prefixes: () => readonly string[];
}

/**
 * Calls a plugin's change callback with its changes typed by its schema. A change whose value does
 * not fit (one held since before the schema changed, or handed to `dispatch` directly) is not
 * given to the plugin: it fails with the validator's issues in the plugin's feedback, and the
 * rest are applied. A previous value that does not fit is left out (the plugin gets no
 * `prevValue`), since a change that mends a value must get through.
 */
export async function changeTyped(
  plugin: TypedPlugin,
  changes: readonly Change[],
  context: CallbackContext,
  change: (changes: readonly Change<unknown>[], context: CallbackContext) => void | Promise<void>,
): Promise<void> {
  // The prefix only names where a refused key lies; it is looked up for a refusal alone.
  const checking: PrefixSchema = { prefix: '', schema: plugin.schema, plugin: plugin.name };
  const typed: Change<unknown>[] = [];
  const misfits: Array<{ change: Change; error: SchemaMismatchError }> = [];
  for (const item of changes) {
    // The output the source computed when it checked the value, else a validation now.
    const carried = (item as CarriesTypedValues)[TYPED_VALUES]?.find((output) => output.schema === plugin.schema);
    const fit = carried ?? (item.value === undefined ? undefined : fitValue(checking, item.value));
    if (fit?.issues) {
      misfits.push({ change: item, error: mismatch(entryOf(plugin, item.key), item.key, fit.issues) });
      continue;
    }
    const prev = item.prevValue === undefined ? undefined : fitValue(checking, item.prevValue);
    if (prev?.issues) {
      const { prevValue: _unfit, ...rest } = item;
      typed.push(fit ? { ...rest, value: fit.value } : rest);
    } else if (fit && prev) typed.push({ ...item, value: fit.value, prevValue: prev.value });
    else if (fit) typed.push({ ...item, value: fit.value });
    else if (prev) typed.push({ ...item, prevValue: prev.value });
    else typed.push(item);
  }
  try {
    if (typed.length > 0) await change(typed, context);
  } catch (thrown) {
    if (misfits.length === 0 || !(thrown instanceof ChangeFailures)) throw thrown;
    throw new ChangeFailures([
      ...thrown.failures.map(({ key, revision, error }) => ({
        change: { key, ...(revision ? { revision } : {}) },
        error,
      })),
      ...misfits,
    ]);
  }
  if (misfits.length > 0) throw new ChangeFailures(misfits);
}

/**
 * The snapshot with each item's value as the plugin's schema outputs it. The resync hands over
 * only items that fit (see `ResyncSnapshot`); one that does not here fails the resync.
 * @throws SchemaMismatchError from `pages()` for an item that does not fit.
 */
export function snapshotTyped(plugin: TypedPlugin, snapshot: Snapshot): Snapshot<unknown> {
  return {
    resyncId: snapshot.resyncId,
    prefixes: snapshot.prefixes,
    get continues() {
      return snapshot.continues;
    },
    async *pages() {
      for await (const page of snapshot.pages()) {
        yield page.map(
          (entry): SnapshotEntry<unknown> =>
            entry.op === 'put'
              ? { ...entry, value: typedValue(entryOf(plugin, entry.key), entry.key, entry.value) }
              : entry,
        );
      }
    },
  };
}

function entryOf(plugin: TypedPlugin, key: string): PrefixSchema {
  const prefixes = plugin.prefixes();
  const prefix = prefixes.find((candidate) => keyMatchesPrefix(key, candidate)) ?? prefixes[0] ?? '';
  return { prefix, schema: plugin.schema, plugin: plugin.name };
}
