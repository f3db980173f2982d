import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { InvalidChangeError, PublishError, compareRevisions, createPublisher, parseEnvelope } from '../../lib/index.ts';
import { deduplicationId } from '../../lib/publish/sqs.ts';
import { createQueue, receiveAll, Resources, testClients } from '../support/emulator.ts';
import { interceptCalls, recordCalls } from '../support/sdk-calls.ts';

// The suite shares a 2-core machine with the emulator: leave room for slow moments.
jest.setTimeout(30_000);
const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };
const clients = testClients();
const resources = new Resources(clients);
const queue = (options: { fifo?: boolean } = {}) => createQueue(resources, options);
afterAll(() => resources.dispose());

describe('SQS publish target', () => {
  it('sends each change as a bus envelope with increasing revisions and the correlation id', async () => {
    const q = await queue();
    const publisher = createPublisher({ target: { type: 'sqs', queueUrl: q.url }, clients });
    const put = await publisher.put('config/interfaces/eth0', { mtu: 9000 }, { correlationId: 'c-7' });
    const removed = await publisher.delete('config/interfaces/eth0');

    const envelopes = (await receiveAll(q.url, { clients, count: 2, deadlineMs: 15_000, remove: true })).map(
      (message) => parseEnvelope(JSON.parse(message.Body!)),
    );
    envelopes.sort((a, b) => compareRevisions(a.revision!, b.revision!));
    expect(envelopes).toEqual([
      {
        datasync: 1,
        key: 'config/interfaces/eth0',
        op: 'put',
        value: { mtu: 9000 },
        revision: put.revision,
        correlationId: 'c-7',
        time: expect.any(String),
      },
      {
        datasync: 1,
        key: 'config/interfaces/eth0',
        op: 'delete',
        revision: removed.revision,
        time: expect.any(String),
      },
    ]);
    expect(compareRevisions(removed.revision!, put.revision!)).toBeGreaterThan(0);
  });

  it('groups FIFO messages by key with stable deduplication ids, or by the configured group', async () => {
    const q = await queue({ fifo: true });
    const publisher = createPublisher({ target: { type: 'sqs', queueUrl: q.url }, clients });
    const results = await publisher.publish([
      { key: 'config/a', op: 'put', value: 1 },
      { key: 'config/b', op: 'put', value: 2 },
      { key: 'config/a', op: 'delete' },
    ]);
    const messages = await receiveAll(q.url, { clients, count: 3, deadlineMs: 15_000, remove: true });
    const byRevision = new Map(
      messages.map((message) => [parseEnvelope(JSON.parse(message.Body!)).revision, message.Attributes!]),
    );
    for (const result of results) {
      expect(byRevision.get(result.revision)).toMatchObject({
        MessageGroupId: result.key,
        MessageDeduplicationId: deduplicationId(result.key, result.revision!),
      });
    }

    const grouped = createPublisher({
      target: { type: 'sqs', queueUrl: q.url, messageGroupId: (key) => key.split('/')[0]! },
      clients,
    });
    await grouped.put('config/c', true);
    expect(
      (await receiveAll(q.url, { clients, count: 1, deadlineMs: 15_000, remove: true }))[0]!.Attributes!.MessageGroupId,
    ).toBe('config');
  });

  it('splits batches at 10 entries and at 256 KiB', async () => {
    const q = await queue();
    const calls = recordCalls(clients.sqs, 'SendMessageBatchCommand');
    const publisher = createPublisher({ target: { type: 'sqs', queueUrl: q.url }, clients });

    await publisher.publish(
      Array.from({ length: 23 }, (_, n) => ({ key: `config/k${n}`, op: 'put' as const, value: n })),
    );
    const big = 'x'.repeat(100 * 1024);
    await publisher.publish(
      Array.from({ length: 5 }, (_, n) => ({ key: `config/big${n}`, op: 'put' as const, value: big })),
    );

    const mine = calls.filter((call) => call.QueueUrl === q.url);
    expect(mine.map((call) => call.Entries.length)).toEqual([10, 10, 3, 2, 2, 1]);
    for (const call of mine) {
      expect(
        call.Entries.reduce((sum: number, entry: any) => sum + Buffer.byteLength(entry.MessageBody), 0),
      ).toBeLessThanOrEqual(256 * 1024);
    }
    expect(await receiveAll(q.url, { clients, count: 28, deadlineMs: 15_000, remove: true })).toHaveLength(28);
  });

  it('resends only the entries SendMessageBatch reported failed, and each arrives once', async () => {
    const q = await queue();
    const client = testClients();
    const failedIds = ['c1', 'c4'];
    interceptCalls(client.sqs, 'SendMessageBatchCommand', (input, call) => {
      if (call !== 1) return { input };
      return {
        input: { ...input, Entries: input.Entries.filter((entry: any) => !failedIds.includes(entry.Id)) },
        output: (output) => ({
          ...output,
          Failed: failedIds.map((Id) => ({ Id, SenderFault: false, Code: 'InternalError', Message: 'injected' })),
        }),
      };
    });
    const calls = recordCalls(client.sqs, 'SendMessageBatchCommand');
    const publisher = createPublisher({ target: { type: 'sqs', queueUrl: q.url }, clients: client, retry: fastRetry });

    const results = await publisher.publish(
      Array.from({ length: 6 }, (_, n) => ({ key: `config/k${n}`, op: 'put' as const, value: n })),
    );

    expect(calls.map((call) => call.Entries.map((entry: any) => entry.Id))).toEqual([
      ['c0', 'c2', 'c3', 'c5'],
      ['c1', 'c4'],
    ]);
    expect(results.map((result) => result.key)).toEqual([
      'config/k0',
      'config/k1',
      'config/k2',
      'config/k3',
      'config/k4',
      'config/k5',
    ]);
    const keys = (await receiveAll(q.url, { clients, count: 6, deadlineMs: 15_000, remove: true }))
      .map((message) => JSON.parse(message.Body!).key)
      .sort();
    expect(keys).toEqual(['config/k0', 'config/k1', 'config/k2', 'config/k3', 'config/k4', 'config/k5']);
  });

  it("does not retry an entry the service refused as the sender's fault, and names it", async () => {
    const q = await queue();
    const client = testClients();
    const calls = recordCalls(client.sqs, 'SendMessageBatchCommand');
    interceptCalls(client.sqs, 'SendMessageBatchCommand', (input) => ({
      input: { ...input, Entries: input.Entries.filter((entry: any) => entry.Id !== 'c0') },
      output: (output) => ({
        ...output,
        Failed: [{ Id: 'c0', SenderFault: true, Code: 'InvalidMessageContents', Message: 'injected' }],
      }),
    }));
    const publisher = createPublisher({ target: { type: 'sqs', queueUrl: q.url }, clients: client, retry: fastRetry });

    const error = (await publisher
      .publish([
        { key: 'config/bad', op: 'put', value: 1 },
        { key: 'config/good', op: 'put', value: 2 },
      ])
      .catch((thrown: unknown) => thrown)) as PublishError;

    expect(error).toBeInstanceOf(PublishError);
    expect(error.unpublished).toEqual([
      {
        key: 'config/bad',
        op: 'put',
        errorCode: 'InvalidMessageContents',
        retryable: false,
        reason: 'InvalidMessageContents: injected',
      },
    ]);
    expect(error.publishedCount).toBe(1);
    expect(calls).toHaveLength(1);
    expect(
      (await receiveAll(q.url, { clients, count: 1, deadlineMs: 15_000, remove: true })).map(
        (message) => JSON.parse(message.Body!).key,
      ),
    ).toEqual(['config/good']);
  });

  it('refuses an expected revision, which a queue cannot check', async () => {
    const q = await queue();
    const publisher = createPublisher({ target: { type: 'sqs', queueUrl: q.url }, clients });
    await expect(publisher.put('config/a', 1, { expectedVersion: 1 })).rejects.toBeInstanceOf(InvalidChangeError);
    await expect(publisher.put('config/../a', 1)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(publisher.put('config/a', Number.NaN)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
  });
});
