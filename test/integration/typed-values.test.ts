// Typed values at every edge, against the emulator over the real SDK: a put whose value does not
// fit the schema of a plugin watching its key is refused with the validator's message (feedback
// under its correlation id, the dead-letter queue) before any plugin runs, and the rest of its
// batch goes on. The schemas are the example plugins' (valibot); the library knows only Standard Schema.
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { interfaceSchema, routeSchema, type InterfaceConfig, type RouteConfig } from '../../examples/plugins/index.ts';
import {
  CORRELATION_ATTRIBUTE,
  createDatasync,
  createDynamoDbStreamHandler,
  createEventBridgeHandler,
  createHttpHandler,
  createPublisher,
  createSqsHandler,
  runResync,
  SchemaMismatchError,
  SyncStateStore,
  type Change,
  type ChangePublisher,
  type DeadLetterMessage,
  type FeedbackRecord,
  type RejectedFeedback,
  type ResyncFeedback,
  type SnapshotEntry,
  type TableConfig,
} from '../../lib/index.ts';
import {
  createBus,
  createQueue,
  createStateTable,
  createTable,
  putItems,
  receiveAll,
  receiveBodies,
  Resources,
  testClients,
} from '../support/emulator.ts';
import {
  httpApiRequest,
  lambdaContext,
  readStreamAsLambdaRecords,
  toLambdaSqsRecords,
} from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet, SqsTestSink } from '../support/sinks.ts';
import { asFunction } from '../support/iam/functions.ts';

// The emulator is shared and the machine small: allow for slow answers under load.
jest.setTimeout(30_000);
const clients = testClients({ maxAttempts: 2 });
const resources = new Resources(clients);
afterAll(() => resources.dispose(), 30_000);

// What valibot says of a string where the interface schema wants a number.
const NOT_A_NUMBER = 'mtu: Invalid type: Expected number but received "big"';

/** The two example schemas on two plugins that record what they are handed. */
function typedDatasync() {
  const seen = { interfaces: [] as Change<InterfaceConfig>[], routes: [] as Change<RouteConfig>[] };
  const datasync = createDatasync();
  datasync.watch(
    'interfaces',
    { schema: interfaceSchema, resync: () => {}, change: (changes) => void seen.interfaces.push(...changes) },
    'config/interfaces',
  );
  datasync.watch(
    'routes',
    { schema: routeSchema, resync: () => {}, change: (changes) => void seen.routes.push(...changes) },
    'config/routes',
  );
  return { datasync, seen };
}

const envelope = (key: string, value: unknown, correlationId: string) =>
  JSON.stringify({ datasync: 1, key, op: 'put', value, revision: '1', correlationId });

function rejections(records: readonly FeedbackRecord[]): RejectedFeedback[] {
  return records.filter((record): record is RejectedFeedback => record.event === 'rejected');
}

