import {
  isRetryableByTrait,
  isServerError,
  isThrottlingError,
  isTransientError as isTransientNetworkError,
} from '@smithy/core/retry';
import { DatasyncError } from '../errors.ts';

/**
 * Resending what a batch API did not take. Every batch call (BatchWriteItem, BatchGetItem,
 * SendMessageBatch, PutEvents) can succeed for some entries and fail for others, and the SDK never
 * resends those entries: only they are sent again, after an exponential delay with full jitter so
 * that many throttled writers do not retry in lockstep. Whole calls that fail are retried by the
 * SDK, not here.
 */

/** How often and how patiently failed entries are resent. */
export interface RetryPolicy {
  /** Attempts per entry, the first one included. */
  readonly maxAttempts: number;
  /** The delay ceiling of the first retry; it doubles with each further retry. */
  readonly baseDelayMs: number;
  /** The largest delay ceiling. */
  readonly maxDelayMs: number;
}

/** Eight attempts spread over up to about six seconds. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };

/** How the engine waits and draws its jitter; tests replace both. */
export interface RetryTiming {
  /** Waits `ms` milliseconds; default a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Randomness in [0, 1) for the jitter; default `Math.random`. */
  readonly random?: () => number;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One entry a call did not accept. */
export interface EntryFailure<E> {
  readonly entry: E;
  /** The service's error code and message, or the thrown error's. */
  readonly reason: string;
  readonly errorCode?: string;
  /** Whether sending it again may succeed (throttling, internal errors) or is pointless (bad input). */
  readonly retryable: boolean;
  readonly cause?: unknown;
}

/** What one call (or the whole retry loop) achieved. */
export interface SendOutcome<E, R> {
  readonly delivered: R[];
  readonly failed: EntryFailure<E>[];
}

/**
 * The delay before retry number `retry` (1 for the first retry): uniformly random between 0 and
 * min(maxDelayMs, baseDelayMs * 2^(retry-1)) ("full jitter").
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Sends `entries` with `send`, then resends only the failed retryable entries until they are
 * delivered or `policy.maxAttempts` is used up. A call that throws has already been retried as a
 * whole by the SDK (`maxAttempts`, `retryMode` in lib/aws/clients/config.ts), so its entries fail
 * for good, marked retryable when the error was transient (the SDK's own classification).
 * Returns everything delivered and everything that failed; it never reports an entry as
 * delivered unless `send` did.
 */
export async function sendWithRetry<E, R>(
  entries: readonly E[],
  send: (entries: E[]) => Promise<SendOutcome<E, R>>,
  policy: RetryPolicy,
  timing: RetryTiming = {},
): Promise<SendOutcome<E, R>> {
  const sleep = timing.sleep ?? wait;
  const delivered: R[] = [];
  const failed: EntryFailure<E>[] = [];
  let pending = [...entries];
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    let outcome: SendOutcome<E, R>;
    try {
      outcome = await send(pending);
    } catch (cause) {
      const retryable = isTransientError(cause);
      const reason = describeAwsError(cause);
      const errorCode = (cause as { name?: unknown })?.name;
      failed.push(
        ...pending.map((entry) => ({
          entry,
          reason,
          retryable,
          cause,
          ...(typeof errorCode === 'string' ? { errorCode } : {}),
        })),
      );
      break;
    }
    delivered.push(...outcome.delivered);
    const again = outcome.failed.filter((failure) => failure.retryable);
    failed.push(...outcome.failed.filter((failure) => !failure.retryable));
    if (again.length === 0) break;
    if (attempt >= policy.maxAttempts) {
      failed.push(
        ...again.map((failure) => ({ ...failure, reason: `${failure.reason} (gave up after ${attempt} attempts)` })),
      );
      break;
    }
    pending = again.map((failure) => failure.entry);
    await sleep(backoffDelay(attempt, policy, timing.random));
  }
  return { delivered, failed };
}

/**
 * Whether an error thrown by an SDK call was transient (throttling, a server or network error) by
 * the rules the SDK retries on, rather than a refusal; the library's own errors never are.
 */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof DatasyncError) return false;
  const sdkError = error as Parameters<typeof isThrottlingError>[0];
  return (
    isRetryableByTrait(sdkError) ||
    isThrottlingError(sdkError) ||
    isTransientNetworkError(sdkError) ||
    isServerError(sdkError)
  );
}

/**
 * A short description of an error a call threw: its message, followed by the service's error
 * code when AWS answered with one (the SDK names its exceptions after those codes).
 */
function describeAwsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof DatasyncError) return `${error.message} [${error.code}]`;
  const fromService = '$metadata' in error && error.name && error.name !== 'Error';
  return fromService ? `${error.message} (${error.name})` : error.message || error.name;
}
