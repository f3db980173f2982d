import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../aws/clients.ts';
import { sqsClient } from '../aws/clients/sqs.ts';
import { DatasyncError, FeedbackTimeoutError } from '../errors.ts';
import { correlationIdsOf, parseFeedbackRecord } from './parse.ts';
import type { FeedbackRecord } from './record.ts';

/** How to read a feedback queue. */
export interface FeedbackReaderOptions {
  readonly queueUrl: string;
  /** AWS clients to use (only `sqs`); default the process-wide SQS client. */
  readonly clients?: Partial<AwsClients>;
  /** Long-poll wait per receive, 0-20 s; default 10. */
  readonly waitTimeSeconds?: number;
  /**
   * How long a received message stays hidden from other readers, in seconds; default 10. Messages
   * `waitFor` does not want are left on the queue and show up again after this time.
   */
  readonly visibilityTimeoutSeconds?: number;
}

/** A message on the feedback queue that is not a feedback record. It is left on the queue (its redrive policy applies). */
export interface MalformedFeedback {
  readonly messageId: string;
  readonly error: DatasyncError;
}

/** What one receive got. */
export interface FeedbackBatch {
  /** The records, which are now deleted from the queue. */
  readonly records: FeedbackRecord[];
  readonly malformed: MalformedFeedback[];
}

/** Options of `waitFor`. */
export interface WaitForOptions {
  /** How long to wait for all of them. */
  readonly timeoutMs: number;
  /**
   * Plugins each correlation id must hear from; without it, the first record for an id settles
   * it. A `rejected` record settles an id whatever the plugins, since no plugin will report.
   */
  readonly plugins?: readonly string[];
  readonly signal?: AbortSignal;
}

/** Options of `stream`. */
export interface StreamOptions {
  /** Ends the stream when aborted. */
  readonly signal?: AbortSignal;
  /** End once a receive finds the queue empty (drain) instead of following it. */
  readonly untilEmpty?: boolean;
  /** Told about messages that are not feedback records; without it the stream throws on one. */
  readonly onMalformed?: (malformed: MalformedFeedback) => void;
}

/** Reads the feedback queue: the results the plugins made of published changes. */
export interface FeedbackReader {
  /** One long-poll receive: parses, deletes and returns the feedback records (up to 10). */
  receive(options?: { waitTimeSeconds?: number; signal?: AbortSignal }): Promise<FeedbackBatch>;
  /**
   * Waits for the feedback of the given correlation ids and returns each id's records (deleted
   * from the queue). Records of other ids are left on the queue for other readers.
   * @throws FeedbackTimeoutError naming what is still missing when `timeoutMs` passes.
   */
  waitFor(correlationIds: Iterable<string>, options: WaitForOptions): Promise<Map<string, FeedbackRecord[]>>;
  /** The records as they arrive, each deleted from the queue once read. */
  stream(options?: StreamOptions): AsyncGenerator<FeedbackRecord, void, undefined>;
}