describe('typed values at every edge', () => {
  it('SQS: the ill-typed message is dead-lettered with the validator message; the rest of the batch is delivered', async () => {
    const source = await createQueue(resources, { prefix: 'ds-typed' });
    const queues = await createFeedbackQueues(resources);
    const bodies = [
      envelope('config/interfaces/eth0', { mtu: 9000 }, 'c-good'),
      envelope('config/interfaces/eth1', { mtu: 'big' }, 'c-bad'),
      envelope('config/routes/r1', { interface: 'eth0' }, 'c-route'),
    ];
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: source.url,
        Entries: bodies.map((MessageBody, index) => ({ Id: String(index), MessageBody })),
      }),
    );
    const messages = await receiveAll(source.url, { count: bodies.length });
    const { datasync, seen } = typedDatasync();
    const handler = asFunction(
      'sqs',
      createSqsHandler(datasync, { feedback: queues.feedback, deadLetter: queues.deadLetter, ...quiet }),
    );

    const response = await handler({ Records: toLambdaSqsRecords(messages, source.arn) }, lambdaContext());

    // Nothing to retry: the refusal is final, the others were delivered.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen.interfaces.map((change) => [change.key, change.value?.mtu])).toEqual([
      ['config/interfaces/eth0', 9000],
    ]);
    expect(seen.routes.map((change) => change.value?.interface)).toEqual(['eth0']);
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 3 });
    expect(rejections(feedback)).toEqual([
      expect.objectContaining({
        key: 'config/interfaces/eth1',
        correlationId: 'c-bad',
        error: expect.objectContaining({
          code: 'SCHEMA_MISMATCH',
          message: `value of config/interfaces/eth1 does not fit the schema of plugin "interfaces" (config/interfaces): ${NOT_A_NUMBER}`,
        }),
      }),
    ]);
    const [dead] = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 1 });
    expect(dead).toMatchObject({ raw: bodies[1], key: 'config/interfaces/eth1', correlationId: 'c-bad' });
    expect(dead!.reason.message).toContain(NOT_A_NUMBER);
  });

  it('SQS with the store on: an ill-typed value for a table key is refused, not written to the table', async () => {
    const [stateTable, data, source, queues] = await Promise.all([
      createStateTable(resources),
      createTable(resources, { stream: false }),
      createQueue(resources, { prefix: 'ds-typed-store' }),
      createFeedbackQueues(resources),
    ]);
    const bodies = [
      envelope('config/interfaces/eth0', { mtu: 1500 }, 'c-stored'),
      envelope('config/routes/r9', { via: '192.0.2.1' }, 'c-no-interface'),
    ];
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: source.url,
        Entries: bodies.map((MessageBody, index) => ({ Id: String(index), MessageBody })),
      }),
    );
    const messages = await receiveAll(source.url, { count: bodies.length });
    const { datasync } = typedDatasync();
    const handler = asFunction(
      'sqs',
      createSqsHandler(datasync, {
        tables: [data.table],
        store: true,
        env: { DATASYNC_STATE_TABLE: stateTable },
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );

    const response = await handler({ Records: toLambdaSqsRecords(messages, source.arn) }, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await data.getItem({ pk: { S: 'interfaces/eth0' } })).toMatchObject({ mtu: { N: '1500' } });
    expect(await data.getItem({ pk: { S: 'routes/r9' } })).toBeUndefined();
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 2 });
    expect(feedback.find((record) => record.event === 'stored')).toMatchObject({ correlationId: 'c-stored' });
    expect(rejections(feedback)).toEqual([
      expect.objectContaining({
        key: 'config/routes/r9',
        correlationId: 'c-no-interface',
        error: expect.objectContaining({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining('interface: ') }),
      }),
    ]);
  });

  it('EventBridge: the ill-typed event is refused and dead-lettered, the next event is delivered', async () => {
    const { busName, queue } = await createBus(resources, 'acme.typed');
    const queues = await createFeedbackQueues(resources);
    const detail = (key: string, value: unknown, correlationId: string) => ({
      EventBusName: busName,
      Source: 'acme.typed',
      DetailType: 'datasync.change',
      Detail: envelope(key, value, correlationId),
    });
    const sent = await clients.eventbridge.send(
      new PutEventsCommand({
        Entries: [
          detail('config/interfaces/eth2', { mtu: 'big' }, 'c-eb-bad'),
          detail('config/interfaces/eth3', { mtu: 1400, up: false }, 'c-eb-good'),
        ],
      }),
    );
    expect(sent.FailedEntryCount).toBe(0);
    const events = (await receiveAll(queue.url, { count: 2 })).map(
      (message) => JSON.parse(message.Body!) as EventBridgeEvent<string, { key: string }>,
    );
    const { datasync, seen } = typedDatasync();
    const handler = asFunction(
      'eventbridge',
      createEventBridgeHandler(datasync, {
        source: 'acme.typed',
        busName,
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    const byKey = (key: string) => events.find((event) => event.detail.key === key)!;

    await expect(handler(byKey('config/interfaces/eth2'), lambdaContext())).resolves.toEqual({ status: 'rejected' });
    await expect(handler(byKey('config/interfaces/eth3'), lambdaContext())).resolves.toEqual({ status: 'ok' });

    expect(seen.interfaces.map((change) => [change.key, change.value])).toEqual([
      ['config/interfaces/eth3', { mtu: 1400, up: false }],
    ]);
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 2 });
    expect(rejections(feedback)).toEqual([
      expect.objectContaining({
        key: 'config/interfaces/eth2',
        correlationId: 'c-eb-bad',
        error: expect.objectContaining({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining(NOT_A_NUMBER) }),
      }),
    ]);
    const [dead] = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 1 });
    expect(dead).toMatchObject({ source: { type: 'eventbridge' }, correlationId: 'c-eb-bad' });
  });

  it('DynamoDB stream: an ill-typed item written to the table reaches no plugin; the rest of the batch, and the write that mends it, do', async () => {
    const data = await createTable(resources);
    const queues = await createFeedbackQueues(resources);
    const table: TableConfig = data.table;
    const write = (pk: string, attributes: Record<string, { N: string } | { S: string }>) =>
      clients.dynamodb.send(new PutItemCommand({ TableName: data.name, Item: { pk: { S: pk }, ...attributes } }));
    await write('interfaces/eth0', { mtu: { N: '1500' } });
    // A tool writing the table directly, past every check: the stream is where it is caught.
    await write('interfaces/eth1', { mtu: { S: 'big' }, [CORRELATION_ATTRIBUTE]: { S: 'c-tool' } });
    await write('routes/r1', { interface: { S: 'eth0' } });
    await clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: data.name,
        Key: { pk: { S: 'interfaces/eth1' } },
        UpdateExpression: 'SET mtu = :m REMOVE #c',
        ExpressionAttributeNames: { '#c': CORRELATION_ATTRIBUTE },
        ExpressionAttributeValues: { ':m': { N: '1400' } },
      }),
    );
    const records = await readStreamAsLambdaRecords(data.streamArn);
    expect(records).toHaveLength(4);
    const { datasync, seen } = typedDatasync();
    const handler = asFunction(
      'dynamodbStream',
      createDynamoDbStreamHandler(datasync, {
        tables: [table],
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );

    const response = await handler({ Records: records }, lambdaContext());

    // The refused record is handled (dead-lettered): the shard goes on past it.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen.interfaces.map((change) => [change.key, change.value?.mtu])).toEqual([
      ['config/interfaces/eth0', 1500],
      ['config/interfaces/eth1', 1400],
    ]);
    // The mending write's previous value did not fit: the plugin gets none rather than an untyped one.
    expect(seen.interfaces[1]).not.toHaveProperty('prevValue');
    expect(seen.routes.map((change) => change.key)).toEqual(['config/routes/r1']);
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 3 });
    expect(rejections(feedback)).toEqual([
      expect.objectContaining({
        key: 'config/interfaces/eth1',
        correlationId: 'c-tool',
        error: expect.objectContaining({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining(NOT_A_NUMBER) }),
      }),
    ]);
    const [dead] = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 1 });
    expect(dead).toMatchObject({ source: { type: 'dynamodb' }, key: 'config/interfaces/eth1' });
  });

  it('HTTP: 400 with the validator issues, reported and dead-lettered, nothing written; the next request goes on', async () => {
    const queues = await createFeedbackQueues(resources);
    const written: string[] = [];
    const publish: ChangePublisher = {
      async put(key) {
        written.push(key);
        return { version: '1' };
      },
      async delete(key) {
        written.push(key);
        return { version: '1' };
      },
    };
    const { datasync } = typedDatasync();
    const handler = asFunction(
      'http',
      createHttpHandler(datasync, {
        publish,
        requestResync: async () => 'r',
        tables: [],
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    const put = async (key: string, body: string) => {
      const response = await handler(
        httpApiRequest('PUT', `/keys/${key}`, {
          body,
          contentType: 'application/json',
          headers: { 'x-correlation-id': 'c-http' },
        }),
        lambdaContext(),
      );
      return { status: response.statusCode, body: JSON.parse(response.body as string) };
    };

    expect(await put('config/interfaces/eth0', '{"mtu":"big","up":"yes"}')).toEqual({
      status: 400,
      body: {
        error: {
          code: 'SCHEMA_MISMATCH',
          message: `value of config/interfaces/eth0 does not fit the schema of plugin "interfaces" (config/interfaces): ${NOT_A_NUMBER}; up: Invalid type: Expected boolean but received "yes"`,
          issues: [
            { message: 'Invalid type: Expected number but received "big"', path: ['mtu'] },
            { message: 'Invalid type: Expected boolean but received "yes"', path: ['up'] },
          ],
        },
        correlationId: 'c-http',
      },
    });
    expect(await put('config/interfaces/eth0', '{"mtu":9000}')).toMatchObject({ status: 200 });
    expect(written).toEqual(['config/interfaces/eth0']);
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 1 });
    expect(rejections(feedback)).toEqual([
      expect.objectContaining({
        key: 'config/interfaces/eth0',
        correlationId: 'c-http',
        source: expect.objectContaining({ type: 'http' }),
        error: expect.objectContaining({ code: 'SCHEMA_MISMATCH' }),
      }),
    ]);
    const [dead] = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 1 });
    expect(JSON.parse(dead!.raw)).toMatchObject({ method: 'PUT', body: '{"mtu":"big","up":"yes"}' });
  });

  it('publisher: put throws SchemaMismatchError naming the key and issues, and sends nothing', async () => {
    const queue = await createQueue(resources, { prefix: 'ds-typed-publish' });
    const publisher = createPublisher({
      target: { type: 'sqs', queueUrl: queue.url },
      clients,
      schemas: [
        { prefix: 'config/interfaces', schema: interfaceSchema },
        { prefix: 'config/routes', schema: routeSchema },
      ],
    });
    // @ts-expect-error: the literal key's prefix has a schema, and the value does not fit its input type.
    const refused = publisher.put('config/interfaces/eth0', { mtu: 'big' });
    await expect(refused).rejects.toThrow(SchemaMismatchError);
    await expect(refused).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      key: 'config/interfaces/eth0',
      prefix: 'config/interfaces',
      issues: [{ message: 'Invalid type: Expected number but received "big"', path: ['mtu'] }],
    });
    // A batch with one bad change sends none of them.
    await expect(
      publisher.publish([
        { key: 'config/routes/r1', op: 'put', value: { interface: 'eth0' } },
        { key: 'config/routes/r2', op: 'put', value: { interface: '' } },
      ]),
    ).rejects.toThrow(/config\/routes\/r2 does not fit the schema of config\/routes: interface: Invalid length/);
    expect(await receiveAll(queue.url, { idleMs: 300 })).toEqual([]);
    await publisher.put('config/interfaces/eth0', { mtu: 9000 });
    const [sent] = await receiveAll(queue.url, { count: 1 });
    expect(JSON.parse(sent!.Body!)).toMatchObject({ key: 'config/interfaces/eth0', value: { mtu: 9000 } });
  });

  it('resync: an item that does not fit is reported (count and first keys), neither handed over nor deleted', async () => {
    const [stateTable, data, feedbackQueue] = await Promise.all([
      createStateTable(resources),
      createTable(resources, { stream: false }),
      createQueue(resources, { prefix: 'ds-typed-resync' }),
    ]);
    await putItems(clients, data.name, [
      { pk: { S: 'interfaces/eth0' }, mtu: { N: '9000' } },
      { pk: { S: 'interfaces/eth1' }, mtu: { N: '1500' } },
    ]);
    const store = new SyncStateStore({ stateTable, clients });
    const sink = new SqsTestSink(clients, feedbackQueue.url);
    const handed: SnapshotEntry<InterfaceConfig>[][] = [];
    const datasync = createDatasync();
    datasync.watch(
      'interfaces',
      {
        schema: interfaceSchema,
        change: () => {},
        async resync(snapshot) {
          const entries: SnapshotEntry<InterfaceConfig>[] = [];
          for await (const page of snapshot.pages()) entries.push(...page);
          handed.push(entries);
        },
      },
      'config/interfaces',
    );
    const options = { tables: [data.table], store, sink, clients, continueResync: async () => {} };
    const resync = async (id: string) => {
      await runResync(datasync, { datasync: 'resync', resyncId: id, reason: 'manual' }, options);
      return (await sink.read()).find((record): record is ResyncFeedback => record.event === 'resync')!;
    };
    expect(await resync(`typed-1-${Date.now()}`)).toMatchObject({ status: 'ok', items: 2, deleted: 0 });

    // eth1 is overwritten past every check with a value the schema refuses.
    await putItems(clients, data.name, [{ pk: { S: 'interfaces/eth1' }, mtu: { S: 'big' } }]);
    const second = await resync(`typed-2-${Date.now()}`);

    expect(second).toMatchObject({
      status: 'ok',
      items: 1,
      deleted: 0,
      mismatched: 1,
      mismatchedKeys: ['config/interfaces/eth1'],
    });
    expect(handed[1]).toEqual([{ op: 'put', key: 'config/interfaces/eth0', value: { mtu: 9000 } }]);
    // The plugin still holds eth1 as the first resync gave it: not reported deleted.
    const { keys } = await store.heldKeys('interfaces', ['config/interfaces/eth1']);
    expect(keys.get('config/interfaces/eth1')).toMatchObject({ present: true });
  });
});
