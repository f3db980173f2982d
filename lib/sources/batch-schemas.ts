import { SchemaMismatchError } from '../errors.ts';
import { checkSchemas, TYPED_VALUES, type PrefixSchema, type TypedOutput } from '../model/value-schema.ts';
import { rejection, type BatchItem } from './batch-item.ts';

/**
 * Checks every put of a normalized batch against the plugins' schemas (`checkSchemas`, the same
 * check `checkChange` makes of a single change), before anything is stored or delivered. A put
 * that does not fit becomes a refusal under its correlation id; one that fits carries its
 * schemas' outputs, which the plugins that declared them are handed without a second validation.
 *
 * The batch sources check their schemas here, in one pass after every record is normalized,
 * rather than inside each record's normalizing: a validator run back to back over the batch
 * likely stays warm in the processor's caches, where one run between two records' attribute
 * conversions does not. With the example schemas, what they add to a 100-record stream batch went
 * from 9% to 2% of its time (`npm run bench:stream`, docs/benchmarks.md "Value schemas").
 * @throws DatasyncError `CONFIGURATION` for a schema that validates asynchronously or throws.
 */
export function checkBatchSchemas(items: readonly BatchItem[], schemas: readonly PrefixSchema[]): readonly BatchItem[] {
  if (schemas.length === 0) return items;
  let checked = items;
  for (let index = 0; index < items.length; index += 1) {
    const item = items[index]!;
    if (!('change' in item) || item.change.op !== 'put') continue;
    const { change } = item;
    let outputs: TypedOutput[] | undefined;
    try {
      outputs = checkSchemas(schemas, change.key, change.value);
    } catch (error) {
      // A schema that cannot be used is the deployment's fault: the invocation fails.
      if (!(error instanceof SchemaMismatchError)) throw error;
      const { correlationId } = change;
      if (checked === items) checked = [...items];
      (checked as BatchItem[])[index] = {
        id: item.id,
        rejected: {
          ...rejection(error, change.source, item.raw?.() ?? JSON.stringify(change)),
          ...(correlationId === undefined ? {} : { correlationId }),
        },
      };
      continue;
    }
    // The change is the normalizer's own new object, seen by nothing else yet: its outputs are
    // added in place rather than by a copy of every change.
    if (outputs !== undefined) (change as { [TYPED_VALUES]?: readonly TypedOutput[] })[TYPED_VALUES] = outputs;
  }
  return checked;
}
