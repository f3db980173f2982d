import { FeedbackWriteError } from '../errors.ts';
import type { ChangeFeedback, FeedbackRecord } from './record.ts';
import type { FeedbackSink } from './sink.ts';
import { sendBodiesOrThrow, SQS_MAX_BATCH_BYTES, type SqsQueueOptions } from '../aws/sqs-batch.ts';

/** Options of the SQS feedback writer. */
export interface SqsFeedbackWriterOptions extends SqsQueueOptions {
  /** The feedback queue's URL (`DATASYNC_FEEDBACK_QUEUE_URL`). */
  readonly queueUrl: string;
}

/**
 * The feedback writer: a {@link FeedbackSink} that writes each record as one message on the
 * feedback SQS queue, ten to a SendMessageBatch call (never one call per record), resending
 * only the entries that failed. When records still cannot be written it throws
 * {@link FeedbackWriteError}, so the invocation fails and the source delivers the work again.
 */
export class SqsFeedbackWriter implements FeedbackSink {
  readonly #options: SqsFeedbackWriterOptions;

  constructor(options: SqsFeedbackWriterOptions) {
    this.#options = options;
  }

  async write(records: readonly FeedbackRecord[]): Promise<void> {
    await sendBodiesOrThrow(
      this.#options,
      records.flatMap((record) => serializeFeedback(record)),
      (unwritten, total, options) => new FeedbackWriteError(unwritten, total, options),
    );
  }
}

/**
 * The message bodies of one feedback record: normally one. A change record listing so many
 * changes that it would pass the SQS message limit is split into parts, each with a share of the
 * lists and `part: {index, count}`, so no result is lost to the size limit.
 */
export function serializeFeedback(record: FeedbackRecord, maxBytes = SQS_MAX_BATCH_BYTES): string[] {
  const body = JSON.stringify(record);
  if (Buffer.byteLength(body, 'utf8') <= maxBytes || record.event !== 'change') return [body];
  const parts = splitChange(record, maxBytes);
  return parts.map((part, index) => JSON.stringify({ ...part, part: { index, count: parts.length } }));
}

function splitChange(record: ChangeFeedback, maxBytes: number): ChangeFeedback[] {
  // Room for the `part` member added afterwards.
  if (Buffer.byteLength(JSON.stringify(record), 'utf8') + 64 <= maxBytes) return [record];
  const lists = (['changes', 'skipped', 'held'] as const).map((name) => record[name] ?? []);
  const total = lists.reduce((sum, list) => sum + list.length, 0);
  if (total <= 1) return [record]; // cannot shrink further; SQS refuses it and the write fails loudly
  const half = (list: ChangeFeedback['changes'], first: boolean) =>
    first ? list.slice(0, Math.ceil(list.length / 2)) : list.slice(Math.ceil(list.length / 2));
  const build = (first: boolean): ChangeFeedback => {
    const [changes = [], skipped = [], held = []] = lists.map((list) => half(list, first));
    const { skipped: _skipped, held: _held, ...rest } = record;
    return { ...rest, changes, ...(skipped.length > 0 ? { skipped } : {}), ...(held.length > 0 ? { held } : {}) };
  };
  return [...splitChange(build(true), maxBytes), ...splitChange(build(false), maxBytes)];
}
