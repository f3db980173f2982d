/**
 * Errors are typed values: every failure the library reports is a `DatasyncError` with a stable
 * `code`, so callers and feedback consumers can branch on it without parsing messages. The
 * original error, when there is one, travels as the standard `cause`.
 */

/** Stable identifiers of every error the library raises. */
export type DatasyncErrorCode =
  | 'INVALID_KEY'
  | 'INVALID_PREFIX'
  | 'INVALID_REVISION'
  | 'INVALID_VALUE'
  | 'INVALID_CHANGE'
  | 'SCHEMA_MISMATCH'
  | 'DUPLICATE_PLUGIN'
  | 'PLUGIN_CLOSED'
  | 'PLUGIN_FAILED'
  | 'PLUGIN_TIMEOUT'
  | 'FEEDBACK_FAILED'
  | 'DEAD_LETTER_FAILED'
  | 'FEEDBACK_TIMEOUT'
  | 'INVALID_FEEDBACK'
  | 'PUBLISH_FAILED'
  | 'VERSION_CONFLICT'
  | 'CONFIGURATION'
  | 'TABLE_NOT_FOUND'
  | 'SCAN_FAILED'
  | 'STATE_FAILED'
  | 'RESYNC_INCOMPLETE'
  | 'RESYNC_BUSY'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_PLUGIN'
  | 'RESYNC_TIMEOUT';

/** Base class of every error raised by serverless-datasync. */
export class DatasyncError extends Error {
  /** Stable machine-readable code. */
  readonly code: DatasyncErrorCode;
  /** Extra facts about the failure (never payload values). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: DatasyncErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...options.details });
  }
}

/** A key or prefix broke the key rules (see `validateKey`). */
export class InvalidKeyError extends DatasyncError {
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    code: 'INVALID_KEY' | 'INVALID_PREFIX' = 'INVALID_KEY',
  ) {
    super(code, message, { details });
  }
}

/** A revision is not an unsigned decimal integer. */
export class InvalidRevisionError extends DatasyncError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('INVALID_REVISION', message, { details });
  }
}

/** A value cannot be represented in the JSON-safe form. */
export class InvalidValueError extends DatasyncError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('INVALID_VALUE', message, { details });
  }
}

/** An incoming change (message, record, request) is malformed; it is rejected, never retried. */
export class InvalidChangeError extends DatasyncError {
  constructor(
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
    code: 'INVALID_CHANGE' | 'SCHEMA_MISMATCH' = 'INVALID_CHANGE',
  ) {
    super(code, message, options);
  }
}

/** One problem a schema found with a value, as its validator described it. */
export interface SchemaIssue {
  /** The validator's message. */
  readonly message: string;
  /** Where in the value, member by member (`["addresses", "0"]`); absent for the value itself. */
  readonly path?: readonly string[];
}

/**
 * A value does not fit the schema declared for its key's prefix. It is refused like any bad input
 * (an `InvalidChangeError` with its own code): the message names the key, the prefix and the
 * validator's issues, which `issues` also lists.
 */
export class SchemaMismatchError extends InvalidChangeError {
  readonly key: string;
  readonly prefix: string;
  /** The plugin that declared the schema, when known. */
  readonly plugin: string | undefined;
  readonly issues: readonly SchemaIssue[];

