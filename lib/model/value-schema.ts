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

/** The result of one validation: the schema's output, or the issues it found. */
type Fit = { readonly value: unknown; readonly issues?: undefined } | { readonly issues: readonly SchemaIssue[] };

// Results are kept per value object and schema, so the value a source checked is not validated
// again when the plugin that declared the schema receives it. Values are read-only once checked.
const results = new WeakMap<object, Map<ValueSchema, Fit>>();

/**
 * Validates a value with a schema, synchronously.
 * @throws DatasyncError `CONFIGURATION` when the validator answers with a promise (an asynchronous
 *   check) or throws: that is a fault of the deployment, not of the input, so the source fails
 *   the invocation instead of refusing the change.
 */
export function fitValue(entry: PrefixSchema, value: unknown): Fit {
  const cacheable = value !== null && typeof value === 'object';
  const known = cacheable ? results.get(value)?.get(entry.schema) : undefined;
  if (known) return known;
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
  const fit: Fit = result.issues ? { issues: result.issues.map(issueOf) } : { value: result.value };
  if (cacheable) {
    const bySchema = results.get(value);
    if (bySchema) bySchema.set(entry.schema, fit);
    else results.set(value, new Map([[entry.schema, fit]]));
  }
  return fit;
}

/**
 * The schema's output for a value of `key`.
 * @throws SchemaMismatchError naming the key, the prefix and the validator's issues.
 */
export function typedValue(entry: PrefixSchema, key: string, value: unknown): unknown {
  const fit = fitValue(entry, value);
  if (fit.issues) throw new SchemaMismatchError(key, entry.prefix, fit.issues, { plugin: entry.plugin });
  return fit.value;
}

/**
 * Checks a value against every schema whose prefix covers its key: where prefixes of plugins
 * with different schemas overlap, every one of them must accept it.
 * @throws SchemaMismatchError for the first schema that refuses it.
 */
export function checkSchemas(schemas: readonly PrefixSchema[], key: string, value: unknown): void {
  for (const entry of schemas) if (keyMatchesPrefix(key, entry.prefix)) typedValue(entry, key, value);
}

function issueOf(issue: StandardSchemaV1.Issue): SchemaIssue {
  const path = issue.path?.map((segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
  return {
    message: issue.message,
    ...(path && path.length > 0 ? { path: path.map((segment) => String(segment)) } : {}),
  };
}

function describe(entry: PrefixSchema): string {
  return entry.plugin ? `plugin "${entry.plugin}" (prefix ${entry.prefix})` : `prefix ${entry.prefix}`;
}
