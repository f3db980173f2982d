// Every pair of writers on one key: whoever writes first and whoever writes next, once the table's
// stream is delivered the plugin's view of the key is what the table holds, without a resync. The
// writers are the ones a user has: a tool writing the table with or without the version attribute,
// the publisher (one put, and a batch), the HTTP API, and bus messages on SQS and EventBridge that
// the store writes to the table. Then a resync, and one more write by each writer: a write after a
// resync is compared with what the resync handed over, by version.
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { lambdaContext, toLambdaSqsRecord } from '../../infra/local/lambda-shapes.ts';
import { createDatasync } from '../../lib/datasync.ts';
import type { Change } from '../../lib/model/change.ts';
import { toEnvelope } from '../../lib/model/envelope.ts';
import { valueOfItem } from '../../lib/model/item.ts';
import type { JsonObject } from '../../lib/model/json-value.ts';
import type { Snapshot } from '../../lib/plugins/plugin.ts';
import { RevisionClock } from '../../lib/publish/clock.ts';
import { createPublisher } from '../../lib/publish/publisher.ts';
import { runResync } from '../../lib/resync/engine.ts';
import { createDynamoDbStreamHandler } from '../../lib/sources/dynamodb/handler.ts';
import { createEventBridgeHandler } from '../../lib/sources/eventbridge/handler.ts';
import { createHttpHandler } from '../../lib/sources/http/handler.ts';
import { createHttpTableWriter } from '../../lib/sources/http/table-writer.ts';
import { createSqsHandler } from '../../lib/sources/sqs/handler.ts';
import { TableStore } from '../../lib/sources/store.ts';
import { DynamoDbLedger } from '../../lib/state/ledger.ts';
import { createStateTable, createTable, Resources, testClients } from '../support/emulator.ts';
import { asFunction } from '../support/iam/functions.ts';
import { readStreamAsLambdaRecords } from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';

jest.setTimeout(120_000);
const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());
const context = () => lambdaContext('test', 30_000);

const WRITERS = ['tool', 'versioned-tool', 'publisher', 'publisher-batch', 'http', 'sqs', 'eventbridge'] as const;
type Writer = (typeof WRITERS)[number];

let table: Awaited<ReturnType<typeof createTable>>;
let write: (writer: Writer, key: string, value: JsonObject) => Promise<void>;
let deliverStream: () => Promise<void>;
let resync: (id: string) => Promise<void>;
const view = new Map<string, unknown>();

beforeAll(async () => {
  table = await createTable(resources, { versionAttribute: 'version' });
  const stateTable = await createStateTable(resources);
  const queues = await createFeedbackQueues(resources);
  const ledger = new DynamoDbLedger({ stateTable, clients });
  const plugin = {
    name: 'interfaces',
    prefixes: ['config/interfaces'],
    async change(changes: readonly Change[]) {
      for (const change of changes) {
        if (change.op === 'put') view.set(change.key, change.value);
        else view.delete(change.key);
      }
    },
    async resync(snapshot: Snapshot) {
      view.clear();
      for await (const page of snapshot.pages())
        for (const entry of page) {
          if (entry.op === 'put') view.set(entry.key, entry.value);
          else view.delete(entry.key);
        }
    },
  };
  const datasync = createDatasync({ plugins: [plugin], ledger });
  const writers = { feedback: queues.feedback, deadLetter: queues.deadLetter, ...quiet };
  const tables = [table.table];
  const store = new TableStore({ tables, stateTable, clients });
  const sqs = asFunction('sqs', createSqsHandler(datasync, { tables, store, ...writers }));
  const eventbridge = asFunction('eventbridge', createEventBridgeHandler(datasync, { tables, store, ...writers }));
  const stream = asFunction('dynamodbStream', createDynamoDbStreamHandler(datasync, { tables, ...writers }));
  const publisher = createPublisher({ target: { type: 'dynamodb', table: table.table }, clients });
  const http = asFunction(
    'http',
    createHttpHandler(datasync, {
      tables,
      publish: createHttpTableWriter({ tables, stateTable, clients }),
      requestResync: async () => undefined,
      ...writers,
    }),
  );
  // A bus sender's revisions, from its own clock as the publishers make them.
  const clock = new RevisionClock();
  const itemKey = (key: string) => ({ pk: { S: key.slice('config/'.length) } });
  let delivered = 0;
  let messages = 0;

  write = async (writer, key, value) => {
    const attributes = Object.fromEntries(Object.entries(value).map(([name, n]) => [name, { N: String(n) }]));
    switch (writer) {
      case 'tool':
        await clients.dynamodb.send(
          new PutItemCommand({ TableName: table.name, Item: { ...itemKey(key), ...attributes } }),
        );
        return;
      case 'versioned-tool': {
        // A tool that keeps the version attribute: one above what the item has.
        const { Item } = await clients.dynamodb.send(
          new GetItemCommand({ TableName: table.name, Key: itemKey(key), ConsistentRead: true }),
        );
        const version = BigInt(Item?.version?.N ?? '0') + 1n;
        await clients.dynamodb.send(
          new PutItemCommand({
            TableName: table.name,
            Item: { ...itemKey(key), ...attributes, version: { N: version.toString() } },
          }),
        );
        return;
      }
      case 'publisher':
        await publisher.put(key, value);
        return;
      case 'publisher-batch':
        await publisher.publish([{ key, op: 'put', value }]);
        return;
      case 'http': {
        const answer = await http(httpPut(key, value), context());
        if (answer.statusCode !== 200) throw new Error(`HTTP PUT ${key}: ${answer.statusCode} ${answer.body}`);
        return;
      }
      case 'sqs': {
        messages += 1;
        const body = JSON.stringify(toEnvelope({ key, op: 'put', value, revision: clock.next() }));
        const record = toLambdaSqsRecord(
          { MessageId: `m-${messages}`, ReceiptHandle: `m-${messages}`, Body: body },
          'arn:aws:sqs:us-east-1:123456789012:changes',
          'us-east-1',
        );
        expect(await sqs({ Records: [record] }, context())).toEqual({ batchItemFailures: [] });
        return;
      }
      case 'eventbridge': {
        messages += 1;
        await eventbridge(
          {
            version: '0',
            id: `e-${messages}`,
            'detail-type': 'datasync.change',
            source: 'serverless-datasync',
            account: '123456789012',
            time: new Date().toISOString(),
            region: 'us-east-1',
            resources: [],
            detail: toEnvelope({ key, op: 'put', value, revision: clock.next() }),
          },
          context(),
        );
        return;
      }
    }
  };

  // Hands the stream's new records to the stream function in batches of 100, as Lambda would.
  deliverStream = async () => {
    const records = (await readStreamAsLambdaRecords(table.streamArn)).slice(delivered);
    for (let start = 0; start < records.length; start += 100) {
      const batch = records.slice(start, start + 100);
      expect(await stream({ Records: batch }, context())).toEqual({ batchItemFailures: [] });
    }
    delivered += records.length;
  };

  resync = async (id) => {
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: id, reason: 'manual' },
      { tables, store: ledger.store, clients, sink: queues.feedback, continueResync: async () => {} },
    );
  };
  await resync('r-first');
});

