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
  | 'DUPLICATE_PLUGIN'
  | 'PLUGIN_CLOSED'
  | 'PLUGIN_FAILED'
  | 'PLUGIN_TIMEOUT'
  | 'FEEDBACK_FAILED'
  | 'PUBLISH_FAILED'
  | 'REVISION_CONFLICT'
  | 'CONFIGURATION'
  | 'TABLE_NOT_FOUND'
  | 'SCAN_FAILED'
  | 'STATE_FAILED'
  | 'RESYNC_INCOMPLETE'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_PLUGIN';

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
  constructor(message: string, details: Record<string, unknown> = {}, code: 'INVALID_KEY' | 'INVALID_PREFIX' = 'INVALID_KEY') {
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
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('INVALID_CHANGE', message, options);
  }
}

/** A plugin callback threw or rejected. The plugin's own error is the `cause`. */
export class PluginFailedError extends DatasyncError {
  constructor(plugin: string, cause: unknown) {
    super('PLUGIN_FAILED', `plugin "${plugin}" failed: ${describe(cause)}`, { cause, details: { plugin } });
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

/** Turns anything thrown into an `Error`, so non-Error throws are reported, not lost. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(`non-Error thrown: ${describe(thrown)}`, { cause: thrown });
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  try {
    return typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown);
  } catch {
    return String(thrown);
  }
}

/** A configured table does not exist (or cannot be described) where the resync looked for it. */
export class TableNotFoundError extends DatasyncError {
  constructor(table: string, cause?: unknown) {
    super('TABLE_NOT_FOUND', `table "${table}" does not exist or cannot be described`, { cause, details: { table } });
  }
}

/** The sync-state table could not be read or written; the work it guarded did not happen. */
export class StateFailedError extends DatasyncError {
  constructor(action: string, cause: unknown, details: Record<string, unknown> = {}) {
    super('STATE_FAILED', `sync state: could not ${action}`, { cause, details });
  }
}

/** A resync request (queue message, scheduled event or invoke payload) is malformed. */
export class InvalidResyncRequestError extends DatasyncError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('INVALID_REQUEST', message, options);
  }
}
