import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import {
  createDatasync,
  createResyncHandler,
  DynamoDbLedger,
  FailureTracker,
  readPluginStates,
  requestResync,
  runResync,
  SyncStateStore,
  type ResyncFeedback,
  type ResyncHandlerOptions,
  type ResyncRunResult,
  type TableConfig,
  type FeedbackRecord,
} from '../../lib/index.ts';
import type { Message } from '@aws-sdk/client-sqs';
import {
  createQueue,
  createStateTable,
  createTable,
  drainQueue,
  putItems,
  Resources,
  testClients,
} from '../support/emulator.ts';
import { SqsTestSink } from '../support/sinks.ts';
import { event, put } from '../support/changes.ts';
import { recordingPlugin } from '../support/plugins.ts';
import type { SQSBatchResponse } from 'aws-lambda';
import { asFunction } from '../support/iam/functions.ts';

const clients = testClients({ maxAttempts: 2 });
const resources = new Resources(clients);
afterAll(() => resources.dispose());

/** A Lambda context with a fixed remaining time. */
function lambdaContext(remainingMs: number): Context {
  return {
    functionName: 'resync',
    awsRequestId: 'req',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

function sqsEvent(messages: readonly Message[], queueUrl: string): SQSEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.MessageId!,
      receiptHandle: 'r',
      body: message.Body!,
      attributes: {} as never,
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queueUrl.split('/').pop()}`,
      awsRegion: 'us-east-1',
    })),
  };
}

async function setup(count: number) {
  const [stateTable, { name: itemTable }, { url: feedbackQueue }, { url: resyncQueue }] = await Promise.all([
    createStateTable(resources),
    createTable(resources, { stream: false }),
    createQueue(resources, { prefix: 'ds-feedback', standsFor: 'FeedbackQueue' }),
    createQueue(resources, { prefix: 'ds-resync', standsFor: 'ResyncQueue' }),
  ]);
  const items: Array<Record<string, AttributeValue>> = Array.from({ length: count }, (_, index) => ({
    pk: { S: `k/${String(index).padStart(3, '0')}` },
    n: { N: String(index) },
  }));
  await putItems(clients, itemTable, items);
  const store = new SyncStateStore({ stateTable, clients });
  const sink = new SqsTestSink(clients, feedbackQueue);
  const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'] };
  const options: ResyncHandlerOptions = { sink, store, clients, tables: [table], resyncQueueUrl: resyncQueue };
  return { store, sink, table, options, resyncQueue };
}

describe('the resync handler', () => {
  test('a resync forced to checkpoint resumes through the request queue and hands every item over exactly once', async () => {
    const { options, sink, resyncQueue } = await setup(30);
    const first = recordingPlugin('first', ['config/k'], []);
    const second = recordingPlugin('second', ['config/k'], []);
    const datasync = createDatasync({ plugins: [first, second] });
    // Less than the margin is always left: every invocation does one page, then checkpoints.
    const handler = asFunction('resync', createResyncHandler(datasync, { ...options, pageSize: 8, marginMs: 8_000 }));
    const progress: string[] = [];
    const watched = asFunction(
      'resync',
      createResyncHandler(datasync, {
        ...options,
        pageSize: 8,
        marginMs: 8_000,
        onProgress: (step) => progress.push(`${step.plugin}:${step.phase}:${step.items}`),
      }),
    );

    const started = (await handler(
      { datasync: 'resync', resyncId: 'long-1', reason: 'manual' },
      lambdaContext(6_000),
    )) as ResyncRunResult;
    expect(started).toMatchObject({ resyncId: 'long-1', continued: true });

    let invocations = 1;
    for (;;) {
      const messages = await drainQueue(clients, resyncQueue);
      if (messages.length === 0) break;
      expect(messages.map((message) => JSON.parse(message.Body!))).toEqual([
        { datasync: 'resync', resyncId: 'long-1', reason: 'continuation' },
      ]);
      const response = (await watched(sqsEvent(messages, resyncQueue), lambdaContext(6_000))) as SQSBatchResponse;
      expect(response.batchItemFailures).toEqual([]);
      invocations += 1;
      expect(invocations).toBeLessThan(40);
    }

    for (const plugin of [first, second]) {
      const keys = plugin.recorded.entries.map((entry) => entry.key);
      expect(keys).toHaveLength(30);
      expect(new Set(keys).size).toBe(30);
      // Begun once (part 1) and finished once (the only call whose snapshot did not continue).
      const parts = plugin.recorded.contexts.map((context) => context.part);
      expect(parts).toEqual(parts.map((_, index) => index + 1));
      expect(plugin.recorded.continues.filter((continues) => !continues)).toHaveLength(1);
      expect(plugin.recorded.continues.at(-1)).toBe(false);
      expect(parts.length).toBeGreaterThan(2);
    }
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.plugin, record.status, record.items, record.resyncId])).toEqual([
      ['first', 'ok', 30, 'long-1'],
      ['second', 'ok', 30, 'long-1'],
    ]);
    expect(feedback[0]!.parts).toBe(first.recorded.contexts.length);
    expect(progress).toContain('first:checkpoint:16');
    expect(progress.at(-1)).toBe('second:finished:30');
  });

  test('a scheduled event resyncs every plugin; an empty invoke (first start) only those that never synced', async () => {
    const { options, sink, store } = await setup(3);
    const log: string[] = [];
    const a = recordingPlugin('a', ['config/k'], log);
    const b = recordingPlugin('b', ['config/k'], log);
    const datasync = createDatasync({ plugins: [a, b] });
    const handler = asFunction('resync', createResyncHandler(datasync, options));
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: 'only-a', reason: 'manual', plugins: ['a'] },
      { ...options, sink, store, tables: options.tables! },
    );
    log.length = 0;

    const firstStart = (await handler({}, lambdaContext(60_000))) as ResyncRunResult;
    expect(firstStart.reason).toBe('first-start');
    expect(log).toEqual(['b:resync:start', 'b:resync:end']);

    log.length = 0;
    const scheduled = (await handler(
      { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
      lambdaContext(60_000),
    )) as ResyncRunResult;
    expect(scheduled.reason).toBe('schedule');
    expect(log).toEqual(['a:resync:start', 'a:resync:end', 'b:resync:start', 'b:resync:end']);
    const states = await readPluginStates(datasync, { store });
    expect(states.map((state) => [state.status, state.resyncId])).toEqual([
      ['in-sync', scheduled.resyncId],
      ['in-sync', scheduled.resyncId],
    ]);
  });

  test('a malformed request is rejected in feedback and left for the dead-letter queue; the rest of the batch runs', async () => {
    const { options, sink, resyncQueue } = await setup(2);
    const plugin = recordingPlugin('p', ['config/k'], []);
    const handler = asFunction('resync', createResyncHandler(createDatasync({ plugins: [plugin] }), options));
    const response = (await handler(
      sqsEvent(
        [
          { MessageId: 'bad-json', Body: 'not json' },
          { MessageId: 'bad-plugin', Body: JSON.stringify({ datasync: 'resync', plugins: ['nope'] }) },
          { MessageId: 'good', Body: JSON.stringify({ datasync: 'resync', resyncId: 'ok-1' }) },
        ],
        resyncQueue,
      ),
      lambdaContext(60_000),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad-json' }, { itemIdentifier: 'bad-plugin' }]);
    const feedback = await sink.read();
    expect(feedback.map((record: FeedbackRecord) => [record.event, record.status, record.error?.code])).toEqual([
      ['rejected', 'error', 'INVALID_REQUEST'],
      ['rejected', 'error', 'UNKNOWN_PLUGIN'],
      ['resync', 'ok', undefined],
    ]);
    expect(plugin.recorded.entries).toHaveLength(2);
  });

  test('a plugin that keeps failing changes is marked out of sync, its resync is requested and run, and held changes follow', async () => {
    const { options, store, resyncQueue } = await setup(2);
    let failing = true;
    const plugin = recordingPlugin('p', ['config/k'], [], {
      onChange: () => {
        if (failing) throw new Error('backend down');
      },
    });
    const ledger = new DynamoDbLedger({ store });
    const datasync = createDatasync({ plugins: [plugin], ledger });
    const tracker = new FailureTracker({
      store,
      ledger,
      threshold: 3,
      requestResync: (name) =>
        requestResync({ plugins: [name], reason: 'failing-plugin', queueUrl: resyncQueue, clients }),
    });
    const handler = asFunction('resync', createResyncHandler(datasync, options));
    await handler({ datasync: 'resync', resyncId: 'initial' }, lambdaContext(60_000));

    for (let revision = 1; revision <= 3; revision += 1) {
      const outcomes = await datasync.dispatch(event([put('config/k/000', { n: revision }, revision)]));
      const [record] = await tracker.record(outcomes);
      expect(record).toMatchObject({ failures: revision, markedOutOfSync: revision === 3 });
    }
    expect((await readPluginStates(['p'], { store }))[0]).toMatchObject({
      status: 'out-of-sync',
      failures: 3,
      lastError: { code: 'PLUGIN_FAILED' },
    });
    // Out of sync: the next change is held, not delivered (and not failed).
    failing = false;
    const held = await datasync.dispatch(event([put('config/k/001', { n: 9 }, 9)]));
    expect(held[0]!.feedback.held).toHaveLength(1);

    const requests = await drainQueue(clients, resyncQueue);
    expect(requests.map((message) => JSON.parse(message.Body!))).toEqual([
      expect.objectContaining({ datasync: 'resync', plugins: ['p'], reason: 'failing-plugin' }),
    ]);
    await handler(sqsEvent(requests, resyncQueue), lambdaContext(60_000));

    expect((await readPluginStates(['p'], { store }))[0]).toMatchObject({ status: 'in-sync', failures: 0 });
    expect(plugin.recorded.changes.map((change) => `${change.key}@${change.revision}`)).toEqual(['config/k/001@9']);
    expect(plugin.recorded.view.get('config/k/001')).toEqual({ n: 9 });
  });

  test('requests made before a resync of the same plugins began merge into it; one made after runs', async () => {
    const { options, sink, resyncQueue } = await setup(4);
    const log: string[] = [];
    const datasync = createDatasync({ plugins: [recordingPlugin('a', ['config/k'], log)] });
    const handler = asFunction('resync', createResyncHandler(datasync, options));
    // A burst of POST /resync: three requests wait on the queue while the function is busy.
    for (let i = 0; i < 3; i += 1) await requestResync({ plugins: ['a'], queueUrl: resyncQueue, clients });
    const burst = await drainQueue(clients, resyncQueue);
    expect(burst).toHaveLength(3);
    // The requests were made a while before the function takes them.
    const waited = burst.map((message) => ({
      ...message,
      Body: JSON.stringify({ ...JSON.parse(message.Body!), requestedAt: new Date(Date.now() - 5_000).toISOString() }),
    }));

    await handler(sqsEvent(waited, resyncQueue), lambdaContext(60_000));

    // One scan answered all three.
    expect(log).toEqual(['a:resync:start', 'a:resync:end']);
    const feedback = (await sink.read()).filter((record) => record.event === 'resync');
    const [first, ...merged] = feedback as Array<{ resyncId: string; items: number; mergedInto?: string }>;
    expect(first).toMatchObject({ items: 4 });
    expect(first!.mergedInto).toBeUndefined();
    expect(merged).toEqual([
      expect.objectContaining({ status: 'ok', items: 0, mergedInto: first!.resyncId }),
      expect.objectContaining({ status: 'ok', items: 0, mergedInto: first!.resyncId }),
    ]);

    // A request made after that resync began is not answered by it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await requestResync({ plugins: ['a'], queueUrl: resyncQueue, clients });
    await handler(sqsEvent(await drainQueue(clients, resyncQueue), resyncQueue), lambdaContext(60_000));
    expect(log).toEqual(['a:resync:start', 'a:resync:end', 'a:resync:start', 'a:resync:end']);
    expect((await sink.read()).filter((record) => record.event === 'resync')).toEqual([
      expect.objectContaining({ status: 'ok', items: 4 }),
    ]);
  });
});
