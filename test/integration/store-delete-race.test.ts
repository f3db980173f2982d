// A bus delete and an older put of the same key, sent one after the other through two sources
// whose functions run at once (a standard queue and a FIFO queue): a publish returns before the
// store writes, so the put can land in the table while the store is still deciding the delete.
// Whatever the interleaving, the delete wins (it is the newer change), the plugins hear of it
// under its correlation id, and a writer waiting for both ids is answered.
import type { SQSRecord } from 'aws-lambda';
import { lambdaContext as runnerContext, toLambdaSqsRecord } from '../../infra/local/lambda-shapes.ts';
import { createDatasync } from '../../lib/datasync.ts';
import { createFeedbackReader } from '../../lib/feedback/reader.ts';
import type { Change } from '../../lib/model/change.ts';
import { DELETE_CORRELATION_ATTRIBUTE } from '../../lib/model/item.ts';
import { toEnvelope } from '../../lib/model/envelope.ts';
import { createDynamoDbStreamHandler } from '../../lib/sources/dynamodb/handler.ts';
import { createSqsHandler } from '../../lib/sources/sqs/handler.ts';
import { TableStore } from '../../lib/sources/store.ts';
import { createStateTable, createTable, Resources, testClients } from '../support/emulator.ts';
import { asFunction } from '../support/iam/functions.ts';
import { readStreamAsLambdaRecords } from '../support/lambda-events.ts';
import { recordingPlugin } from '../support/plugins.ts';
import { afterCalls } from '../support/sdk-calls.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';

const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());
const context = () => runnerContext('test', 30_000);
const KEY = 'config/interfaces/eth82';

function sqsRecord(id: string, body: object, queueArn: string): SQSRecord {
  return toLambdaSqsRecord(
    { MessageId: id, ReceiptHandle: id, Body: JSON.stringify(body), Attributes: { MessageGroupId: KEY } },
    queueArn,
    'us-east-1',
  );
}

/**
 * Two SQS functions writing one table through their own stores, as the service's standard and FIFO
 * queue mappings do, and its stream function delivering to a plugin. `landPut` makes the standard
 * queue's put land at a chosen point of the FIFO function's delete.
 */
async function service() {
  const data = await createTable(resources, { versionAttribute: 'version' });
  const stateTable = await createStateTable(resources);
  const queues = await createFeedbackQueues(resources);
  const plugin = recordingPlugin('interfaces', ['config/interfaces']);
  const datasync = createDatasync({ plugins: [plugin] });
  const writers = { feedback: queues.feedback, deadLetter: queues.deadLetter, ...quiet };
  const tables = [data.table];
  // The FIFO function's store has its own client, so a test can step in between its calls.
  const fifoClients = testClients();
  const standard = asFunction(
    'sqs',
    createSqsHandler(datasync, { tables, store: new TableStore({ tables, stateTable, clients }), ...writers }),
  );
  const fifo = asFunction(
    'sqs',
    createSqsHandler(datasync, {
      tables,
      store: new TableStore({ tables, stateTable, clients: fifoClients }),
      ...writers,
    }),
  );
  const stream = asFunction('dynamodbStream', createDynamoDbStreamHandler(datasync, { tables, ...writers }));
  let sent = 0;
  const send = async (
    handler: typeof standard,
    queueArn: string,
    change: { op: 'put' | 'delete'; revision: number; correlationId?: string },
  ) => {
    sent += 1;
    const body = toEnvelope({ key: KEY, ...change, ...(change.op === 'put' ? { value: { mtu: 1500 } } : {}) });
    expect(await handler({ Records: [sqsRecord(`m-${sent}`, body, queueArn)] }, context())).toEqual({
      batchItemFailures: [],
    });
  };
  return {
    data,
    plugin,
    feedbackQueueUrl: queues.feedbackQueue.url,
    sendStandard: (change: Parameters<typeof send>[2]) =>
      send(standard, 'arn:aws:sqs:us-east-1:123456789012:changes', change),
    sendFifo: (change: Parameters<typeof send>[2]) =>
      send(fifo, 'arn:aws:sqs:us-east-1:123456789012:changes.fifo', change),
    /** Runs `land` once, right after the FIFO store's first call of `command` that `matches`. */
    landOnce(command: string, matches: (input: Record<string, any>) => boolean, land: () => Promise<void>) {
      let landed = false;
      afterCalls(fifoClients.dynamodb, command, async (input) => {
        if (landed || !matches(input)) return;
        landed = true;
        await land();
      });
    },
    /** Hands the table's stream, from its start, to the stream function. */
    async deliverStream() {
      const records = await readStreamAsLambdaRecords(data.streamArn);
      expect(await stream({ Records: records }, context())).toEqual({ batchItemFailures: [] });
    },
  };
}

const isTag = (input: Record<string, any>) => input.ExpressionAttributeNames?.['#c'] === DELETE_CORRELATION_ATTRIBUTE;
const isDelete = (input: Record<string, any>) =>
  (input.TransactItems as Array<Record<string, unknown>>).some((item) => item.Delete !== undefined);

