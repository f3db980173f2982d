import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { awsClients } from '../../lib/aws/clients.ts';
import {
  createDatasync,
  createDynamoDbStreamHandler,
  type Change,
  type DeadLetterMessage,
  type FeedbackRecord,
  type TableConfig,
} from '../../lib/index.ts';
import { createTable, receiveBodies, Resources } from '../support/emulator.ts';
import { lambdaContext, readStreamAsLambdaRecords } from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';
import { asFunction } from '../support/iam/functions.ts';

// The emulator is shared and the machine small: allow for slow answers under load.
jest.setTimeout(30_000);
const resources = new Resources();
afterAll(() => resources.dispose(), 30_000);
const noResync = () => {};

describe('DynamoDB stream source against the emulator', () => {
  it('turns table writes into ordered changes, reports every plugin and dead-letters a hostile key', async () => {
    const { name: tableName, streamArn } = await createTable(resources);
    const queues = await createFeedbackQueues(resources);
    const table: TableConfig = { name: tableName, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'v' };
    const { dynamodb } = awsClients();
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1500' }, v: { N: '1' } },
      }),
    );
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'interfaces/eth0' } },
        UpdateExpression: 'SET mtu = :m, v = :v',
        ExpressionAttributeValues: { ':m': { N: '9000' }, ':v': { N: '2' } },
      }),
    );
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'routes/default' }, via: { S: 'eth0' }, big: { N: '12345678901234567890' } },
      }),
    );
    await dynamodb.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'routes/__proto__' }, via: { S: 'eth9' } } }),
    );
    await dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: 'interfaces/eth0' } } }));

    const records = await readStreamAsLambdaRecords(streamArn);
    expect(records.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'INSERT', 'INSERT', 'REMOVE']);

    const seen: Record<string, Change[]> = { interfaces: [], routes: [] };
    const datasync = createDatasync();
    datasync.watch(
      'interfaces',
      { resync: noResync, change: (changes) => void seen.interfaces!.push(...changes) },
      'config/interfaces',
    );
    datasync.watch(
      'routes',
      { resync: noResync, change: (changes) => void seen.routes!.push(...changes) },
      'config/routes',
    );
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
    expect(response).toEqual({ batchItemFailures: [] });
    // Ordered by the stream's sequence numbers; the item's version travels as `version`.
    const sequence = (index: number) => records[index]!.dynamodb!.SequenceNumber;
    expect(
      seen.interfaces!.map(({ op, value, prevValue, revision, version }) => ({
        op,
        value,
        prevValue,
        revision,
        version,
      })),
    ).toEqual([
      { op: 'put', value: { mtu: 1500 }, prevValue: undefined, revision: sequence(0), version: '1' },
      { op: 'put', value: { mtu: 9000 }, prevValue: { mtu: 1500 }, revision: sequence(1), version: '2' },
      { op: 'delete', value: undefined, prevValue: { mtu: 9000 }, revision: sequence(4), version: '2' },
    ]);
    expect(seen.routes).toEqual([
      expect.objectContaining({
        key: 'config/routes/default',
        value: { via: 'eth0', big: { $number: '12345678901234567890' } },
        revision: records[2]!.dynamodb!.SequenceNumber,
        source: { type: 'dynamodb', name: tableName, id: records[2]!.dynamodb!.SequenceNumber },
      }),
    ]);

    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 3 });
    expect(
      feedback.map((record) => `${record.event}:${'plugin' in record ? record.plugin : ''}:${record.status}`).sort(),
    ).toEqual(['change:interfaces:ok', 'change:routes:ok', 'rejected::error']);
    const rejected = feedback.find((record) => record.event === 'rejected')!;
    expect(rejected).toMatchObject({
      source: { type: 'dynamodb', name: tableName, id: records[3]!.dynamodb!.SequenceNumber },
      error: { code: 'INVALID_CHANGE' },
    });
    expect(rejected.error!.message).toMatch(/reserved segment "__proto__"/);

    const [dead, ...more] = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 1 });
    expect(more).toEqual([]);
    expect(dead).toMatchObject({ version: 1, event: 'rejected', reason: { code: 'INVALID_CHANGE' } });
    expect(JSON.parse(dead!.raw).dynamodb.NewImage.pk).toEqual({ S: 'routes/__proto__' });
  });

  it('reports the lowest failed sequence number and every later record, and catches up in order on redelivery', async () => {
    const { name: tableName, streamArn } = await createTable(resources);
    const queues = await createFeedbackQueues(resources);
    const table: TableConfig = { name: tableName, prefix: 'config', keyAttributes: ['pk'] };
    const { dynamodb } = awsClients();
    for (const [pk, mtu] of [
      ['interfaces/eth0', '1500'],
      ['routes/r1', '1'],
      ['interfaces/eth1', '1500'],
      ['routes/r1', '2'],
    ] as const) {
      await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, n: { N: mtu } } }));
    }
    const records = await readStreamAsLambdaRecords(streamArn);
    const sequences = records.map((record) => record.dynamodb!.SequenceNumber!);

    let routesDown = true;
    const applied: string[] = [];
    const datasync = createDatasync();
    datasync.watch(
      'interfaces',
      { resync: noResync, change: (changes) => void applied.push(...changes.map((c) => c.key)) },
      'config/interfaces',
    );
    datasync.watch(
      'routes',
      {
        resync: noResync,
        timeoutMs: 200,
        change: async (changes) => {
          if (routesDown) await new Promise((resolve) => setTimeout(resolve, 1_000));
          applied.push(...changes.map((c) => `${c.key}=${JSON.stringify(c.value)}`));
        },
      },
      'config/routes',
    );
    const handler = asFunction(
      'dynamodbStream',
      createDynamoDbStreamHandler(datasync, {
        tables: [table],
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );

    const first = await handler({ Records: records }, lambdaContext());
    expect(first.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(sequences.slice(1));
    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 2 });
    expect(feedback.find((record) => 'plugin' in record && record.plugin === 'routes')).toMatchObject({
      status: 'timeout',
      error: { code: 'PLUGIN_TIMEOUT' },
      changes: [
        { key: 'config/routes/r1', op: 'put', revision: sequences[1] },
        { key: 'config/routes/r1', op: 'put', revision: sequences[3] },
      ],
    });

    routesDown = false;
    const retried = await handler({ Records: records.slice(1) }, lambdaContext());
    expect(retried.batchItemFailures).toEqual([]);
    expect(applied.filter((entry) => entry.startsWith('config/routes'))).toEqual([
      'config/routes/r1={"n":1}',
      'config/routes/r1={"n":2}',
    ]);
    // The healthy plugin applied eth1 once, although Lambda delivered it twice.
    expect(applied.filter((entry) => entry === 'config/interfaces/eth1')).toHaveLength(1);
  });
});
