import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  createDatasync,
  createDynamoDbStreamHandler,
  FeedbackWriteError,
  type FeedbackSink,
} from '../../../lib/index.ts';
import { lambdaContext } from '../../support/lambda-events.ts';
import { MemoryDeadLetter, MemorySink, quiet } from '../../support/sinks.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/config/stream/label';
const tables = [{ name: 'config', prefix: 'config', keyAttributes: ['pk'] }];
const noResync = () => {};

function put(seq: number, pk: string): DynamoDBRecord {
  return {
    eventName: 'MODIFY',
    eventSourceARN: ARN,
    dynamodb: {
      SequenceNumber: String(seq),
      Keys: { pk: { S: pk } },
      NewImage: { pk: { S: pk }, n: { N: String(seq) } },
    },
  };
}

describe('stream delivery', () => {
  it('stops at the first failure, and a later change of the failed key is not taken as applied', async () => {
    const datasync = createDatasync();
    const applied: string[] = [];
    let fail = true;
    datasync.watch(
      'routes',
      {
        resync: noResync,
        change: (changes) => {
          if (fail) throw new Error('route table full');
          applied.push(...changes.map((change) => `${change.key}@${change.revision}`));
        },
      },
      'config/routes',
    );
    datasync.watch(
      'interfaces',
      { resync: noResync, change: (changes) => void applied.push(...changes.map((c) => `${c.key}@${c.revision}`)) },
      'config/interfaces',
    );
    const sink = new MemorySink();
    const handler = createDynamoDbStreamHandler(datasync, {
      tables,
      feedback: sink,
      deadLetter: new MemoryDeadLetter(),
      ...quiet,
    });
    const records = [
      put(101, 'interfaces/eth0'),
      put(102, 'routes/r1'),
      put(103, 'interfaces/eth1'),
      put(104, 'routes/r1'),
    ];
    const response = await handler({ Records: records } as DynamoDBStreamEvent, lambdaContext());
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['102', '103', '104']);
    expect(applied).toEqual(['config/interfaces/eth0@101', 'config/interfaces/eth1@103']);
    expect(
      sink.records.map((record) => [record.event, 'plugin' in record ? record.plugin : '', record.status]),
    ).toEqual([
      ['change', 'routes', 'error'],
      ['change', 'interfaces', 'ok'],
    ]);

    // Lambda redelivers from the checkpoint: the healthy plugin skips what it holds, routes catch up in order.
    fail = false;
    const retried = await handler({ Records: records.slice(1) } as DynamoDBStreamEvent, lambdaContext());
    expect(retried.batchItemFailures).toEqual([]);
    expect(applied.slice(2)).toEqual(['config/routes/r1@102', 'config/routes/r1@104']);
  });

  it('dead-letters a bad record before the failure point and counts it as handled', async () => {
    const datasync = createDatasync();
    datasync.watch('all', { resync: noResync, change: () => {} }, 'config');
    const deadLetter = new MemoryDeadLetter();
    const sink = new MemorySink();
    const handler = createDynamoDbStreamHandler(datasync, { tables, feedback: sink, deadLetter, ...quiet });
    const bad: DynamoDBRecord = {
      ...put(201, 'x'),
      dynamodb: { SequenceNumber: '201', Keys: { pk: { S: 'a/../b' } }, NewImage: { pk: { S: 'a/../b' } } },
    };
    const response = await handler({ Records: [bad, put(202, 'ok')] } as DynamoDBStreamEvent, lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetter.entries).toHaveLength(1);
    expect(deadLetter.entries[0]).toMatchObject({
      source: { type: 'dynamodb', name: 'config', id: '201' },
      reason: { code: 'INVALID_CHANGE' },
    });
    expect(JSON.parse(deadLetter.entries[0]!.raw)).toEqual(bad);
    expect(sink.records.find((record) => record.event === 'rejected')).toMatchObject({
      status: 'error',
      source: { id: '201' },
    });
  });

  it('fails the invocation when feedback cannot be written', async () => {
    const datasync = createDatasync();
    datasync.watch('all', { resync: noResync, change: () => {} }, 'config');
    const broken: FeedbackSink = {
      write: async () => {
        throw new FeedbackWriteError(1, 1);
      },
    };
    const handler = createDynamoDbStreamHandler(datasync, {
      tables,
      feedback: broken,
      deadLetter: new MemoryDeadLetter(),
      ...quiet,
    });
    await expect(handler({ Records: [put(1, 'a')] } as DynamoDBStreamEvent, lambdaContext())).rejects.toBeInstanceOf(
      FeedbackWriteError,
    );
  });
});