describe('a bus delete racing an older put of its key from another source', () => {
  it('the put lands after the delete found no item to tag: the delete still wins and names its id', async () => {
    const pipeline = await service();
    pipeline.landOnce('UpdateItemCommand', isTag, () =>
      pipeline.sendStandard({ op: 'put', revision: 1, correlationId: 'c-put' }),
    );
    await pipeline.sendFifo({ op: 'delete', revision: 2, correlationId: 'c-delete' });
    await pipeline.deliverStream();

    expect(await pipeline.data.getItem({ pk: { S: 'interfaces/eth82' } })).toBeUndefined();
    const reader = createFeedbackReader({ queueUrl: pipeline.feedbackQueueUrl, clients, waitTimeSeconds: 1 });
    await reader.waitFor(['c-put', 'c-delete'], { plugins: ['interfaces'], timeoutMs: 5_000 });
    expect(pipeline.plugin.recorded.changes.map((change) => `${change.op} ${change.correlationId}`)).toEqual([
      'put c-put',
      'delete c-delete',
    ]);
    expect(pipeline.plugin.recorded.view.has(KEY)).toBe(false);
  });

  it('the put replaces the item the delete had tagged: the delete still wins and names its id', async () => {
    const pipeline = await service();
    await pipeline.sendStandard({ op: 'put', revision: 1, correlationId: 'c-first' });
    pipeline.landOnce('UpdateItemCommand', isTag, () =>
      pipeline.sendStandard({ op: 'put', revision: 2, correlationId: 'c-put' }),
    );
    await pipeline.sendFifo({ op: 'delete', revision: 3, correlationId: 'c-delete' });
    await pipeline.deliverStream();

    expect(await pipeline.data.getItem({ pk: { S: 'interfaces/eth82' } })).toBeUndefined();
    const reader = createFeedbackReader({ queueUrl: pipeline.feedbackQueueUrl, clients, waitTimeSeconds: 1 });
    await reader.waitFor(['c-first', 'c-put', 'c-delete'], { plugins: ['interfaces'], timeoutMs: 5_000 });
    expect(pipeline.plugin.recorded.changes.map((change) => `${change.op} ${change.correlationId}`)).toEqual([
      'put c-first',
      'put c-put',
      'delete c-delete',
    ]);
  });

  it('the put lands after a delete without an id found nothing to delete: the delete still wins', async () => {
    const pipeline = await service();
    pipeline.landOnce('TransactWriteItemsCommand', isDelete, () => pipeline.sendStandard({ op: 'put', revision: 1 }));
    await pipeline.sendFifo({ op: 'delete', revision: 2 });
    await pipeline.deliverStream();

    expect(await pipeline.data.getItem({ pk: { S: 'interfaces/eth82' } })).toBeUndefined();
    expect(pipeline.plugin.recorded.changes.map((change) => change.op)).toEqual(['put', 'delete']);
    expect(pipeline.plugin.recorded.view.has(KEY)).toBe(false);
  });
});

describe('the store deciding a delete while older puts keep landing', () => {
  const change = (op: 'put' | 'delete', revision: number): Change => ({
    key: KEY,
    op,
    revision: String(revision),
    source: { type: 'sqs', name: 'q', id: `m-${op}-${revision}` },
    time: new Date().toISOString(),
    correlationId: `c-${op}-${revision}`,
    ...(op === 'put' ? { value: { mtu: revision } } : {}),
  });
  const stores = async (stateTable: boolean) => {
    const data = await createTable(resources, { versionAttribute: 'version' });
    const state = stateTable ? { stateTable: await createStateTable(resources) } : {};
    const deleting = testClients();
    return {
      data,
      deleting,
      other: new TableStore({ tables: [data.table], ...state, clients }),
      store: new TableStore({ tables: [data.table], ...state, clients: deleting }),
    };
  };

  it('without a state table, a put that lands after the delete found no item to tag is deleted too', async () => {
    const { data, deleting, other, store } = await stores(false);
    let landed = false;
    afterCalls(deleting.dynamodb, 'UpdateItemCommand', async () => {
      if (landed) return;
      landed = true;
      expect((await other.write([change('put', 1)]))[0]).toMatchObject({ result: 'stored' });
    });
    expect((await store.write([change('delete', 2)]))[0]).toMatchObject({ result: 'stored' });
    expect(await data.getItem({ pk: { S: 'interfaces/eth82' } })).toBeUndefined();
    // The item deleted was the tagged one, so the stream's record of it names the delete.
    const removal = (await readStreamAsLambdaRecords(data.streamArn)).find((r) => r.eventName === 'REMOVE');
    expect(removal?.dynamodb?.OldImage?.[DELETE_CORRELATION_ATTRIBUTE]).toEqual({ S: 'c-delete-2' });
  });

  it('gives up with an error, for the source to retry, when an older put lands every time it looks', async () => {
    const { data, deleting, other, store } = await stores(true);
    // Another older put after each of the delete's tag writes, for as many times as it tries.
    let puts = 0;
    afterCalls(deleting.dynamodb, 'UpdateItemCommand', async (input) => {
      if (isTag(input) && puts < 5) await other.write([change('put', ++puts)]);
    });
    const [outcome] = await store.write([change('delete', 100)]);
    expect(outcome).toMatchObject({ error: { code: 'PUBLISH_FAILED', message: expect.stringMatching(/5 times/) } });
    expect(puts).toBe(5);
    // Nothing is lost: the source delivers the delete again, and then it wins.
    expect((await store.write([change('delete', 100)]))[0]).toMatchObject({ result: 'stored' });
    expect(await data.getItem({ pk: { S: 'interfaces/eth82' } })).toBeUndefined();
  });
});
