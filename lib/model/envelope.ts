import { InvalidChangeError } from '../errors.ts';
import type { ChangeOp } from './change.ts';
import { assertJsonSafe, type JsonValue } from './json-value.ts';
import { validateKey } from './key.ts';
import { toRevision, type Revision } from './revision.ts';

/**
 * The message form of one change on a bus: the body of an SQS message and the `detail` of an
 * EventBridge event. The publisher writes it and the SQS and EventBridge sources read it.
 *
 * ```json
 * {"datasync":1,"key":"config/interfaces/eth0","op":"put","value":{"mtu":9000},
 *  "revision":"1764129600000001","correlationId":"c-42","time":"2026-11-26T04:00:00.000Z"}
 * ```
 * `value` is required for `put` and absent for `delete`; `revision`, `correlationId`, `time` and
 * `prevValue` are optional.
 */
export interface ChangeEnvelope {
  /** The envelope's schema version. */
  readonly datasync: typeof ENVELOPE_VERSION;
  readonly key: string;
  readonly op: ChangeOp;
  readonly value?: JsonValue;
  readonly prevValue?: JsonValue;
  readonly revision?: Revision;
  readonly correlationId?: string;
  readonly time?: string;
}

/** The envelope schema version. */
export const ENVELOPE_VERSION = 1;

/** The EventBridge `source` of change events, unless a publisher or source is configured otherwise. */
export const DEFAULT_EVENT_SOURCE = 'serverless-datasync';

/** The EventBridge `detail-type` of change events, unless configured otherwise. */
export const DEFAULT_EVENT_DETAIL_TYPE = 'datasync.change';

const MEMBERS = new Set(['datasync', 'key', 'op', 'value', 'prevValue', 'revision', 'correlationId', 'time']);
const MAX_CORRELATION_ID = 128;

/** Builds an envelope, validating key, value and revision by the core rules. */
export function toEnvelope(input: {
  key: string;
  op: ChangeOp;
  value?: JsonValue;
  prevValue?: JsonValue;
  revision?: Revision | number;
  correlationId?: string;
  time?: string;
}): ChangeEnvelope {
  return parseEnvelope({
    datasync: ENVELOPE_VERSION,
    ...input,
    ...(input.revision === undefined ? {} : { revision: String(input.revision) }),
  });
}

/**
 * Reads an envelope from parsed JSON, checking every rule: known version, valid key, known op,
 * value present exactly for `put`, JSON-safe and not oversized, decimal revision.
 * @throws InvalidChangeError with a reason a person can act on.
 */
export function parseEnvelope(input: unknown): ChangeEnvelope {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidChangeError(
      `change must be a JSON object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
    );
  }
  const record = input as Record<string, unknown>;
  if (record.datasync !== ENVELOPE_VERSION) {
    throw new InvalidChangeError(
      `change must have "datasync": ${ENVELOPE_VERSION}, got ${JSON.stringify(record.datasync) ?? 'nothing'}`,
    );
  }
  const unknown = Object.keys(record).filter((name) => !MEMBERS.has(name));
  if (unknown.length > 0)
    throw new InvalidChangeError(`change has unknown member(s): ${unknown.slice(0, 5).join(', ')}`);
  const key = wrap(() => validateKey(record.key), 'key');
  if (record.op !== 'put' && record.op !== 'delete') {
    throw new InvalidChangeError(`op must be "put" or "delete", got ${JSON.stringify(record.op) ?? 'nothing'}`, {
      details: { key },
    });
  }
  if (record.op === 'put' && !('value' in record))
    throw new InvalidChangeError('a put needs a value', { details: { key } });
  if (record.op === 'delete' && 'value' in record)
    throw new InvalidChangeError('a delete carries no value', { details: { key } });
  if ('value' in record) wrap(() => assertJsonSafe(record.value), 'value', key);
  if ('prevValue' in record) wrap(() => assertJsonSafe(record.prevValue), 'prevValue', key);
  const revision = record.revision === undefined ? undefined : wrap(() => toRevision(record.revision), 'revision', key);
  for (const name of ['correlationId', 'time'] as const) {
    const member = record[name];
    if (
      member !== undefined &&
      (typeof member !== 'string' || member.length === 0 || member.length > MAX_CORRELATION_ID)
    ) {
      throw new InvalidChangeError(`${name} must be a non-empty string of at most ${MAX_CORRELATION_ID} characters`, {
        details: { key },
      });
    }
  }
  if (typeof record.time === 'string' && Number.isNaN(Date.parse(record.time))) {
    throw new InvalidChangeError(`time must be an ISO-8601 timestamp, got ${JSON.stringify(record.time)}`, {
      details: { key },
    });
  }
  return {
    datasync: ENVELOPE_VERSION,
    key,
    op: record.op,
    ...('value' in record ? { value: record.value as JsonValue } : {}),
    ...('prevValue' in record ? { prevValue: record.prevValue as JsonValue } : {}),
    ...(revision === undefined ? {} : { revision }),
    ...(typeof record.correlationId === 'string' ? { correlationId: record.correlationId } : {}),
    ...(typeof record.time === 'string' ? { time: record.time } : {}),
  };
}

function wrap<T>(check: () => T, member: string, key?: string): T {
  try {
    return check();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InvalidChangeError(`${member}: ${reason}`, { cause, details: key === undefined ? {} : { key } });
  }
}
