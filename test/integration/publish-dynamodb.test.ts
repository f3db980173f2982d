import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CORRELATION_ATTRIBUTE,
  InvalidChangeError,
  PublishError,
  VersionConflictError,
  createPublisher,
  itemKeyOf,
  keyOfItem,
  valueOfItem,
  correlationOfItem,
  changeFromStreamRecord,
} from '../../lib/index.ts';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { toLambdaStreamRecord } from '../../infra/local/lambda-shapes.ts';
import type { Change } from '../../lib/model/change.ts';
import { RevisionClock } from '../../lib/publish/clock.ts';
import { TableStore } from '../../lib/sources/store.ts';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { createTable, readStream, Resources, testClients } from '../support/emulator.ts';
import { failAttempts, interceptCalls, recordCalls, throttlingError } from '../support/sdk-calls.ts';

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };

describe('DynamoDB publish target', () => {
  let clients: AwsClients;
  let resources: Resources;
  beforeAll(() => {
    clients = testClients();
    resources = new Resources(clients);
  });
  afterAll(() => resources.dispose());
  const table = (options: Parameters<typeof createTable>[1] = {}) => createTable(resources, options);

  it('writes puts and deletes that the stream carries as items with a counting version and the correlation id', async () => {
    const t = await table({ keyAttributes: ['group', 'name'] });
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });

    const first = await publisher.put('config/interfaces/eth0', { mtu: 9000, tags: ['a'] }, { correlationId: 'c-1' });
    const second = await publisher.put('config/interfaces/eth0', { mtu: 1500 });
    const removed = await publisher.delete('config/interfaces/eth0');

    // An item's version comes from the publisher's clock and grows with every write; a delete
    // reports the version of the item it removed.
    const start = BigInt(first.version!);
    expect(start).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1000n);
    expect(BigInt(second.version!)).toBeGreaterThan(start);
    expect(removed.version).toBe(second.version);
    expect(first.correlationId).toBe('c-1');
    const records = await readStream(clients, t.streamArn, { expected: 3 });
    expect(records.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const inserted = records[0]!.dynamodb!.NewImage!;
    const versioned = { ...t.table, versionAttribute: 'version' };
    expect(keyOfItem(versioned, inserted)).toBe('config/interfaces/eth0');
    expect(inserted.version).toEqual({ N: first.version });
    expect(inserted[CORRELATION_ATTRIBUTE]).toEqual({ S: 'c-1' });
    // The stream source reads the id back from the item; it is never part of the value.
    expect(correlationOfItem(inserted)).toBe('c-1');
    expect(valueOfItem(versioned, inserted)).toEqual({ mtu: 9000, tags: ['a'] });
    // A put without a correlation id replaces the item, so the old id does not linger.
    expect(records[1]!.dynamodb!.NewImage![CORRELATION_ATTRIBUTE]).toBeUndefined();
    expect(records[1]!.dynamodb!.NewImage!.version).toEqual({ N: second.version });
  });

  it('keeps a version never behind the clock, so a bus change stamped before a put cannot land after it and win', async () => {
    const t = await table();
    // An item a tool wrote with a small version of its own.
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: t.table.name,
        Item: { pk: { S: 'mixed' }, n: { N: '0' }, version: { N: '5' } },
      }),
    );
    // A bus put stamped now, which the service's store has not written yet...
    const sent: Change = {
      key: 'config/mixed',
      op: 'put',
      value: { n: 1 },
      revision: new RevisionClock().next(),
      source: { type: 'sqs', name: 'changes' },
      time: new Date().toISOString(),
    };
    // ...then a put through the table, after it.
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    const put = await publisher.put('config/mixed', { n: 2 });
    expect(BigInt(put.version!)).toBeGreaterThan(BigInt(sent.revision!));

    // The store, writing the bus change late, finds the table newer and leaves it.
    const [outcome] = await new TableStore({ tables: [t.table], clients }).write([sent]);
    expect(outcome).toMatchObject({ result: 'superseded' });
    expect((await t.getItem({ pk: { S: 'mixed' } }))?.n).toEqual({ N: '2' });
  });

  it('gives a re-created item a version newer than the item deleted before it', async () => {
    const t = await table();
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    await publisher.put('config/a', { v: 1 });
    await publisher.put('config/a', { v: 2 });
    const removed = await publisher.delete('config/a');
    const recreated = await publisher.put('config/a', { v: 3 });
    expect(BigInt(recreated.version!)).toBeGreaterThan(BigInt(removed.version!));
  });

  it('uses the table config version attribute', async () => {
    const t = await table({ versionAttribute: 'rev' });
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    const { version } = await publisher.put('config/a', { x: 1 });
    expect((await t.getItem({ pk: { S: 'a' } }))?.rev).toEqual({ N: version });
  });

  it('splits a batch into BatchWriteItem calls of at most 25 items, with versions that keep increasing', async () => {
    const t = await table();
    const clients = testClients();
    const calls = recordCalls(clients.dynamodb, 'BatchWriteItemCommand');
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    await publisher.put('config/k0', { n: -1 });

    const changes = Array.from({ length: 60 }, (_, n) => ({ key: `config/k${n}`, op: 'put' as const, value: { n } }));
    const results = await publisher.publish(changes);

    const mine = calls.filter((call) => call.RequestItems[t.table.name]);
    expect(mine.map((call) => call.RequestItems[t.table.name].length)).toEqual([25, 25, 10]);
    expect(results.map((result) => result.key)).toEqual(changes.map((change) => change.key));
    expect(BigInt(results[0]!.version!)).toBeGreaterThan(1n);
    const after = await publisher.put('config/k0', { n: 0 });
    expect(BigInt(after.version!)).toBeGreaterThan(BigInt(results[0]!.version!));
    expect(await readStream(clients, t.streamArn, { expected: 62 })).toHaveLength(62);
  });

  it('resends only the items BatchWriteItem left unprocessed', async () => {
    const t = await table();
    const clients = testClients(); // its own, so the injected failure stays in this test
    const dropped = ['config/k3', 'config/k7', 'config/k11'];
    interceptCalls(clients.dynamodb, 'BatchWriteItemCommand', (input, call) => {
      const requests: any[] = input.RequestItems[t.table.name] ?? [];
      if (call !== 1 || !input.RequestItems[t.table.name]) return { input };
      const isDropped = (request: any) => dropped.includes(keyOfItem(t.table, request.PutRequest.Item));
      return {
        input: { RequestItems: { [t.table.name]: requests.filter((request) => !isDropped(request)) } },
        output: (output) => ({ ...output, UnprocessedItems: { [t.table.name]: requests.filter(isDropped) } }),
      };
    });
    const calls = recordCalls(clients.dynamodb, 'BatchWriteItemCommand');
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients, retry: fastRetry });

    await publisher.publish(
      Array.from({ length: 30 }, (_, n) => ({ key: `config/k${n}`, op: 'put' as const, value: { n } })),
    );

    const sent = calls
      .filter((call) => call.RequestItems[t.table.name])
      .map((call) =>
        call.RequestItems[t.table.name].map((request: any) => keyOfItem(t.table, request.PutRequest.Item)),
      );
    expect(sent.map((keys) => keys.length)).toEqual([22, 3, 5]);
    expect(sent[1]).toEqual(dropped);
    for (const key of dropped) expect(await t.getItem(itemKeyOf(t.table, key))).toBeDefined();
    expect(await readStream(clients, t.streamArn, { expected: 30 })).toHaveLength(30);
  });

  it('has the SDK retry a throttled call, resends what it leaves unprocessed and names what never made it', async () => {
    const t = await table();
    const clients = testClients();
    // AWS throttles the first attempt; the SDK's retry sends the call again.
    const attempts = failAttempts(clients.dynamodb, 'BatchWriteItemCommand', 1, throttlingError);
    const sent: number[] = [];
    interceptCalls(clients.dynamodb, 'BatchWriteItemCommand', (input) => {
      const requests: any[] = input.RequestItems[t.table.name];
      if (!requests) return { input };
      sent.push(requests.length);
      const stuck = (request: any) =>
        keyOfItem(t.table, request.PutRequest?.Item ?? request.DeleteRequest.Key) === 'config/stuck';
      return {
        input: { RequestItems: { [t.table.name]: requests.filter((request) => !stuck(request)) } },
        output: (output) => ({ ...output, UnprocessedItems: { [t.table.name]: requests.filter(stuck) } }),
      };
    });
    const publisher = createPublisher({
      target: { type: 'dynamodb', table: t.table },
      clients,
      retry: { ...fastRetry, maxAttempts: 3 },
    });

    const error = await publisher
      .publish([
        { key: 'config/ok1', op: 'put', value: { a: 1 } },
        { key: 'config/stuck', op: 'put', value: { a: 2 } },
        { key: 'config/ok2', op: 'put', value: { a: 3 } },
      ])
      .catch((thrown: unknown) => thrown);

    // One call for all three, then the stuck item resent twice (3 attempts); the SDK retried the first.
    expect(sent).toEqual([3, 1, 1]);
    expect(attempts()).toBe(4);
    expect(error).toBeInstanceOf(PublishError);
    const failure = error as PublishError;
    expect(failure.code).toBe('PUBLISH_FAILED');
    expect(failure.unpublished).toEqual([expect.objectContaining({ key: 'config/stuck', op: 'put', retryable: true })]);
    expect(failure.publishedCount).toBe(2);
    expect(await t.getItem({ pk: { S: 'stuck' } })).toBeUndefined();
    expect(await t.getItem({ pk: { S: 'ok1' } })).toBeDefined();
  });

  it('fails a write with a stale expected version with a conflict and changes nothing', async () => {
    const t = await table();
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    const created = await publisher.put('config/a', { v: 1 });
    const moved = await publisher.put('config/a', { v: 2 }, { expectedVersion: created.version! });
    expect(BigInt(moved.version!)).toBeGreaterThan(BigInt(created.version!));

    const conflict = await publisher
      .put('config/a', { v: 3 }, { expectedVersion: created.version! })
      .catch((thrown: unknown) => thrown);
    expect(conflict).toBeInstanceOf(VersionConflictError);
    expect(conflict).toMatchObject({
      code: 'VERSION_CONFLICT',
      key: 'config/a',
      expectedVersion: created.version,
      actualVersion: moved.version,
    });
    await expect(publisher.delete('config/a', { expectedVersion: 5 })).rejects.toBeInstanceOf(VersionConflictError);
    await expect(publisher.put('config/a', { v: 4 }, { expectedVersion: 0 })).rejects.toMatchObject({
      actualVersion: moved.version,
    });

    expect(await t.getItem({ pk: { S: 'a' } })).toEqual({
      pk: { S: 'a' },
      v: { N: '2' },
      version: { N: moved.version },
    });
    expect(await readStream(clients, t.streamArn, { expected: 3, timeoutMs: 500 })).toHaveLength(2);

    // expected version 0 means "create": it succeeds for an absent item.
    expect((await publisher.put('config/b', { v: 1 }, { expectedVersion: 0 })).version).toMatch(/^\d{16,}$/);
    expect((await publisher.delete('config/a', { expectedVersion: moved.version! })).version).toBe(moved.version);
    expect(await t.getItem({ pk: { S: 'a' } })).toBeUndefined();
  });

  it('lists a conflicting change of a batch as unpublished and publishes the rest', async () => {
    const t = await table();
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    await publisher.put('config/a', { v: 1 });
    const error = (await publisher
      .publish([
        { key: 'config/a', op: 'put', value: { v: 2 }, expectedVersion: 7 },
        { key: 'config/b', op: 'put', value: { v: 1 } },
      ])
      .catch((thrown: unknown) => thrown)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.unpublished).toEqual([
      expect.objectContaining({ key: 'config/a', errorCode: 'VERSION_CONFLICT', retryable: false }),
    ]);
    expect((await t.getItem({ pk: { S: 'a' } }))?.v).toEqual({ N: '1' });
    expect((await t.getItem({ pk: { S: 'b' } }))?.v).toEqual({ N: '1' });
  });

  it('refuses values that are not objects, keys outside the prefix and repeated keys before writing anything', async () => {
    const t = await table();
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    await expect(publisher.put('config/a', [1, 2])).rejects.toBeInstanceOf(InvalidChangeError);
    await expect(publisher.put('other/a', { x: 1 })).rejects.toBeInstanceOf(InvalidChangeError);
    await expect(publisher.put('config/a', { [CORRELATION_ATTRIBUTE]: 'x' })).rejects.toBeInstanceOf(
      InvalidChangeError,
    );
    await expect(
      publisher.publish([
        { key: 'config/ok', op: 'put', value: { x: 1 } },
        { key: 'config/a', op: 'put', value: { x: 1 } },
        { key: 'config/a', op: 'delete' },
      ]),
    ).rejects.toBeInstanceOf(InvalidChangeError);
    expect(await t.getItem({ pk: { S: 'ok' } })).toBeUndefined();
  });

  it("carries a delete's correlation id to the stream's delete record, and says when there was nothing to delete", async () => {
    const t = await table();
    const publisher = createPublisher({ target: { type: 'dynamodb', table: t.table }, clients });
    const created = await publisher.put('config/a', { v: 1 }, { correlationId: 'put-1' });
    const removed = await publisher.delete('config/a', { correlationId: 'del-2' });
    expect(removed).toMatchObject({ key: 'config/a', op: 'delete', version: created.version, correlationId: 'del-2' });
    // The id is written into the item first (a write the stream source passes over), so the
    // delete's record, which holds only the old item, carries it.
    const records = await readStream(clients, t.streamArn, { expected: 3 });
    expect(records.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const sources = new Map([[t.table.name, { ...t.table, versionAttribute: 'version' }]]);
    const changes = records.map((record) => changeFromStreamRecord(toLambdaStreamRecord(record, t.streamArn), sources));
    expect(changes[1]).toBeUndefined();
    expect(changes[2]).toMatchObject({ op: 'delete', correlationId: 'del-2', version: created.version });
    // Nothing left to delete: nothing changes, and the result says so.
    expect(await publisher.delete('config/a', { correlationId: 'del-3' })).toMatchObject({ unchanged: true });
    expect(await publisher.delete('config/a')).toMatchObject({ unchanged: true });
  });
});
