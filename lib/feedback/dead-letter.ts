import { DeadLetterWriteError } from '../errors.ts';
import type { ChangeSource } from '../model/change.ts';
import type { FeedbackError } from './record.ts';
import { sendBodiesOrThrow, SQS_MAX_BATCH_BYTES, type SqsQueueOptions } from '../aws/sqs-batch.ts';

/** One piece of input a source refused, with why. */
export interface RejectedInput {
  /** Where it came from (table/queue/bus/route, and the record's own id). */
  readonly source: ChangeSource;
  /** Why it was refused. */
  readonly reason: FeedbackError;
  /** The original input as text: an SQS body as received, a stream record or event as JSON. */
  readonly raw: string;
  /** The key, when one could be read. */
  readonly key?: string;
  /** The correlation id the input carried, when it could be read. */
  readonly correlationId?: string;
  /** When it was refused (ISO-8601). */
  readonly time: string;
}

/** The dead-letter message schema version. */
export const DEAD_LETTER_VERSION = 1;

/**
 * The body of a dead-letter message: the rejected input untouched in `raw` plus the reason, so a
 * person can fix and replay it. When `raw` would not fit an SQS message it is cut and
 * `rawTruncated` says how many bytes the original had.
 */
export interface DeadLetterMessage {
  readonly version: typeof DEAD_LETTER_VERSION;
  readonly event: 'rejected';
  readonly source: ChangeSource;
  readonly key?: string;
  readonly correlationId?: string;
  readonly reason: FeedbackError;
  readonly time: string;
  readonly raw: string;
  readonly rawTruncated?: { readonly bytes: number };
}

/** Where rejected input goes. It must store every entry or throw. */
export interface DeadLetterWriter {
  send(rejected: readonly RejectedInput[]): Promise<void>;
}

/** Options of the SQS dead-letter writer. */
export interface SqsDeadLetterWriterOptions extends SqsQueueOptions {
  /** The dead-letter queue's URL (`DATASYNC_DEAD_LETTER_QUEUE_URL`). */
  readonly queueUrl: string;
}

/**
 * Sends rejected input to a dead-letter SQS queue in SendMessageBatch calls, resending only
 * failed entries. Throws {@link DeadLetterWriteError} when entries still cannot be written, so the
 * invocation fails and the input is delivered again rather than lost.
 */
export class SqsDeadLetterWriter implements DeadLetterWriter {
  readonly #options: SqsDeadLetterWriterOptions;

  constructor(options: SqsDeadLetterWriterOptions) {
    this.#options = options;
  }

  async send(rejected: readonly RejectedInput[]): Promise<void> {
    await sendBodiesOrThrow(
      this.#options,
      rejected.map((entry) => deadLetterBody(entry)),
      (unwritten, total, options) => new DeadLetterWriteError(unwritten, total, options),
    );
  }
}

/** The JSON text of a dead-letter message, cutting `raw` when the whole would pass `maxBytes`. */
export function deadLetterBody(entry: RejectedInput, maxBytes = SQS_MAX_BATCH_BYTES): string {
  const message: DeadLetterMessage = {
    version: DEAD_LETTER_VERSION,
    event: 'rejected',
    source: entry.source,
    ...(entry.key === undefined ? {} : { key: entry.key }),
    ...(entry.correlationId === undefined ? {} : { correlationId: entry.correlationId }),
    reason: entry.reason,
    time: entry.time,
    raw: entry.raw,
  };
  const body = JSON.stringify(message);
  const size = Buffer.byteLength(body, 'utf8');
  if (size <= maxBytes) return body;
  const rawBytes = Buffer.byteLength(entry.raw, 'utf8');
  // JSON escaping can make the text longer than the raw bytes, so cut with a margin and re-check.
  let keep = Math.max(0, rawBytes - (size - maxBytes) - 256);
  for (;;) {
    const cut = Buffer.from(entry.raw, 'utf8')
      .subarray(0, keep)
      .toString('utf8')
      .replace(/\uFFFD$/, '');
    const shorter = JSON.stringify({ ...message, raw: cut, rawTruncated: { bytes: rawBytes } });
    if (Buffer.byteLength(shorter, 'utf8') <= maxBytes || keep === 0) return shorter;
    keep = Math.floor(keep * 0.9);
  }
}
