import { describe, expect, it } from '@jest/globals';
import { RevisionClock } from '../../lib/publish/clock.ts';
import { chunk } from '../../lib/aws/batch.ts';
import { backoffDelay, isTransientError, sendWithRetry, type RetryPolicy } from '../../lib/aws/retry.ts';
import { checkChange } from '../../lib/publish/pending.ts';
import { defaultMessageGroupId, deduplicationId } from '../../lib/publish/sqs.ts';
import { eventEntrySize } from '../../lib/publish/eventbridge.ts';
import { InvalidChangeError } from '../../lib/index.ts';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 };
const noSleep = async () => {};

describe('backoff', () => {
  it('draws each delay between zero and a ceiling that doubles up to the maximum', () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelay(retry, policy, () => 0.999999))).toEqual([99, 199, 249, 249]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });
});

describe('sendWithRetry', () => {
  it('resends only the failed retryable entries and stops at the attempt limit', async () => {
    const sent: number[][] = [];
    const outcome = await sendWithRetry(
      [1, 2, 3, 4],
      async (entries) => {
        sent.push(entries);
        return {
          delivered: entries.filter((n) => n % 2 === 0 || (n === 1 && sent.length === 2)),
          failed: entries
            .filter((n) => n === 3 || (n === 1 && sent.length === 1))
            .map((entry) => ({ entry, reason: 'busy', retryable: true })),
        };
      },
      policy,
      { sleep: noSleep },
    );
    expect(sent).toEqual([[1, 2, 3, 4], [1, 3], [3], [3]]);
    expect(outcome.delivered.sort()).toEqual([1, 2, 4]);
    expect(outcome.failed).toEqual([{ entry: 3, reason: 'busy (gave up after 4 attempts)', retryable: true }]);
  });

  it('never resends an entry refused for good, and fails every entry of a call that throws a client error', async () => {
    let calls = 0;
    const refused = await sendWithRetry(
      [1, 2],
      async (entries) => {
        calls += 1;
        return { delivered: [2], failed: [{ entry: entries[0]!, reason: 'bad', retryable: false }] };
      },
      policy,
      { sleep: noSleep },
    );
    expect(calls).toBe(1);
    expect(refused.failed.map((failure) => failure.entry)).toEqual([1]);

    const denied = Object.assign(new Error('no'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    const thrown = await sendWithRetry(
      [1, 2],
      async () => {
        throw denied;
      },
      policy,
      { sleep: noSleep },
    );
    expect(thrown.failed).toEqual(
      [1, 2].map((entry) =>
        expect.objectContaining({ entry, retryable: false, errorCode: 'AccessDeniedException', cause: denied }),
      ),
    );
  });

  it('leaves a call that throws to the SDK: no resend, transient errors reported as such', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400, attempts: 5 },
    });
    let calls = 0;
    const outcome = await sendWithRetry(
      [1, 2, 3],
      async (entries) => {
        calls += 1;
        if (calls === 2) throw throttled;
        return {
          delivered: [entries[0]!],
          failed: entries.slice(1).map((entry) => ({ entry, reason: 'busy', retryable: true })),
        };
      },
      policy,
      { sleep: noSleep },
    );
    expect(calls).toBe(2);
    expect(outcome.delivered).toEqual([1]);
    expect(outcome.failed).toEqual(
      [2, 3].map((entry) =>
        expect.objectContaining({ entry, retryable: true, errorCode: 'ThrottlingException', cause: throttled }),
      ),
    );
  });

  it('calls throttling, server errors and lost connections transient, as the SDK does', () => {
    expect(
      isTransientError(
        Object.assign(new Error('x'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(true);
    expect(
      isTransientError(
        Object.assign(new Error('x'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }),
      ),
    ).toBe(true);
    expect(isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(
      isTransientError(
        Object.assign(new Error('x'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(false);
    expect(isTransientError(new InvalidChangeError('bad'))).toBe(false);
  });
});

describe('revision clock', () => {
  it('strictly increases within a millisecond and when the wall clock steps back', () => {
    const times = [1000, 1000, 1000, 999, 1002];
    const clock = new RevisionClock(() => times.shift()!, 7);
    expect(Array.from({ length: 5 }, () => clock.next())).toEqual([
      '1000000007',
      '1000001007',
      '1000002007',
      '1000003007',
      '1002000007',
    ]);
  });

  it('gives two publishers different revisions in the same millisecond', () => {
    const a = new RevisionClock(() => 5, 1);
    const b = new RevisionClock(() => 5, 2);
    expect(a.next()).not.toBe(b.next());
  });
});

describe('chunk', () => {
  it('splits by count and by bytes, keeping order, and never leaves an entry out', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([60, 50, 10, 90, 120], 10, 120, (n) => n)).toEqual([[60, 50, 10], [90], [120]]);
  });
});

describe('checkChange', () => {
  it('accepts a valid change and refuses each broken rule before anything is sent', () => {
    expect(
      checkChange({ key: 'a/b', op: 'put', value: { x: 1 }, correlationId: 'c', expectedVersion: 7 }, 3, {
        allowExpectedVersion: true,
      }),
    ).toEqual({ index: 3, key: 'a/b', op: 'put', value: { x: 1 }, correlationId: 'c', expectedVersion: '7' });
    const bad =
      (change: object, allow = true) =>
      () =>
        checkChange(change as never, 0, { allowExpectedVersion: allow });
    expect(bad({ key: 'a/__proto__', op: 'put', value: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(bad({ key: 'a', op: 'upsert', value: 1 })).toThrow(InvalidChangeError);
    expect(bad({ key: 'a', op: 'put' })).toThrow(InvalidChangeError);
    expect(bad({ key: 'a', op: 'delete', value: 1 })).toThrow(InvalidChangeError);
    expect(bad({ key: 'a', op: 'put', value: new Date() })).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }));
    expect(bad({ key: 'a', op: 'put', value: 1, correlationId: 'x'.repeat(129) })).toThrow(InvalidChangeError);
    expect(bad({ key: 'a', op: 'put', value: 1, expectedVersion: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REVISION' }),
    );
    expect(bad({ key: 'a', op: 'put', value: 1, expectedVersion: 1 }, false)).toThrow(/DynamoDB/);
  });
});

describe('SQS and EventBridge ids and sizes', () => {
  it('uses the key as FIFO group when SQS accepts it, a hash otherwise, and a stable dedup id', () => {
    expect(defaultMessageGroupId('config/a')).toBe('config/a');
    expect(defaultMessageGroupId('config/é')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(defaultMessageGroupId(`${'k/'.repeat(100)}x`)).toMatch(/^sha256:/);
    expect(deduplicationId('config/a', '5')).toBe(deduplicationId('config/a', '5'));
    expect(deduplicationId('config/a', '5')).not.toBe(deduplicationId('config/a', '6'));
  });

  it('counts an event entry as EventBridge does', () => {
    expect(eventEntrySize({ Source: 'src', DetailType: 'dt', Detail: '{"é":1}', Time: new Date() })).toBe(
      14 + 3 + 2 + 8,
    );
  });
});
