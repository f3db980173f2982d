import { afterAll, describe, expect, it, jest } from '@jest/globals';
import {
  DEFAULT_EVENT_DETAIL_TYPE,
  DEFAULT_EVENT_SOURCE,
  PublishError,
  createPublisher,
  parseEnvelope,
} from '../../lib/index.ts';
import { createBus, receiveAll, Resources, testClients, uniqueName } from '../support/emulator.ts';
import { interceptCalls, recordCalls } from '../support/sdk-calls.ts';

// The emulator takes a few hundred ms to route each event to its queue.
jest.setTimeout(30_000);
const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };
const clients = testClients();
const resources = new Resources(clients);
const bus = (source: string = DEFAULT_EVENT_SOURCE) => createBus(resources, source);
afterAll(() => resources.dispose());

function failAt(positions: number[], code: string) {
  return (input: Record<string, any>) => ({
    input: { Entries: input.Entries.filter((_: unknown, index: number) => !positions.includes(index)) },
    output: (output: Record<string, any>) => {
      const real = [...output.Entries];
      const Entries = input.Entries.map((_: unknown, index: number) =>
        positions.includes(index) ? { ErrorCode: code, ErrorMessage: 'injected' } : real.shift(),
      );
      return { ...output, Entries, FailedEntryCount: positions.length };
    },
  });
}

describe('EventBridge publish target', () => {
  it('puts events whose detail is the bus envelope, with the default source and detail-type', async () => {
    const b = await bus();
    const publisher = createPublisher({ target: { type: 'eventbridge', busName: b.busName }, clients });
    const result = await publisher.put('config/routes/r1', { via: '10.0.0.1' }, { correlationId: 'c-9' });

    const [message] = await receiveAll(b.queue.url, { clients, count: 1, remove: true });
    const event = JSON.parse(message!.Body!);
    expect(event).toMatchObject({
      id: result.messageId,
      source: 'serverless-datasync',
      'detail-type': 'datasync.change',
    });
    expect(parseEnvelope(event.detail)).toEqual({
      datasync: 1,
      key: 'config/routes/r1',
      op: 'put',
      value: { via: '10.0.0.1' },
      revision: result.revision,
      correlationId: 'c-9',
      time: expect.any(String),
    });
    expect([DEFAULT_EVENT_SOURCE, DEFAULT_EVENT_DETAIL_TYPE]).toEqual(['serverless-datasync', 'datasync.change']);
  });

  it('uses the configured source and detail-type', async () => {
    const source = uniqueName('app');
    const b = await bus(source);
    const publisher = createPublisher({
      target: { type: 'eventbridge', busName: b.busName, source, detailType: 'my.change' },
      clients,
    });
    await publisher.delete('config/x');
    const event = JSON.parse((await receiveAll(b.queue.url, { clients, count: 1, remove: true }))[0]!.Body!);
    expect(event).toMatchObject({ source, 'detail-type': 'my.change', detail: { key: 'config/x', op: 'delete' } });
  });

  it('splits batches at 10 entries and at 256 KiB', async () => {
    const b = await bus();
    const client = testClients();
    const calls = recordCalls(client.eventbridge, 'PutEventsCommand');
    const publisher = createPublisher({ target: { type: 'eventbridge', busName: b.busName }, clients: client });
    await publisher.publish(
      Array.from({ length: 12 }, (_, n) => ({ key: `config/k${n}`, op: 'put' as const, value: n })),
    );
    await publisher.publish(
      Array.from({ length: 3 }, (_, n) => ({
        key: `config/big${n}`,
        op: 'put' as const,
        value: 'x'.repeat(100 * 1024),
      })),
    );
    expect(calls.map((call) => call.Entries.length)).toEqual([10, 2, 2, 1]);
    expect(await receiveAll(b.queue.url, { clients, count: 15, deadlineMs: 20_000, remove: true })).toHaveLength(15);
  });

  it('resends only the entries PutEvents reported failed', async () => {
    const b = await bus();
    const client = testClients();
    interceptCalls(client.eventbridge, 'PutEventsCommand', (input, call) =>
      call === 1 ? failAt([2, 5], 'ThrottlingException')(input) : { input },
    );
    const calls = recordCalls(client.eventbridge, 'PutEventsCommand');
    const publisher = createPublisher({
      target: { type: 'eventbridge', busName: b.busName },
      clients: client,
      retry: fastRetry,
    });

    await publisher.publish(
      Array.from({ length: 7 }, (_, n) => ({ key: `config/k${n}`, op: 'put' as const, value: n })),
    );

    const keysOf = (call: Record<string, any>) => call.Entries.map((entry: any) => JSON.parse(entry.Detail).key);
    expect(calls.map(keysOf)).toEqual([
      ['config/k0', 'config/k1', 'config/k3', 'config/k4', 'config/k6'],
      ['config/k2', 'config/k5'],
    ]);
    const keys = (await receiveAll(b.queue.url, { clients, count: 7, deadlineMs: 20_000, remove: true }))
      .map((message) => JSON.parse(message.Body!).detail.key)
      .sort();
    expect(keys).toEqual(Array.from({ length: 7 }, (_, n) => `config/k${n}`).sort());
  });

  it('names the entries still failing when retries run out', async () => {
    const b = await bus();
    const client = testClients();
    interceptCalls(client.eventbridge, 'PutEventsCommand', (input) => {
      const positions = input.Entries.flatMap((entry: any, index: number) =>
        JSON.parse(entry.Detail).key === 'config/hot' ? [index] : [],
      );
      return failAt(positions, 'InternalFailure')(input);
    });
    const publisher = createPublisher({
      target: { type: 'eventbridge', busName: b.busName },
      clients: client,
      retry: { ...fastRetry, maxAttempts: 3 },
    });

    const error = (await publisher
      .publish([
        { key: 'config/cold', op: 'put', value: 1 },
        { key: 'config/hot', op: 'delete' },
      ])
      .catch((thrown: unknown) => thrown)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.unpublished).toEqual([
      expect.objectContaining({ key: 'config/hot', op: 'delete', errorCode: 'InternalFailure', retryable: true }),
    ]);
    expect(error.unpublished[0]!.reason).toContain('after 3 attempts');
    expect(
      (await receiveAll(b.queue.url, { clients, count: 1, remove: true })).map(
        (message) => JSON.parse(message.Body!).detail.key,
      ),
    ).toEqual(['config/cold']);
  });
});
