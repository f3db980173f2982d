import { DatasyncError, InvalidChangeError } from '../errors.ts';
import type { ChangeOp } from './change.ts';
import {
  asInvalidChange,
  type CheckedChange,
  checkChange,
  MAX_CORRELATION_ID,
  type ChangeRules,
} from './change-rules.ts';
import type { JsonValue } from './json-value.ts';
import { normalizeKey } from './key.ts';
import type { Revision } from './revision.ts';

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
export interface ChangeEnvelope extends CheckedChange {
  /** The envelope's schema version. */
  readonly datasync: typeof ENVELOPE_VERSION;
}

/** The envelope schema version. */
export const ENVELOPE_VERSION = 1;

/** The EventBridge `source` of change events, unless a publisher or source is configured otherwise. */
export const DEFAULT_EVENT_SOURCE = 'serverless-datasync';

/** The EventBridge `detail-type` of change events, unless configured otherwise. */
export const DEFAULT_EVENT_DETAIL_TYPE = 'datasync.change';

const MEMBERS = new Set(['datasync', 'key', 'op', 'value', 'prevValue', 'revision', 'correlationId', 'time']);

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
 * Reads an envelope from parsed JSON: known version, no unknown member, then every rule of a
 * change (`checkChange`): valid key (brought into NFC), known op, value present exactly for
 * `put`, JSON-safe and not oversized, decimal revision within `rules.maxRevision`, and for a key
 * under one of `rules.tables` a value that is the item's attributes.
 * @throws InvalidChangeError with a reason a person can act on; its details carry the key and the
 *   correlation id when the input had readable ones, so the refusal reaches the sender's feedback.
 */
export function parseEnvelope(input: unknown, rules: Omit<ChangeRules, 'origin'> = {}): ChangeEnvelope {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidChangeError(
      `change must be a JSON object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
    );
  }
  const record = input as Record<string, unknown>;
  try {
    if (record.datasync !== ENVELOPE_VERSION) {
      throw new InvalidChangeError(
        `change must have "datasync": ${ENVELOPE_VERSION}, got ${JSON.stringify(record.datasync) ?? 'nothing'}`,
      );
    }
    const unknown = Object.keys(record).filter((name) => !MEMBERS.has(name));
    if (unknown.length > 0) {
      throw new InvalidChangeError(`change has unknown member(s): ${unknown.slice(0, 5).join(', ')}`);
    }
    const change = checkChange(
      {
        key: record.key,
        op: record.op,
        hasValue: Object.hasOwn(record, 'value'),
        value: record.value,
        hasPrevValue: Object.hasOwn(record, 'prevValue'),
        prevValue: record.prevValue,
        revision: record.revision,
        correlationId: record.correlationId,
        time: record.time,
      },
      { ...rules, origin: 'client' },
    );
    return { datasync: ENVELOPE_VERSION, ...change };
  } catch (error) {
    throw withReadableIds(error, record);
  }
}

/**
 * The refusal with the key and correlation id the input carried, where they are readable (even
 * when another member broke a rule), so the sender's `waitFor` settles on the refusal.
 */
function withReadableIds(error: unknown, record: Record<string, unknown>): unknown {
  if (!(error instanceof DatasyncError)) return error;
  const { correlationId, key } = record;
  const extra: Record<string, unknown> = {};
  if (readableId(correlationId) && error.details.correlationId === undefined) extra.correlationId = correlationId;
  if (typeof key === 'string' && error.details.key === undefined) {
    try {
      extra.key = normalizeKey(key);
    } catch {
      // An unreadable key is not reported.
    }
  }
  return asInvalidChange(error, extra);
}

function readableId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_CORRELATION_ID &&
    !/[\u0000-\u001f\u007f-\u009f]/.test(id)
  );
}