/** Creates a reader of the feedback queue at `queueUrl`. */
export function createFeedbackReader(options: FeedbackReaderOptions): FeedbackReader {
  if (!options.queueUrl) throw new DatasyncError('CONFIGURATION', 'the feedback reader needs a queueUrl');
  const sqs = options.clients?.sqs ?? sqsClient();
  const waitTimeSeconds = clamp(options.waitTimeSeconds ?? 10, 0, 20);
  const visibility = options.visibilityTimeoutSeconds ?? 10;

  const receiveRaw = async (wait: number, signal?: AbortSignal): Promise<Message[]> => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: wait,
        VisibilityTimeout: visibility,
      }),
      signal ? { abortSignal: signal } : {},
    );
    return Messages;
  };

  const remove = async (messages: readonly Message[]): Promise<void> => {
    if (messages.length === 0) return;
    const response = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
    if ((response.Failed ?? []).length > 0) {
      const first = response.Failed![0]!;
      // Not deleting means the record comes again later (a duplicate), never that it is lost.
      throw new DatasyncError(
        'FEEDBACK_FAILED',
        `could not delete ${response.Failed!.length} feedback message(s): ${first.Code}: ${first.Message ?? ''}`,
        {
          details: { queueUrl: options.queueUrl, failed: response.Failed!.length },
        },
      );
    }
  };

  const parse = (messages: readonly Message[]) => {
    const parsed: Array<{ message: Message; record: FeedbackRecord }> = [];
    const malformed: MalformedFeedback[] = [];
    for (const message of messages) {
      try {
        parsed.push({ message, record: parseFeedbackRecord(message.Body ?? '') });
      } catch (error) {
        malformed.push({ messageId: message.MessageId ?? '?', error: error as DatasyncError });
      }
    }
    return { parsed, malformed };
  };

  const receive: FeedbackReader['receive'] = async (receiveOptions = {}) => {
    const { parsed, malformed } = parse(
      await receiveRaw(clamp(receiveOptions.waitTimeSeconds ?? waitTimeSeconds, 0, 20), receiveOptions.signal),
    );
    await remove(parsed.map((entry) => entry.message));
    return { records: parsed.map((entry) => entry.record), malformed };
  };

  return {
    receive,

    async waitFor(correlationIds, waitOptions) {
      const wanted = new Map<string, FeedbackRecord[]>([...correlationIds].map((id) => [id, []]));
      const plugins = waitOptions.plugins ?? [];
      const fromPlugins = (records: readonly FeedbackRecord[]) => records.filter((record) => 'plugin' in record);
      // An id is settled by its refusal, by a write that did not happen (no plugin will report
      // it), or by the plugins' records: any one, or each plugin asked for.
      const settled = (id: string, records: readonly FeedbackRecord[]) =>
        records.some(
          (record) =>
            record.event === 'rejected' ||
            (record.event === 'stored' &&
              (record.status !== 'ok' || (record.skipped ?? []).some((ref) => ref.correlationId === id))),
        ) ||
        (plugins.length === 0
          ? fromPlugins(records).length > 0
          : plugins.every((plugin) => records.some((record) => 'plugin' in record && record.plugin === plugin)));
      const missing = () => [...wanted].filter(([id, records]) => !settled(id, records));
      const deadline = Date.now() + waitOptions.timeoutMs;

      while (missing().length > 0) {
        const remaining = deadline - Date.now();
        if (remaining <= 0 || waitOptions.signal?.aborted) {
          throw new FeedbackTimeoutError(
            waitOptions.timeoutMs,
            missing().map(([correlationId, records]) => ({
              correlationId,
              ...(plugins.length > 0
                ? {
                    plugins: plugins.filter(
                      (plugin) => !records.some((record) => 'plugin' in record && record.plugin === plugin),
                    ),
                  }
                : {}),
            })),
          );
        }
        const wait = Math.min(waitTimeSeconds, Math.floor(remaining / 1000));
        const signal = AbortSignal.any([
          AbortSignal.timeout(remaining + 1_000),
          ...(waitOptions.signal ? [waitOptions.signal] : []),
        ]);
        let messages: Message[];
        try {
          messages = await receiveRaw(wait, signal);
        } catch (error) {
          if (signal.aborted) continue; // the loop reports the timeout
          throw error;
        }
        const mine = parse(messages).parsed.filter(({ record }) =>
          [...correlationIdsOf(record)].some((id) => wanted.has(id)),
        );
        for (const { record } of mine) {
          for (const id of correlationIdsOf(record)) wanted.get(id)?.push(record);
        }
        await remove(mine.map((entry) => entry.message));
        if (messages.length === 0 && wait === 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(100, remaining)));
      }
      return wanted;
    },

    async *stream(streamOptions = {}) {
      const { signal } = streamOptions;
      while (!signal?.aborted) {
        let batch: FeedbackBatch;
        try {
          batch = await receive({
            ...(signal ? { signal } : {}),
            ...(streamOptions.untilEmpty ? { waitTimeSeconds: Math.min(1, waitTimeSeconds) } : {}),
          });
        } catch (error) {
          if (signal?.aborted) return;
          throw error;
        }
        yield* batch.records;
        for (const malformed of batch.malformed) {
          if (!streamOptions.onMalformed) throw malformed.error;
          streamOptions.onMalformed(malformed);
        }
        if (streamOptions.untilEmpty && batch.records.length === 0 && batch.malformed.length === 0) return;
      }
    },
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, Math.floor(value)));
}