function httpPut(key: string, value: JsonObject): APIGatewayProxyEventV2 {
  const routeKey = 'PUT /keys/{key+}';
  return {
    version: '2.0',
    routeKey,
    rawPath: `/keys/${key}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: { key },
    requestContext: {
      http: { method: 'PUT', path: `/keys/${key}` },
      requestId: `r-${key}`,
      routeKey,
      stage: '$default',
    },
    body: JSON.stringify(value),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** Each key's value as the table holds it, without the service's attributes. */
async function tableValue(key: string): Promise<unknown> {
  const { Item } = await clients.dynamodb.send(
    new GetItemCommand({
      TableName: table.name,
      Key: { pk: { S: key.slice('config/'.length) } },
      ConsistentRead: true,
    }),
  );
  return Item ? valueOfItem(table.table, Item) : undefined;
}

/** Keys whose view differs from the table, with both. */
async function differences(keys: readonly string[]) {
  const found: Array<{ key: string; view: unknown; table: unknown }> = [];
  for (const key of keys) {
    const held = await tableValue(key);
    if (JSON.stringify(view.get(key)) !== JSON.stringify(held)) found.push({ key, view: view.get(key), table: held });
  }
  return found;
}

const pairs = WRITERS.flatMap((first) => WRITERS.map((second) => ({ first, second })));
const keyOf = (first: Writer, second: Writer) => `config/interfaces/${first}.${second}`;

describe('every pair of writers on one key', () => {
  it('leaves the view equal to the table once the stream is delivered, the second write last', async () => {
    for (const { first, second } of pairs) await write(first, keyOf(first, second), { step: 1 });
    await deliverStream();
    for (const { first, second } of pairs) await write(second, keyOf(first, second), { step: 2 });
    await deliverStream();

    const keys = pairs.map(({ first, second }) => keyOf(first, second));
    expect(await differences(keys)).toEqual([]);
    // The second write is the one the table kept, whoever made it.
    for (const key of keys) expect([key, await tableValue(key)]).toEqual([key, { step: 2 }]);
  });

  it('and after a resync, one more write by each writer reaches the view too', async () => {
    await resync('r-again');
    for (const [index, { first, second }] of pairs.entries()) {
      await write(WRITERS[index % WRITERS.length]!, keyOf(first, second), { step: 3 });
    }
    await deliverStream();

    const keys = pairs.map(({ first, second }) => keyOf(first, second));
    expect(await differences(keys)).toEqual([]);
    for (const key of keys) expect([key, await tableValue(key)]).toEqual([key, { step: 3 }]);
  });
});
