import type { StandardSchemaV1 } from '@standard-schema/spec';
import { DatasyncError, SchemaMismatchError, toError, type SchemaIssue } from '../errors.ts';
import type { JsonValue } from './json-value.ts';
import { keyMatchesPrefix } from './key.ts';

/**
 * Typed values: a plugin may declare a schema for the values under its prefixes, with any
 * validator that implements Standard Schema (valibot, zod, arktype, …). The library only speaks the
 * interface (`@standard-schema/spec` is types only), so it bundles no validator of its own.
 */

/** A validator of values, as Standard Schema describes one. */
export type ValueSchema = StandardSchemaV1;

/** A schema and the prefix whose keys' values it checks (every prefix of a plugin with a schema). */
export interface PrefixSchema {
  readonly prefix: string;
  readonly schema: ValueSchema;
  /** The plugin that declared it, named in refusals. */
  readonly plugin?: string;
}

/**
 * The type of the values a plugin with schema `S` receives: the schema's output type, or plain
 * JSON when it has none (or when the schema's type is not known statically).
 */
export type ValueOf<S extends ValueSchema | undefined> = [S] extends [undefined]
  ? JsonValue
  : ValueSchema extends S
    ? JsonValue
    : StandardSchemaV1.InferOutput<NonNullable<S>>;

/** The type a sender writes under a schema: its input type. */
export type InputOf<S extends ValueSchema> = StandardSchemaV1.InferInput<S>;

/**
 * Validates a value with a schema, synchronously.
 * @throws DatasyncError `CONFIGURATION` when the validator answers with a promise (an asynchronous
 *   check) or throws: that is a fault of the deployment, not of the input, so the source fails
 *   the invocation instead of refusing the change.
 */
export function fitValue(entry: PrefixSchema, value: unknown): StandardSchemaV1.Result<unknown> {
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;
  try {
    result = entry.schema['~standard'].validate(value);
  } catch (thrown) {
    throw new DatasyncError('CONFIGURATION', `the schema of ${describe(entry)} threw: ${toError(thrown).message}`, {
      cause: thrown,
      details: { prefix: entry.prefix, ...(entry.plugin ? { plugin: entry.plugin } : {}) },
    });
  }
  if (result instanceof Promise) {
    // Nobody awaits it: a rejection later must not end the process.
    result.catch(() => {});
    throw new DatasyncError(
      'CONFIGURATION',
      `the schema of ${describe(entry)} validates asynchronously: datasync checks values synchronously at every edge, ` +
        'so use a schema without asynchronous checks',
      { details: { prefix: entry.prefix, ...(entry.plugin ? { plugin: entry.plugin } : {}) } },
    );
  }
  return result;
}

/**
 * The schema's output for a value of `key`.
 * @throws SchemaMismatchError naming the key, the prefix and the validator's issues.
 */
export function typedValue(entry: PrefixSchema, key: string, value: unknown): unknown {
  const fit = fitValue(entry, value);
  if (fit.issues) throw mismatch(entry, key, fit.issues);
  return fit.value;
}

/** A schema's output for a change's value, as the batch source that checked it computed it. */
export interface TypedOutput {
  readonly schema: ValueSchema;
  readonly value: unknown;
  /** None: only a value that fits has an output (read like a successful validation). */
  readonly issues?: undefined;
}

/**
 * Where a checked change carries the outputs its source computed, so the plugin that declared a
 * schema is handed the output without a second validation. A symbol: JSON and feedback leave it
 * out, and it lives as long as the change. (Remembering outputs apart from the changes, in a
 * WeakMap or a bounded Map, kept values alive past the young generation and cost more CPU than
 * validating again, in `npm run bench:stream`.)
 */
export const TYPED_VALUES: unique symbol = Symbol('datasync.typedValues');

/** A change that may carry typed outputs (one a batch source checked). */
export interface CarriesTypedValues {
  readonly [TYPED_VALUES]?: readonly TypedOutput[];
}

/**
 * Checks a value against every schema whose prefix covers its key: where prefixes of plugins
 * with different schemas overlap, every one of them must accept it.
 * @returns each covering schema's output, or undefined when none covers the key.
 * @throws SchemaMismatchError for the first schema that refuses it.
 */
export function checkSchemas(schemas: readonly PrefixSchema[], key: string, value: unknown): TypedOutput[] | undefined {
  let outputs: TypedOutput[] | undefined;
  for (const entry of schemas) {
    if (!keyMatchesPrefix(key, entry.prefix)) continue;
    const output = { schema: entry.schema, value: typedValue(entry, key, value) };
    if (outputs) outputs.push(output);
    else outputs = [output];
  }
  return outputs;
}

/** The refusal of a value of `key` that `entry`'s schema found `issues` with. */
export function mismatch(
  entry: PrefixSchema,
  key: string,
  issues: readonly StandardSchemaV1.Issue[],
): SchemaMismatchError {
  return new SchemaMismatchError(key, entry.prefix, issues.map(issueOf), { plugin: entry.plugin });
}

function issueOf(issue: StandardSchemaV1.Issue): SchemaIssue {
  const path = issue.path?.map((segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
  return {
    message: issue.message,
    ...(path && path.length > 0 ? { path: path.map((segment) => String(segment)) } : {}),
  };
}

function describe(entry: PrefixSchema): string {
  if (!entry.plugin) return `prefix ${entry.prefix}`;
  return entry.prefix ? `plugin "${entry.plugin}" (prefix ${entry.prefix})` : `plugin "${entry.plugin}"`;
}
