import { SendMessageBatchCommand, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { toError } from '../errors.ts';

/** SQS limits for one SendMessageBatch call. */
export const SQS_MAX_BATCH_ENTRIES = 10;
/** The largest total payload of one SendMessageBatch call (and of one message), in bytes. */
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

/** The part of an SQS client the batch sender uses, so a counting stand-in can replace it. */
export interface SqsBatchClient {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

/** How failed entries are sent again. */
export interface RetryPolicy {
  /** Attempts per entry including the first; default 5. */
  readonly maxAttempts?: number;
  /** First backoff ceiling; each attempt doubles it; default 50 ms. */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling; default 2000 ms. */
  readonly maxDelayMs?: number;
  /** Source of randomness in [0, 1), for tests. */
  readonly random?: () => number;
  /** Waits, for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Chunks sent at the same time; default 4. */
  readonly concurrency?: number;
}

/** What could not be sent after every attempt. */
export interface BatchSendResult {
  /** Bodies sent. */
  readonly sent: number;
  /** Indexes (into the given bodies) that were not sent. */
  readonly unsent: readonly number[];
  /** The last error seen per unsent entry kind (a call error or an entry error). */
  readonly lastError?: Error;
}

/**
 * Splits message bodies into SendMessageBatch chunks: at most 10 entries and 256 KiB of bodies
 * each, keeping order. A body larger than the limit on its own is put alone in a chunk (SQS then
 * refuses it and the caller reports it as unsent).
 */
export function chunkBodies(bodies: readonly string[], maxEntries = SQS_MAX_BATCH_ENTRIES, maxBytes = SQS_MAX_BATCH_BYTES): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  bodies.forEach((body, index) => {
    const size = Buffer.byteLength(body, 'utf8');
    if (current.length > 0 && (current.length >= maxEntries || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Sends message bodies with as few SendMessageBatch calls as the limits allow. Entries that fail
 * (the whole call failing, or single entries reported in `Failed`) are sent again, and only they, with
 * exponential backoff and full jitter, up to `maxAttempts`; entries SQS rejects as the sender's
 * fault are not retried, since sending them again cannot succeed.
 */
export async function sendBodies(sqs: SqsBatchClient, queueUrl: string, bodies: readonly string[], policy: RetryPolicy = {}): Promise<BatchSendResult> {
  const maxAttempts = Math.max(1, policy.maxAttempts ?? 5);
  const base = policy.baseDelayMs ?? 50;
  const cap = policy.maxDelayMs ?? 2_000;
  const random = policy.random ?? Math.random;
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const unsent: number[] = [];
  let lastError: Error | undefined;

  const sendChunk = async (chunk: readonly number[]): Promise<void> => {
    let pending = [...chunk];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const retry: number[] = [];
      try {
        const output = await sqs.send(new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((index) => ({ Id: String(index), MessageBody: bodies[index]! })),
        }));
        for (const failed of output.Failed ?? []) {
          const index = Number(failed.Id);
          lastError = new Error(`SQS refused entry: ${failed.Code ?? 'unknown'} ${failed.Message ?? ''}`.trim());
          if (failed.SenderFault) unsent.push(index);
          else retry.push(index);
        }
        // An entry neither confirmed nor refused is not known to be stored: send it again.
        const answered = new Set([...(output.Successful ?? []), ...(output.Failed ?? [])].map((entry) => Number(entry.Id)));
        for (const index of pending) if (!answered.has(index)) retry.push(index);
      } catch (thrown) {
        lastError = toError(thrown);
        retry.push(...pending);
      }
      if (retry.length === 0) return;
      if (attempt >= maxAttempts) {
        unsent.push(...retry);
        return;
      }
      // Full jitter: a random wait up to an exponentially growing ceiling spreads retries out.
      await sleep(Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1))));
      pending = retry;
    }
  };

  const chunks = chunkBodies(bodies);
  const concurrency = Math.max(1, policy.concurrency ?? 4);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, async () => {
    while (next < chunks.length) await sendChunk(chunks[next++]!);
  }));
  unsent.sort((a, b) => a - b);
  return { sent: bodies.length - unsent.length, unsent, ...(lastError ? { lastError } : {}) };
}
