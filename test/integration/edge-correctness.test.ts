// The change model at the edges, driven as clients drive it: table writes from tools that know
// nothing of versions, the HTTP API, bus messages, invocations at once. Each case is a defect that
// was seen from outside; each must stay fixed.
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import { lambdaContext as runnerContext, toLambdaSqsRecord } from '../../infra/local/lambda-shapes.ts';
import { createDatasync } from '../../lib/datasync.ts';
import { createFeedbackReader } from '../../lib/feedback/reader.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import type { Change } from '../../lib/model/change.ts';
import { toEnvelope } from '../../lib/model/envelope.ts';
import { runResync } from '../../lib/resync/engine.ts';
import { createDynamoDbStreamHandler } from '../../lib/sources/dynamodb/handler.ts';
import { createEventBridgeHandler } from '../../lib/sources/eventbridge/handler.ts';
import { OrderedQueueForwarder } from '../../lib/sources/forward.ts';
import { createHttpHandler } from '../../lib/sources/http/handler.ts';
import { createHttpTableWriter } from '../../lib/sources/http/table-writer.ts';
import { createSqsHandler } from '../../lib/sources/sqs/handler.ts';
import { TableStore } from '../../lib/sources/store.ts';
import { DynamoDbLedger } from '../../lib/state/ledger.ts';
import { SyncStateStore } from '../../lib/state/store.ts';
import { streamPut } from '../support/changes.ts';
import {
  createQueue,
  createStateTable,
  createTable,
  receiveAll,
  receiveBodies,
  Resources,
  testClients,
} from '../support/emulator.ts';
import { asFunction } from '../support/iam/functions.ts';
import { readStreamAsLambdaRecords } from '../support/lambda-events.ts';
import { commitFor, planFor } from '../support/ledger.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';

const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());
const context = () => runnerContext('test', 30_000);

/** A plugin that records what it is given, in order, and how many callbacks run at once. */
function recordingPlugin(name: string, prefixes: string[], delayMs = 0) {
  const applied: Change[] = [];
  const view = new Map<string, unknown>();
  let running = 0;
  let mostAtOnce = 0;
  return {
    applied,
    view,
    mostAtOnce: () => mostAtOnce,
    plugin: {
      name,
      prefixes,
      async change(changes: readonly Change[]) {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        for (const change of changes) {
          applied.push(change);
          if (change.op === 'put') view.set(change.key, change.value);
          else view.delete(change.key);
        }
        running -= 1;
      },
      async resync(snapshot: import('../../lib/plugins/plugin.ts').Snapshot) {
        for await (const page of snapshot.pages())
          for (const entry of page) if (entry.op === 'put') view.set(entry.key, entry.value);
      },
    },
  };
}

/** Resyncs the plugins once (nothing in any table), so they receive changes. */
async function firstResync(datasync: ReturnType<typeof createDatasync>, store: SyncStateStore, id: string) {
  await runResync(
    datasync,
    { datasync: 'resync', resyncId: id, reason: 'manual' },
    {
      tables: [],
      store,
      clients,
      sink: { write: async () => {} },
      continueResync: async () => {},
    },
  );
}

