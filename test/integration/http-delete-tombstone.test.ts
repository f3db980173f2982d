// An HTTP DELETE and a bus put of the same key, the put sent first: a publish returns before the
// store writes, so the put can reach the table after the delete. The delete is the newer change and
// must win even when it found nothing to delete; a put newer than the delete still writes the key.
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { lambdaContext as runnerContext, toLambdaSqsRecord } from '../../infra/local/lambda-shapes.ts';
import { createDatasync } from '../../lib/datasync.ts';
import { createFeedbackReader } from '../../lib/feedback/reader.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import { toEnvelope } from '../../lib/model/envelope.ts';
import { clockRevision, type Revision } from '../../lib/model/revision.ts';
import { createHttpHandler } from '../../lib/sources/http/handler.ts';
import { createHttpTableWriter } from '../../lib/sources/http/table-writer.ts';
import { createSqsHandler } from '../../lib/sources/sqs/handler.ts';
import { TableStore } from '../../lib/sources/store.ts';
import { keyRowKey } from '../../lib/state/table.ts';
import { createStateTable, createTable, Resources, testClients } from '../support/emulator.ts';
import { asFunction } from '../support/iam/functions.ts';
import { httpApiRequest } from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';

jest.setTimeout(30_000);
const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());
const context = () => runnerContext('test', 30_000);
const KEY = 'config/interfaces/eth70';
const ITEM_KEY = { pk: { S: 'interfaces/eth70' } };

/** The HTTP and SQS functions as the service builds them, over one table and its state table. */
async function service() {
  const data = await createTable(resources, { versionAttribute: 'version' });
  const stateTable = await createStateTable(resources);
  const queues = await createFeedbackQueues(resources);
  const datasync = createDatasync();
  const writers = { feedback: queues.feedback, deadLetter: queues.deadLetter, ...quiet };
  const tables = [data.table];
  const http = asFunction(
    'http',
    createHttpHandler(datasync, {
      tables,
      publish: createHttpTableWriter({ tables, stateTable, clients }),
      requestResync: async () => undefined,
      ...writers,
    }),
  );
  const sqs = asFunction(
    'sqs',
    createSqsHandler(datasync, { tables, store: new TableStore({ tables, stateTable, clients }), ...writers }),
  );
  let sent = 0;
  return {
    data,
    stateTable,
    async del(correlationId: string) {
      const response = await http(
        httpApiRequest('DELETE', `/keys/${KEY}`, { headers: { 'x-correlation-id': correlationId } }),
        context(),
      );
      expect(response.statusCode).toBe(200);
      return JSON.parse(response.body as string) as Record<string, unknown>;
    },
    /** A bus put of the key, as the SQS function receives it from the standard queue. */
    async put(revision: Revision, correlationId: string) {
      sent += 1;
      const body = toEnvelope({ key: KEY, op: 'put', value: { mtu: 1500 }, revision, correlationId });
      const record = toLambdaSqsRecord(
        { MessageId: `m-${sent}`, ReceiptHandle: `m-${sent}`, Body: JSON.stringify(body) },
        'arn:aws:sqs:us-east-1:123456789012:changes',
        'us-east-1',
      );
      expect(await sqs({ Records: [record] }, context())).toEqual({ batchItemFailures: [] });
    },
    /** The feedback records that settle the ids (a `stored` record with the id under `skipped` or `changes`). */
    async settled(ids: string[]) {
      const reader = createFeedbackReader({ queueUrl: queues.feedbackQueue.url, clients, waitTimeSeconds: 1 });
      return reader.waitFor(ids, { plugins: [], timeoutMs: 10_000 });
    },
  };
}

const skippedIds = (records: readonly FeedbackRecord[] | undefined) =>
  (records ?? []).flatMap((record) =>
    record.event === 'stored' ? (record.skipped ?? []).map((ref) => ref.correlationId) : [],
  );

describe('an HTTP DELETE of a key the table does not hold', () => {
  it('is remembered: an older bus put of the key that arrives after it is skipped', async () => {
    const pipeline = await service();
    // The put is stamped (sent) before the delete, and reaches the store after it. A second
    // before: two clocks' revisions of one millisecond differ only in their random node number,
    // so one taken just before the delete could still be the larger.
    const older = clockRevision(Date.now() - 1_000);
    const answer = await pipeline.del('c-delete');
    expect(answer).toEqual({ key: KEY, op: 'delete', unchanged: true, correlationId: 'c-delete' });
    await pipeline.put(older, 'c-put');

    expect(await pipeline.data.getItem(ITEM_KEY)).toBeUndefined();
    const settled = await pipeline.settled(['c-delete', 'c-put']);
    expect(skippedIds(settled.get('c-delete'))).toEqual(['c-delete']);
    expect(skippedIds(settled.get('c-put'))).toEqual(['c-put']);
    // The tombstone the delete left is its own revision: newer than the put.
    const { pk, sk } = keyRowKey(KEY);
    const { Item: row } = await clients.dynamodb.send(
      new GetItemCommand({
        TableName: pipeline.stateTable,
        Key: { pk: { S: pk }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    expect(BigInt(row?.tomb?.N ?? '0')).toBeGreaterThan(BigInt(older));
  });

  it('does not hold back a bus put newer than the delete', async () => {
    const pipeline = await service();
    await pipeline.del('c-delete');
    await pipeline.put(clockRevision(Date.now() + 1_000), 'c-put');

    expect((await pipeline.data.getItem(ITEM_KEY))?.mtu).toEqual({ N: '1500' });
  });
});

describe('an HTTP DELETE of a key the table holds', () => {
  it('answers the removed version, and an older bus put that arrives after it is skipped', async () => {
    const pipeline = await service();
    await pipeline.put(clockRevision(Date.now() - 60_000), 'c-first');
    const version = (await pipeline.data.getItem(ITEM_KEY))?.version?.N;
    const older = clockRevision(Date.now() - 1_000);
    expect(await pipeline.del('c-delete')).toEqual({ key: KEY, op: 'delete', version, correlationId: 'c-delete' });
    await pipeline.put(older, 'c-put');

    expect(await pipeline.data.getItem(ITEM_KEY)).toBeUndefined();
    expect(skippedIds((await pipeline.settled(['c-put'])).get('c-put'))).toEqual(['c-put']);
  });

  it('keeps an item whose version is newer than the delete (unchanged), as a bus delete does', async () => {
    const pipeline = await service();
    const ahead = clockRevision(Date.now() + 60_000);
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: pipeline.data.name,
        Item: { ...ITEM_KEY, mtu: { N: '9000' }, version: { N: ahead } },
      }),
    );
    expect(await pipeline.del('c-delete')).toEqual({
      key: KEY,
      op: 'delete',
      unchanged: true,
      correlationId: 'c-delete',
    });

    expect((await pipeline.data.getItem(ITEM_KEY))?.version).toEqual({ N: ahead });
    expect(skippedIds((await pipeline.settled(['c-delete'])).get('c-delete'))).toEqual(['c-delete']);
  });
});
