import { SendMessageBatchCommand, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { chunk, forEachConcurrently } from './batch.ts';
import { DEFAULT_RETRY_POLICY, sendWithRetry, type EntryFailure, type RetryPolicy, type RetryTiming } from './retry.ts';

/** Entries per SendMessageBatch call. */
export const SQS_MAX_BATCH_ENTRIES = 10;
/** The largest total payload of one SendMessageBatch call (and of one message), in bytes. */
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

/** The part of an SQS client the batch sender uses, so a counting stand-in can replace it. */
export interface SqsBatchClient {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

/** One message to send. */
export interface SqsMessage {
  readonly body: string;
  /** FIFO queues: the message group. */
  readonly groupId?: string;
  /** FIFO queues: the deduplication id. */
  readonly deduplicationId?: string;
}

/** A message SQS stored, and the id it gave it. */
export interface SentMessage<M extends SqsMessage> {
  readonly message: M;
  readonly messageId?: string;
}

/** How messages are sent: the retry policy (partial overrides) and timing, plus parallel calls. */
export interface SqsSendOptions extends Partial<RetryPolicy>, RetryTiming {
  /** SendMessageBatch calls in flight at once; default 1, which keeps a FIFO group in order. */
  readonly concurrency?: number;
}

/** What `sendMessages` achieved: every message is either sent or failed for good. */
export interface SqsSendOutcome<M extends SqsMessage> {
  readonly sent: SentMessage<M>[];
  readonly failed: EntryFailure<M>[];
}

interface Indexed<M> {
  readonly index: number;
  readonly message: M;
}

/**
 * Sends messages with as few SendMessageBatch calls as the limits allow (10 entries and 256 KiB
 * of bodies a call): entries a call reports failed are sent again, and only they; entries SQS
 * refuses as the sender's fault are not, since sending them again cannot succeed. A call that
 * throws was already retried by the SDK, and its entries are reported unsent.
 */
export async function sendMessages<M extends SqsMessage>(
  sqs: SqsBatchClient,
  queueUrl: string,
  messages: readonly M[],
  options: SqsSendOptions = {},
): Promise<SqsSendOutcome<M>> {
  const { concurrency = 1, sleep, random, ...overrides } = options;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(overrides) };
  const timing: RetryTiming = { ...(sleep ? { sleep } : {}), ...(random ? { random } : {}) };
  const sent: SentMessage<M>[] = [];
  const failed: EntryFailure<M>[] = [];

  const send = async (entries: Indexed<M>[]) => {
    const output = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map(({ index, message }) => ({
          Id: `c${index}`,
          MessageBody: message.body,
          ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
          ...(message.deduplicationId === undefined ? {} : { MessageDeduplicationId: message.deduplicationId }),
        })),
      }),
    );
    const unanswered = new Map(entries.map((entry) => [`c${entry.index}`, entry]));
    const delivered: SentMessage<M>[] = [];
    const refused: EntryFailure<Indexed<M>>[] = [];
    for (const success of output.Successful ?? []) {
      const entry = unanswered.get(success.Id!);
      if (!entry) continue;
      unanswered.delete(success.Id!);
      delivered.push({ message: entry.message, ...(success.MessageId ? { messageId: success.MessageId } : {}) });
    }
    for (const failure of output.Failed ?? []) {
      const entry = unanswered.get(failure.Id!);
      if (!entry) continue;
      unanswered.delete(failure.Id!);
      refused.push({
        entry,
        retryable: !failure.SenderFault,
        reason: `${failure.Code ?? 'Failed'}: ${failure.Message ?? 'no message'}`,
        ...(failure.Code ? { errorCode: failure.Code } : {}),
      });
    }
    // An entry neither confirmed nor refused is not known to be stored: send it again.
    for (const entry of unanswered.values())
      refused.push({ entry, retryable: true, reason: 'SendMessageBatch gave no result for the entry' });
    return { delivered, failed: refused };
  };

  const indexed = messages.map((message, index) => ({ index, message }));
  const batches = chunk(indexed, SQS_MAX_BATCH_ENTRIES, SQS_MAX_BATCH_BYTES, (entry) =>
    Buffer.byteLength(entry.message.body, 'utf8'),
  );
  await forEachConcurrently(batches, concurrency, async (batch) => {
    const outcome = await sendWithRetry(batch, send, policy, timing);
    sent.push(...outcome.delivered);
    failed.push(...outcome.failed.map((failure) => ({ ...failure, entry: failure.entry.message })));
  });
  return { sent, failed };
}

/** What `sendBodies` could not send after every attempt. */
export interface BatchSendResult {
  /** Bodies sent. */
  readonly sent: number;
  /** Indexes (into the given bodies) that were not sent. */
  readonly unsent: readonly number[];
  /** The error of one unsent entry: the thrown error, or SQS's refusal. */
  readonly lastError?: Error;
}

/**
 * Sends plain message bodies (feedback records, dead letters) with {@link sendMessages}, four
 * calls at a time and five attempts by default, and reports which bodies were not sent.
 */
export async function sendBodies(
  sqs: SqsBatchClient,
  queueUrl: string,
  bodies: readonly string[],
  options: SqsSendOptions = {},
): Promise<BatchSendResult> {
  const messages = bodies.map((body, index) => ({ body, index }));
  const { failed } = await sendMessages(sqs, queueUrl, messages, {
    maxAttempts: 5,
    concurrency: 4,
    ...definedOnly(options),
  });
  const unsent = failed.map((failure) => failure.entry.index).sort((a, b) => a - b);
  const last = failed.at(-1);
  const lastError =
    last === undefined
      ? undefined
      : last.cause instanceof Error
        ? last.cause
        : new Error(`SQS refused entry: ${last.reason}`);
  return { sent: bodies.length - unsent.length, unsent, ...(lastError ? { lastError } : {}) };
}

/** Where a queue writer sends its messages, and how it retries. */
export interface SqsQueueOptions extends SqsSendOptions {
  /** The SQS client (normally `sqsClient()`). */
  readonly sqs: SqsBatchClient;
  /** The queue's URL. */
  readonly queueUrl: string;
}

/**
 * Sends every body to the options' queue (see {@link sendBodies}), or throws the error `fail`
 * makes from how many bodies were not sent, so the invocation fails and its input comes again.
 */
export async function sendBodiesOrThrow(
  options: SqsQueueOptions,
  bodies: readonly string[],
  fail: (unwritten: number, total: number, details: { cause?: unknown; details: Record<string, unknown> }) => Error,
): Promise<void> {
  if (bodies.length === 0) return;
  const { sqs, queueUrl, ...policy } = options;
  const result = await sendBodies(sqs, queueUrl, bodies, policy);
  if (result.unsent.length > 0) {
    throw fail(result.unsent.length, bodies.length, {
      ...(result.lastError ? { cause: result.lastError } : {}),
      details: { queueUrl },
    });
  }
}

/**
 * Splits message bodies into SendMessageBatch chunks (as indexes into `bodies`): at most 10
 * entries and 256 KiB of bodies each, keeping order.
 */
export function chunkBodies(
  bodies: readonly string[],
  maxEntries = SQS_MAX_BATCH_ENTRIES,
  maxBytes = SQS_MAX_BATCH_BYTES,
): number[][] {
  return chunk(
    bodies.map((_, index) => index),
    maxEntries,
    maxBytes,
    (index) => Buffer.byteLength(bodies[index]!, 'utf8'),
  );
}

// Options spread from a caller may hold `undefined` members; they must not hide the defaults.
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
