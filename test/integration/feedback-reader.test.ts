import { afterAll, describe, expect, it } from '@jest/globals';
import { FeedbackTimeoutError, createFeedbackReader, type FeedbackRecord } from '../../lib/index.ts';
import { createQueue, receiveAll, Resources, sendJson, testClients } from '../support/emulator.ts';

const clients = testClients();
const resources = new Resources(clients);
const queue = () => createQueue(resources, { prefix: 'feedback' });
afterAll(() => resources.dispose());

function changeFeedback(
  plugin: string,
  key: string,
  correlationId?: string,
  status: 'ok' | 'error' = 'ok',
): FeedbackRecord {
  return {
    version: 1,
    event: 'change',
    plugin,
    status,
    source: { type: 'sqs', name: 'changes' },
    changes: [{ key, op: 'put', revision: '1', ...(correlationId ? { correlationId } : {}) }],
    ...(correlationId ? { correlationId } : {}),
    ...(status === 'error' ? { error: { name: 'Error', message: 'boom' } } : {}),
    time: new Date().toISOString(),
    durationMs: 3,
  };
}

describe('feedback reader', () => {
  it("returns each correlation id's records, deletes them, and leaves other ids' records on the queue", async () => {
    const q = await queue();
    await sendJson(clients, q.url, [
      changeFeedback('routes', 'config/r1', 'other'),
      changeFeedback('interfaces', 'config/i1', 'c-1'),
      changeFeedback('routes', 'config/i1', 'c-1', 'error'),
      changeFeedback('interfaces', 'config/i2', 'c-2'),
    ]);
    const reader = createFeedbackReader({ queueUrl: q.url, clients, waitTimeSeconds: 1, visibilityTimeoutSeconds: 1 });

    const c1 = await reader.waitFor(['c-1'], { timeoutMs: 5_000, plugins: ['interfaces', 'routes'] });
    expect(
      c1
        .get('c-1')!
        .map((record) => ('plugin' in record ? `${record.plugin}:${record.status}` : ''))
        .sort(),
    ).toEqual(['interfaces:ok', 'routes:error']);
    const c2 = await reader.waitFor(['c-2'], { timeoutMs: 5_000 });
    expect(c2.get('c-2')!.map((record) => record.event === 'change' && record.changes[0]!.key)).toEqual(['config/i2']);

    const left = await receiveAll(q.url, { clients, count: 1, deadlineMs: 3_000, remove: true });
    expect(left.map((message) => JSON.parse(message.Body!).correlationId)).toEqual(['other']);
  });

  it('waits for records that arrive later', async () => {
    const q = await queue();
    const reader = createFeedbackReader({ queueUrl: q.url, clients, waitTimeSeconds: 1 });
    const waiting = reader.waitFor(['late'], { timeoutMs: 5_000 });
    setTimeout(() => void sendJson(clients, q.url, [changeFeedback('routes', 'config/x', 'late')]), 300);
    expect((await waiting).get('late')).toHaveLength(1);
  });

  it('ends a wait with a typed timeout naming the missing ids and plugins, never with success', async () => {
    const q = await queue();
    await sendJson(clients, q.url, [changeFeedback('interfaces', 'config/i1', 'c-1')]);
    const reader = createFeedbackReader({ queueUrl: q.url, clients, waitTimeSeconds: 1 });
    const started = Date.now();
    const error = await reader
      .waitFor(['c-1', 'c-9'], { timeoutMs: 1_500, plugins: ['interfaces', 'routes'] })
      .catch((thrown: unknown) => thrown);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(error).toBeInstanceOf(FeedbackTimeoutError);
    expect((error as FeedbackTimeoutError).code).toBe('FEEDBACK_TIMEOUT');
    expect((error as FeedbackTimeoutError).missing).toEqual([
      { correlationId: 'c-1', plugins: ['routes'] },
      { correlationId: 'c-9', plugins: ['interfaces', 'routes'] },
    ]);
  });

  it('streams records as they arrive, reports malformed messages, and drains to the end', async () => {
    const q = await queue();
    await sendJson(clients, q.url, [changeFeedback('a', 'config/1'), 'not json', changeFeedback('b', 'config/2')]);
    const reader = createFeedbackReader({ queueUrl: q.url, clients, waitTimeSeconds: 1 });
    const malformed: string[] = [];
    const plugins: string[] = [];
    for await (const record of reader.stream({
      untilEmpty: true,
      onMalformed: (bad) => malformed.push(bad.error.code),
    })) {
      plugins.push('plugin' in record ? record.plugin : '?');
    }
    expect(plugins.sort()).toEqual(['a', 'b']);
    expect(malformed).toEqual(['INVALID_FEEDBACK']);
  });

  it('throws on a malformed message when the stream has no handler for it', async () => {
    const q = await queue();
    await sendJson(clients, q.url, ['{"version":1,"event":"nope"}']);
    const reader = createFeedbackReader({ queueUrl: q.url, clients, waitTimeSeconds: 1 });
    const drain = async () => {
      for await (const _ of reader.stream({ untilEmpty: true })) {
        /* nothing valid is there */
      }
    };
    await expect(drain()).rejects.toMatchObject({ code: 'INVALID_FEEDBACK' });
  });
});