  constructor(
    key: string,
    prefix: string,
    issues: readonly SchemaIssue[],
    options: { plugin?: string | undefined; details?: Record<string, unknown> } = {},
  ) {
    const { plugin } = options;
    const listed = issues
      .slice(0, 5)
      .map((issue) => (issue.path ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
      .join('; ');
    super(
      `value of ${key} does not fit the schema of ${plugin ? `plugin "${plugin}" (${prefix})` : prefix}: ${listed}${
        issues.length > 5 ? `; and ${issues.length - 5} more issue(s)` : ''
      }`,
      { details: { ...options.details, key, prefix, ...(plugin ? { plugin } : {}), issues } },
      'SCHEMA_MISMATCH',
    );
    this.key = key;
    this.prefix = prefix;
    this.plugin = plugin;
    this.issues = Object.freeze([...issues]);
  }
}

/** A plugin callback threw or rejected. The plugin's own error is the `cause`. */
export class PluginFailedError extends DatasyncError {
  constructor(plugin: string, cause: unknown) {
    super('PLUGIN_FAILED', `plugin "${plugin}" failed: ${describe(cause)}`, { cause, details: { plugin } });
  }
}

/**
 * Thrown by a plugin's change callback that applied some of its changes and failed on others:
 * the changes it names failed (each with its own error) and are retried by the source; every
 * other change of the call counts as applied and is not delivered again. Any other error fails
 * the whole call.
 */
export class ChangeFailures extends DatasyncError {
  /** The changes that failed, each with its error. */
  readonly failures: ReadonlyArray<{ readonly key: string; readonly revision?: string; readonly error: unknown }>;

  constructor(
    failures: ReadonlyArray<{ readonly change: { key: string; revision?: string }; readonly error: unknown }>,
  ) {
    const first = failures[0];
    super(
      'PLUGIN_FAILED',
      `${failures.length} change(s) failed${first ? `, first ${first.change.key}: ${describe(first.error)}` : ''}`,
      { ...(first ? { cause: first.error } : {}), details: { failed: failures.length } },
    );
    this.failures = failures.map(({ change, error }) => ({
      key: change.key,
      ...(change.revision === undefined ? {} : { revision: change.revision }),
      error,
    }));
  }
}

/** A plugin callback did not settle within its time limit. A timeout is a failure. */
export class PluginTimeoutError extends DatasyncError {
  constructor(plugin: string, timeoutMs: number) {
    super('PLUGIN_TIMEOUT', `plugin "${plugin}" did not finish within ${timeoutMs} ms`, {
      details: { plugin, timeoutMs },
    });
  }
}

/**
 * Feedback records could not all be written to the feedback queue. The invocation must fail so
 * the source delivers the work again: results are never lost silently.
 */
export class FeedbackWriteError extends DatasyncError {
  /** How many records were not written. */
  readonly unwritten: number;

  constructor(unwritten: number, total: number, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(
      'FEEDBACK_FAILED',
      withCause(`${unwritten} of ${total} feedback record(s) could not be written`, options.cause),
      {
        ...options,
        details: { ...options.details, unwritten, total },
      },
    );
    this.unwritten = unwritten;
  }
}

/**
 * Rejected input could not all be sent to the dead-letter queue. The invocation fails so the input
 * is delivered again instead of being dropped.
 */
export class DeadLetterWriteError extends DatasyncError {
  /** How many rejected inputs were not written. */
  readonly unwritten: number;

  constructor(unwritten: number, total: number, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(
      'DEAD_LETTER_FAILED',
      withCause(`${unwritten} of ${total} rejected input(s) could not be dead-lettered`, options.cause),
      {
        ...options,
        details: { ...options.details, unwritten, total },
      },
    );
    this.unwritten = unwritten;
  }
}

/** One change a publisher could not publish, and why. */
export interface UnpublishedChange {
  readonly key: string;
  readonly op: 'put' | 'delete';
  /** Why the last attempt failed (the service's error code and message). */
  readonly reason: string;
  /** The service's error code for the entry, when it gave one. */
  readonly errorCode?: string;
  /** Whether the failure was transient and retries ran out (false: the service refused it outright). */
  readonly retryable: boolean;
}

/**
 * Some changes of a publish call could not be published: retries ran out or the service refused
 * them. `unpublished` lists exactly those changes; every other change of the call was published.
 */
export class PublishError extends DatasyncError {
  /** The changes that were not published, in the order they were given. */
  readonly unpublished: readonly UnpublishedChange[];
  /** How many changes of the call were published. */
  readonly publishedCount: number;

  constructor(target: string, unpublished: readonly UnpublishedChange[], publishedCount: number, cause?: unknown) {
    const sample = unpublished
      .slice(0, 3)
      .map((change) => `${change.op} ${change.key} (${change.reason})`)
      .join('; ');
    super(
      'PUBLISH_FAILED',
      `${unpublished.length} change(s) not published to ${target}: ${sample}${unpublished.length > 3 ? '; …' : ''}`,
      {
        cause,
        details: { target, unpublished, publishedCount },
      },
    );
    this.unpublished = Object.freeze([...unpublished]);
    this.publishedCount = publishedCount;
  }
}

/**
 * A write with an expected revision found the item at another revision (optimistic concurrency):
 * nothing was changed. `actualVersion` is the item's revision now (absent when it does not exist).
 */
export class VersionConflictError extends DatasyncError {
  readonly key: string;
  readonly expectedVersion: string;
  readonly actualVersion: string | undefined;

  constructor(key: string, expectedVersion: string, actualVersion: string | undefined, cause?: unknown) {
    super(
      'VERSION_CONFLICT',
      `${key} is at version ${actualVersion ?? 'none (absent or unversioned)'}, not the expected ${expectedVersion}; nothing was changed`,
      {
        cause,
        details: { key, expectedVersion, ...(actualVersion === undefined ? {} : { actualVersion }) },
      },
    );
    this.key = key;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** Feedback for some correlation ids did not arrive in time. A timeout is a failure. */
export class FeedbackTimeoutError extends DatasyncError {
  /** The correlation ids (with the plugins, when some were awaited) still missing. */
  readonly missing: ReadonlyArray<{ readonly correlationId: string; readonly plugins?: readonly string[] }>;

  constructor(timeoutMs: number, missing: ReadonlyArray<{ correlationId: string; plugins?: readonly string[] }>) {
    const list = missing
      .slice(0, 5)
      .map((m) => (m.plugins ? `${m.correlationId} (${m.plugins.join(', ')})` : m.correlationId))
      .join(', ');
    super(
      'FEEDBACK_TIMEOUT',
      `no feedback within ${timeoutMs} ms for ${missing.length} correlation id(s): ${list}${missing.length > 5 ? ', …' : ''}`,
      {
        details: { timeoutMs, missing },
      },
    );
    this.missing = missing;
  }
}

/** Turns anything thrown into an `Error`, so non-Error throws are reported, not lost. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(`non-Error thrown: ${describe(thrown)}`, { cause: thrown });
}

/**
 * `message`, then the wrapped error's message: an error that wraps another says why, so the first
 * line an operator reads (a Lambda error log, a CLI failure) names what actually went wrong.
 * @internal
 */
export function withCause(message: string, cause: unknown): string {
  return cause === undefined ? message : `${message}: ${describe(cause)}`;
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  try {
    return typeof thrown === 'string' ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    return String(thrown);
  }
}

/** A configured table does not exist (or cannot be described) where the resync looked for it. */
export class TableNotFoundError extends DatasyncError {
  constructor(table: string, cause?: unknown) {
    super('TABLE_NOT_FOUND', withCause(`table "${table}" does not exist or cannot be described`, cause), {
      cause,
      details: { table },
    });
  }
}

/** The sync-state table could not be read or written; the work it guarded did not happen. */
export class StateFailedError extends DatasyncError {
  constructor(action: string, cause: unknown, details: Record<string, unknown> = {}) {
    super('STATE_FAILED', withCause(`sync state: could not ${action}`, cause), { cause, details });
  }
}

/**
 * The state table holds a plugin's state in a layout this version cannot read (written by an
 * earlier or later version of serverless-datasync). Nothing is read or written for the plugin.
 */
export class StateLayoutError extends DatasyncError {
  constructor(table: string, plugin: string, layout: number, expected: number) {
    super(
      'CONFIGURATION',
      `the state table ${table} holds the state of plugin "${plugin}" in ${layout === 0 ? 'an earlier layout' : `layout ${layout}`}, which this version (layout ${expected}) cannot read: ` +
        'point DATASYNC_STATE_TABLE at a new, empty table and resync every plugin (see docs/state.md, "Earlier layouts")',
      { details: { table, plugin, layout, expected } },
    );
  }
}

/**
 * Another resync holds a plugin's resync lease: two resyncs of one plugin would hand it
 * interleaved pages and sweep deletions against each other's snapshot. `holder` is the resync
 * holding it and `until` when the lease runs out unless renewed (epoch ms); both are absent when
 * nobody holds it any more (a resync that took it over has finished).
 */
export class ResyncBusyError extends DatasyncError {
  readonly plugin: string;
  readonly holder: string | undefined;
  readonly until: number | undefined;

  /** `lost`: the resync held the plugin and found it taken over (rather than failing to take it). */
  constructor(plugin: string, resyncId: string, holder?: { resyncId: string; until: number }, lost = false) {
    const who = holder
      ? `resync ${holder.resyncId} holds it until ${new Date(holder.until).toISOString()}`
      : 'another resync took its lease over';
    super('RESYNC_BUSY', `resync ${resyncId} ${lost ? 'lost' : 'cannot take'} plugin "${plugin}": ${who}`, {
      details: { plugin, resyncId, ...(holder ? { holder: holder.resyncId, until: holder.until } : {}) },
    });
    this.plugin = plugin;
    this.holder = holder?.resyncId;
    this.until = holder?.until;
  }
}

/** A resync request (queue message, scheduled event or invoke payload) is malformed. */
export class InvalidResyncRequestError extends DatasyncError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('INVALID_REQUEST', message, options);
  }
}
