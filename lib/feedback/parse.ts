import { DatasyncError, withCause } from '../errors.ts';
import { FEEDBACK_VERSION, type FeedbackRecord } from './record.ts';

const EVENTS = new Set(['change', 'resync', 'stored', 'rejected']);
const STATUSES = new Set(['ok', 'error', 'timeout']);

/**
 * Reads one feedback message body, checking the members every record has (version, event,
 * status, time, and the plugin of change and resync records).
 * @throws DatasyncError `INVALID_FEEDBACK` saying what is wrong.
 */
export function parseFeedbackRecord(body: string): FeedbackRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw new DatasyncError('INVALID_FEEDBACK', withCause('feedback message is not JSON', cause), { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DatasyncError('INVALID_FEEDBACK', 'feedback message is not a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  const fail = (reason: string): never => {
    throw new DatasyncError('INVALID_FEEDBACK', `feedback message ${reason}`, { details: { event: record.event } });
  };
  if (record.version !== FEEDBACK_VERSION)
    fail(`has version ${JSON.stringify(record.version)}, not ${FEEDBACK_VERSION}`);
  if (!EVENTS.has(record.event as string)) fail(`has unknown event ${JSON.stringify(record.event)}`);
  if (!STATUSES.has(record.status as string)) fail(`has unknown status ${JSON.stringify(record.status)}`);
  if (typeof record.time !== 'string') fail('has no time');
  if ((record.event === 'change' || record.event === 'resync') && typeof record.plugin !== 'string')
    fail('has no plugin');
  if (record.correlationId !== undefined && typeof record.correlationId !== 'string')
    fail('has a correlationId that is not a string');
  return record as unknown as FeedbackRecord;
}

/** Every correlation id a record reports on: its own and those of the changes it covers. */
export function correlationIdsOf(record: FeedbackRecord): Set<string> {
  const ids = new Set<string>();
  if (record.correlationId) ids.add(record.correlationId);
  if (record.event === 'change' || record.event === 'stored') {
    const refs = [
      ...(record.changes ?? []),
      ...(record.skipped ?? []),
      ...(record.event === 'change' ? (record.held ?? []) : []),
    ];
    for (const ref of refs) {
      if (ref.correlationId) ids.add(ref.correlationId);
    }
  }
  return ids;
}