function httpEvent(method: string, key: string, body?: unknown, correlationId?: string): APIGatewayProxyEventV2 {
  const routeKey = `${method} /keys/{key+}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: `/keys/${key}`,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      ...(correlationId ? { 'x-correlation-id': correlationId } : {}),
    },
    pathParameters: { key },
    requestContext: {
      http: { method, path: `/keys/${key}` },
      requestId: `r-${Math.random()}`,
      routeKey,
      stage: '$default',
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

function sqsRecords(messages: ReadonlyArray<{ id: string; body: string }>, queueArn: string): SQSRecord[] {
  return messages.map(({ id, body }) =>
    toLambdaSqsRecord(
      { MessageId: id, ReceiptHandle: id, Body: body, Attributes: { SentTimestamp: String(Date.now()) } },
      queueArn,
      'us-east-1',
    ),
  );
}

describe('one order per key, whoever writes it', () => {
  it('a key a tool wrote without a version, then written through the HTTP API, reaches the plugins as the table holds it', async () => {
    const data = await createTable(resources, { versionAttribute: 'version' });
    const stateTable = await createStateTable(resources);
    const queues = await createFeedbackQueues(resources);
    const ledger = new DynamoDbLedger({ stateTable, clients });
    const interfaces = recordingPlugin('interfaces', ['config/interfaces']);
    const datasync = createDatasync({ plugins: [interfaces.plugin], ledger });
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: 'r-mixed', reason: 'manual' },
      {
        tables: [data.table],
        store: ledger.store,
        clients,
        sink: queues.feedback,
        continueResync: async () => {},
      },
    );
    // A tool that knows nothing of versions, then the HTTP API (which keeps versions from its clock).
    await clients.dynamodb.send(
      new PutItemCommand({ TableName: data.name, Item: { pk: { S: 'interfaces/rc-mix' }, mtu: { N: '1000' } } }),
    );
    const http = asFunction(
      'http',
      createHttpHandler(datasync, {
        tables: [data.table],
        publish: createHttpTableWriter({ tables: [data.table], stateTable, clients }),
        requestResync: async () => undefined,
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    const answer = await http(httpEvent('PUT', 'config/interfaces/rc-mix', { mtu: 2000 }, 'c-mix'), context());
    expect(answer.statusCode).toBe(200);

    const stream = asFunction(
      'dynamodbStream',
      createDynamoDbStreamHandler(datasync, {
        tables: [data.table],
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    const records = await readStreamAsLambdaRecords(data.streamArn);
    expect(records).toHaveLength(2);
    expect(await stream({ Records: records }, context())).toEqual({ batchItemFailures: [] });
    // Both writes were applied, in the table's order, and the view is what the table holds.
    expect(interfaces.applied.map((change) => change.value)).toEqual([{ mtu: 1000 }, { mtu: 2000 }]);
    expect(interfaces.view.get('config/interfaces/rc-mix')).toEqual({ mtu: 2000 });
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { idleMs: 500 });
    const forHttp = feedback.find(
      (record) => record.event === 'change' && record.changes.some((ref) => ref.correlationId === 'c-mix'),
    );
    expect(forHttp).toMatchObject({ status: 'ok' });
    expect(forHttp && 'skipped' in forHttp ? forHttp.skipped : undefined).toBeUndefined();
  });
});

describe('order under concurrency', () => {
  it('two dispatches of one key in one process: the older one is never applied after the newer', async () => {
    const stateTable = await createStateTable(resources);
    const ledger = new DynamoDbLedger({ stateTable, clients });
    const slow = recordingPlugin('slow', ['evt'], 150);
    const datasync = createDatasync({ plugins: [slow.plugin], ledger });
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: 'r-lock', reason: 'manual' },
      {
        tables: [],
        store: ledger.store,
        clients,
        sink: { write: async () => {} },
        continueResync: async () => {},
      },
    );
    const change = (revision: string, n: number): Change => ({
      key: 'evt/k',
      op: 'put',
      value: { n },
      revision,
      source: { type: 'sqs', name: 'q' },
      time: new Date().toISOString(),
    });
    const event = (c: Change) => ({ changes: [c], source: c.source });
    const [second, first] = await Promise.all([
      datasync.dispatch(event(change('2', 2))),
      datasync.dispatch(event(change('1', 1))),
    ]);
    expect(slow.applied.map((c) => c.revision)).toEqual(['2']);
    expect(second[0]!.feedback).toMatchObject({ status: 'ok', changes: [{ revision: '2' }] });
    expect(first[0]!.feedback).toMatchObject({ status: 'ok', changes: [], skipped: [{ revision: '1' }] });
    const { keys } = await ledger.store.heldKeys('slow', ['evt/k']);
    expect(keys.get('evt/k')).toMatchObject({ revision: '2' });
  });

  it('two containers that planned the same key: the later commit is refused, so the ledger never moves back', async () => {
    const stateTable = await createStateTable(resources);
    const one = new DynamoDbLedger({ stateTable, clients });
    const two = new DynamoDbLedger({ store: new SyncStateStore({ stateTable, clients }) });
    await firstResync(createDatasync({ plugins: [recordingPlugin('p', ['evt']).plugin] }), one.store, 'r-two');
    const newer = await planFor(one, 'p', [streamPut('evt/k', 1, 2)]);
    const older = await planFor(two, 'p', [streamPut('evt/k', 1, 1)]);
    await commitFor(one, 'p', newer);
    await expect(commitFor(two, 'p', older)).rejects.toThrow(/another delivery recorded evt\/k/);
    const { keys } = await one.store.heldKeys('p', ['evt/k']);
    expect(keys.get('evt/k')).toMatchObject({ revision: '2' });
  });

  it('standard-queue invocations at once in two containers: each key reaches the plugin a batch at a time, in revision order', async () => {
    const stateTable = await createStateTable(resources);
    const queues = await createFeedbackQueues(resources);
    const ordered = await createQueue(resources, { fifo: true, prefix: 'ds-ordered', standsFor: 'ChangesFifoQueue' });
    const source = await createQueue(resources, { prefix: 'ds-changes', standsFor: 'ChangesQueue' });
    const events = recordingPlugin('events', ['evt'], 100);
    const container = () => {
      const ledger = new DynamoDbLedger({ stateTable, clients });
      const datasync = createDatasync({ plugins: [events.plugin], ledger });
      return {
        ledger,
        datasync,
        sqs: asFunction(
          'sqs',
          createSqsHandler(datasync, {
            tables: [],
            orderedQueue: new OrderedQueueForwarder({ queueUrl: ordered.url, sqs: clients.sqs }),
            feedback: queues.feedback,
            deadLetter: queues.deadLetter,
            ...quiet,
          }),
        ),
      };
    };
    const [a, b] = [container(), container()];
    await runResync(
      a.datasync,
      { datasync: 'resync', resyncId: 'r-fifo', reason: 'manual' },
      {
        tables: [],
        store: a.ledger.store,
        clients,
        sink: { write: async () => {} },
        continueResync: async () => {},
      },
    );
    // Revisions 2 and 1 of one key, and one other key, taken by two invocations at once.
    const body = (key: string, revision: number) =>
      JSON.stringify(
        toEnvelope({ key, op: 'put', value: { n: revision }, revision, correlationId: `${key}@${revision}` }),
      );
    await Promise.all([
      a.sqs(
        {
          Records: sqsRecords(
            [
              { id: 'm2', body: body('evt/k', 2) },
              { id: 'm9', body: body('evt/other', 9) },
            ],
            source.arn,
          ),
        },
        context(),
      ),
      b.sqs({ Records: sqsRecords([{ id: 'm1', body: body('evt/k', 1) }], source.arn) }, context()),
    ]);
    // Nothing was delivered from the standard queue: the changes moved to the FIFO queue.
    expect(events.applied).toEqual([]);
    const moved = await receiveAll(ordered.url, { count: 3, remove: true });
    expect(moved.map((message) => message.Attributes?.MessageGroupId).sort()).toEqual(['evt/k', 'evt/k', 'evt/other']);
    // The FIFO queue hands a group to one invocation: each group's messages go to one container.
    const groups = new Map<string, typeof moved>();
    for (const message of moved) {
      const group = message.Attributes!.MessageGroupId!;
      groups.set(group, [...(groups.get(group) ?? []), message]);
    }
    const [first, second] = [...groups.values()];
    await Promise.all([
      a.sqs({ Records: first!.map((m) => toLambdaSqsRecord(m, ordered.arn, 'us-east-1')) }, context()),
      b.sqs({ Records: second!.map((m) => toLambdaSqsRecord(m, ordered.arn, 'us-east-1')) }, context()),
    ]);
    const ofKey = events.applied.filter((change) => change.key === 'evt/k').map((change) => Number(change.revision));
    expect(ofKey.length).toBeGreaterThanOrEqual(1);
    expect([...ofKey].sort((x, y) => x - y)).toEqual(ofKey);
    expect(events.view.get('evt/k')).toEqual({ n: 2 });
    const { keys } = await a.ledger.store.heldKeys('events', ['evt/k']);
    expect(keys.get('evt/k')).toMatchObject({ revision: '2' });
  });
});

describe('numbers and values, the same on every edge', () => {
  it('refuses a number JSON would round, on SQS, EventBridge and HTTP, and keeps a $number exactly', async () => {
    const queues = await createFeedbackQueues(resources);
    const seen = recordingPlugin('all', ['evt']);
    const datasync = createDatasync({ plugins: [seen.plugin] });
    const sqs = createSqsHandler(datasync, {
      tables: [],
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    const big = '12345678901234567890123456789012345678';
    const raw = (key: string, value: string) =>
      `{"datasync":1,"key":"${key}","op":"put","value":${value},"correlationId":"${key}"}`;
    const response = await sqs(
      {
        Records: sqsRecords(
          [
            { id: 'big', body: raw('evt/big', `{"n":${big}}`) },
            { id: 'safe-plus-one', body: raw('evt/edge', '{"n":9007199254740993}') },
            { id: 'exact', body: raw('evt/exact', `{"n":{"$number":"${big}"}}`) },
            { id: 'plain', body: raw('evt/plain', '{"n":0.1,"m":1e3}') },
          ],
          'arn:aws:sqs:us-east-1:000000000000:ds-numbers',
        ),
      },
      context(),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen.view.get('evt/exact')).toEqual({ n: { $number: big } });
    expect(seen.view.get('evt/plain')).toEqual({ n: 0.1, m: 1000 });
    expect(seen.view.has('evt/big')).toBe(false);
    expect(seen.view.has('evt/edge')).toBe(false);
    const rejected = (await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { idleMs: 500 })).filter(
      (record) => record.event === 'rejected',
    );
    expect(rejected.map((record) => record.correlationId).sort()).toEqual(['evt/big', 'evt/edge']);
    for (const record of rejected) expect(record.error?.message).toMatch(/cannot be read exactly .*\$number/);

    // EventBridge hands Lambda the event already parsed: an integer beyond 2^53 may be rounded, so it is refused.
    const eventbridge = createEventBridgeHandler(datasync, {
      tables: [],
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    const event = {
      version: '0',
      id: 'e-big',
      'detail-type': 'datasync.change',
      source: 'serverless-datasync',
      time: new Date().toISOString(),
      detail: { datasync: 1, key: 'evt/bus', op: 'put', value: { n: 2 ** 60 }, correlationId: 'c-bus' },
    };
    expect(await eventbridge(event as never, context())).toEqual({ status: 'rejected' });
    expect(seen.view.has('evt/bus')).toBe(false);

    const http = createHttpHandler(datasync, {
      tables: [],
      publish: { put: async () => ({}), delete: async () => ({}) },
      requestResync: async () => undefined,
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    const answer = await http(httpEvent('PUT', 'evt/http', `{"n":${big}}`), context());
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body as string).error.message).toMatch(/\$number/);
  });

  it('a value a table cannot hold is refused at the edge, alone; the rest of its batch is stored', async () => {
    const data = await createTable(resources, { versionAttribute: 'version' });
    const stateTable = await createStateTable(resources);
    const queues = await createFeedbackQueues(resources);
    const datasync = createDatasync();
    const sqs = asFunction(
      'sqs',
      createSqsHandler(datasync, {
        tables: [data.table],
        store: new TableStore({ tables: [data.table], stateTable, clients }),
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    const body = (key: string, value: unknown) =>
      JSON.stringify(toEnvelope({ key, op: 'put', value: value as never, correlationId: key }));
    const response = await sqs(
      {
        Records: sqsRecords(
          [
            { id: 'a', body: body('config/interfaces/a', { mtu: 1 }) },
            { id: 'bad', body: body('config/interfaces/bad', 42) },
            { id: 'b', body: body('config/interfaces/b', { mtu: 2 }) },
          ],
          'arn:aws:sqs:us-east-1:000000000000:ds-values',
        ),
      },
      context(),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await data.getItem({ pk: { S: 'interfaces/a' } }))?.mtu).toEqual({ N: '1' });
    expect((await data.getItem({ pk: { S: 'interfaces/b' } }))?.mtu).toEqual({ N: '2' });
    expect(await data.getItem({ pk: { S: 'interfaces/bad' } })).toBeUndefined();
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { idleMs: 500 });
    expect(feedback.find((record) => record.event === 'rejected')).toMatchObject({
      key: 'config/interfaces/bad',
      correlationId: 'config/interfaces/bad',
      error: { message: expect.stringMatching(/must be a JSON object/) },
    });
    const [dead] = await receiveBodies<{ key: string; correlationId: string }>(queues.deadLetterQueue.url, {
      count: 1,
    });
    expect(dead).toMatchObject({ key: 'config/interfaces/bad', correlationId: 'config/interfaces/bad' });
  });
});

describe('every refusal and every settled write names its correlation id', () => {
  it('waitFor settles on a refused bus message, a refused HTTP request and a delete of a missing key', async () => {
    const data = await createTable(resources, { versionAttribute: 'version' });
    const stateTable = await createStateTable(resources);
    const queues = await createFeedbackQueues(resources);
    const source = await createQueue(resources, { prefix: 'ds-refused' });
    const datasync = createDatasync();
    const sqs = createSqsHandler(datasync, {
      tables: [],
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: source.url,
        MessageBody: '{"datasync":1,"key":"evt/x","op":"rename","correlationId":"c-refused"}',
      }),
    );
    const messages = await receiveAll(source.url, { count: 1, remove: true, clients });
    await sqs({ Records: messages.map((m) => toLambdaSqsRecord(m, source.arn, 'us-east-1')) }, context());

    const http = createHttpHandler(datasync, {
      tables: [data.table],
      publish: createHttpTableWriter({ tables: [data.table], stateTable, clients }),
      requestResync: async () => undefined,
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    expect((await http(httpEvent('PUT', 'config/a/../b', { n: 1 }, 'c-http-400'), context())).statusCode).toBe(400);
    const missing = await http(httpEvent('DELETE', 'config/none', undefined, 'c-nothing'), context());
    expect(JSON.parse(missing.body as string)).toMatchObject({
      op: 'delete',
      unchanged: true,
      correlationId: 'c-nothing',
    });

    const reader = createFeedbackReader({ queueUrl: queues.feedbackQueue.url, clients, waitTimeSeconds: 1 });
    const settled = await reader.waitFor(['c-refused', 'c-http-400', 'c-nothing'], {
      timeoutMs: 15_000,
      plugins: ['p'],
    });
    expect(settled.get('c-refused')).toEqual([
      expect.objectContaining({ event: 'rejected', correlationId: 'c-refused' }),
    ]);
    expect(settled.get('c-http-400')).toEqual([
      expect.objectContaining({ event: 'rejected', correlationId: 'c-http-400' }),
    ]);
    expect(settled.get('c-nothing')).toEqual([
      expect.objectContaining({ event: 'stored', skipped: [expect.objectContaining({ correlationId: 'c-nothing' })] }),
    ]);
  });

  it('EventBridge feedback names the bus the function is told of', async () => {
    const queues = await createFeedbackQueues(resources);
    const seen = recordingPlugin('bus', ['evt']);
    const eventbridge = createEventBridgeHandler(createDatasync({ plugins: [seen.plugin] }), {
      tables: [],
      env: { DATASYNC_EVENT_BUS: 'my-bus' },
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    await eventbridge(
      {
        version: '0',
        id: 'e-1',
        'detail-type': 'datasync.change',
        source: 'serverless-datasync',
        time: new Date().toISOString(),
        detail: { datasync: 1, key: 'evt/one', op: 'put', value: { n: 1 } },
      } as never,
      context(),
    );
    const [record] = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 1 });
    expect(record).toMatchObject({ event: 'change', source: { type: 'eventbridge', name: 'my-bus' } });
  });
});

describe('a plugin failing on one change', () => {
  it('reports only that change failed: the rest of its batch is applied once and not delivered again', async () => {
    const queues = await createFeedbackQueues(resources);
    const { ChangeFailures } = await import('../../lib/errors.ts');
    const applied: string[] = [];
    const datasync = createDatasync({
      plugins: [
        {
          name: 'picky',
          prefixes: ['evt'],
          change(changes) {
            const bad = changes.filter((change) => change.key === 'evt/bad');
            for (const change of changes) if (!bad.includes(change)) applied.push(change.key);
            if (bad.length > 0)
              throw new ChangeFailures(bad.map((change) => ({ change, error: new Error('refused by the device') })));
          },
          resync() {},
        },
      ],
    });
    const sqs = createSqsHandler(datasync, {
      tables: [],
      feedback: queues.feedback,
      deadLetter: queues.deadLetter,
      ...quiet,
    });
    const body = (key: string) => JSON.stringify(toEnvelope({ key, op: 'put', value: { n: 1 }, revision: 1 }));
    const response = await sqs(
      {
        Records: sqsRecords(
          [
            { id: 'ok-1', body: body('evt/one') },
            { id: 'bad', body: body('evt/bad') },
            { id: 'ok-2', body: body('evt/two') },
          ],
          'arn:aws:sqs:us-east-1:000000000000:ds-picky',
        ),
      },
      context(),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(applied).toEqual(['evt/one', 'evt/two']);
    const [record] = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 1 });
    expect(record).toMatchObject({
      status: 'error',
      changes: [{ key: 'evt/bad' }],
      applied: [{ key: 'evt/one' }, { key: 'evt/two' }],
    });
  });
});
