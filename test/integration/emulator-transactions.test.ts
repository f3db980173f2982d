// The embedded emulator keeps DynamoDB's promise that a cancelled transaction changes nothing
// but what it named (infra/local/moto-server.py): writes other requests make meanwhile stay, with
// their stream records, and an open shard iterator keeps reading.
import type { ChildProcess } from 'node:child_process';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  DescribeStreamCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { freePort, startPrivateEmulator, stopPrivateEmulator } from '../support/private-emulator.ts';

jest.setTimeout(120_000);
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let moto: ChildProcess;
let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;

beforeAll(async () => {
  const port = await freePort();
  moto = await startPrivateEmulator(port);
  const endpoint = `http://127.0.0.1:${port}`;
  dynamodb = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials });
}, 60_000);

afterAll(async () => {
  dynamodb?.destroy();
  streams?.destroy();
  await stopPrivateEmulator(moto);
});

it('loses no write made while other transactions are cancelled, and the stream keeps every one', async () => {
  const { TableDescription } = await dynamodb.send(
    new CreateTableCommand({
      TableName: 'writes',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  const StreamArn = TableDescription!.LatestStreamArn!;
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn }));
  let { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn,
      ShardId: StreamDescription!.Shards![0]!.ShardId!,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );

  const writers = Array.from({ length: 4 }, async (_, writer) => {
    for (let i = 0; i < 50; i += 1)
      await dynamodb.send(new PutItemCommand({ TableName: 'writes', Item: { pk: { S: `w${writer}-${i}` } } }));
  });
  // Each transaction writes an item, then fails its condition: cancelled as a whole.
  let cancelled = 0;
  const cancellers = Array.from({ length: 2 }, async (_, canceller) => {
    for (let i = 0; i < 50; i += 1) {
      try {
        await dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: 'writes', Item: { pk: { S: `cancelled-${canceller}-${i}` } } } },
              {
                ConditionCheck: {
                  TableName: 'writes',
                  Key: { pk: { S: 'absent' } },
                  ConditionExpression: 'attribute_exists(pk)',
                },
              },
            ],
          }),
        );
      } catch (error) {
        if ((error as Error).name !== 'TransactionCanceledException') throw error;
        cancelled += 1;
      }
    }
  });
  await Promise.all([...writers, ...cancellers]);

  expect(cancelled).toBe(100);
  const { Items } = await dynamodb.send(new ScanCommand({ TableName: 'writes', ConsistentRead: true }));
  const keys = (Items ?? []).map((item) => item.pk!.S!);
  expect(keys.filter((key) => key.startsWith('cancelled-'))).toEqual([]);
  expect(keys).toHaveLength(200);
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: 'writes', Key: { pk: { S: 'cancelled-0-0' } } }),
  );
  expect(Item).toBeUndefined();

  // The iterator opened before the writes reads all 200 inserts and nothing of the cancelled ones.
  const inserted: string[] = [];
  while (ShardIterator && inserted.length < 200) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
    if ((page.Records ?? []).length === 0) break;
    for (const record of page.Records ?? []) inserted.push(record.dynamodb!.Keys!.pk!.S!);
    ShardIterator = page.NextShardIterator;
  }
  expect(inserted.sort()).toEqual([...keys].sort());
});
