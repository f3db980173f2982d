import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { DynamoDBRecord } from 'aws-lambda';
import { createDatasync, createDynamoDbStreamHandler, type Change } from '../../../lib/index.ts';
import { lambdaContext } from '../../support/lambda-events.ts';
import { MemoryDeadLetter, MemorySink, quiet } from '../../support/sinks.ts';

// A batch source checks every put of the batch against the plugins' schemas in one pass after
// normalizing, before anything is delivered; the plugin that declared a schema is handed the
// output of that check.

const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/config/stream/label';
const tables = [{ name: 'config', prefix: 'config', keyAttributes: ['pk'] }];

/** Accepts `{ n }` with a number below 10 and outputs `{ n, checked: true }`, counting its calls. */
function belowTen(asynchronous = false) {
  const counted = {
    calls: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: (value: unknown): StandardSchemaV1.Result<{ n: number; checked: boolean }> | Promise<never> => {
        counted.calls += 1;
        if (asynchronous) return Promise.resolve() as Promise<never>;
        const n = (value as { n?: unknown }).n;
        return typeof n === 'number' && n < 10
          ? { value: { n, checked: true } }
          : { issues: [{ message: 'must be a number below 10', path: [{ key: 'n' }] }] };
      },
    },
  };
  return counted;
}

function put(seq: number, pk: string, n: number, correlationId?: string): DynamoDBRecord {
  return {
    eventName: 'INSERT',
    eventSourceARN: ARN,
    dynamodb: {
      SequenceNumber: String(seq),
      Keys: { pk: { S: pk } },
      NewImage: {
        pk: { S: pk },
        n: { N: String(n) },
        ...(correlationId ? { datasyncCorrelationId: { S: correlationId } } : {}),
      },
    },
  };
}

function setUp(asynchronous = false) {
  const schema = belowTen(asynchronous);
  const typed: Change<unknown>[] = [];
  const plain: Change[] = [];
  const datasync = createDatasync();
  datasync.watch('typed', { schema, resync: () => {}, change: (changes) => void typed.push(...changes) }, 'config/a');
  datasync.watch('plain', { resync: () => {}, change: (changes) => void plain.push(...changes) }, 'config');
  const feedback = new MemorySink();
  const deadLetter = new MemoryDeadLetter();
  const handler = createDynamoDbStreamHandler(datasync, { tables, feedback, deadLetter, ...quiet });
  return { schema, typed, plain, feedback, deadLetter, handler };
}

describe('the batch schema check', () => {
  it('refuses a put that does not fit under its correlation id; the rest is delivered, each value validated once', async () => {
    const { schema, typed, plain, feedback, deadLetter, handler } = setUp();
    const response = await handler(
      { Records: [put(1, 'a/x', 1), put(2, 'a/y', 50, 'c-bad'), put(3, 'a/z', 3), put(4, 'b/w', 99)] },
      lambdaContext(),
    );

    expect(response.batchItemFailures).toEqual([]);
    // No plugin sees the refused put, not even one without a schema.
    expect(typed.map((change) => [change.key, change.value])).toEqual([
      ['config/a/x', { n: 1, checked: true }],
      ['config/a/z', { n: 3, checked: true }],
    ]);
    expect(plain.map((change) => change.key)).toEqual(['config/a/x', 'config/a/z', 'config/b/w']);
    // The plugin got the output of the edge's check: three values under its prefix, three validations.
    expect(schema.calls).toBe(3);
    const refused = feedback.records.filter((record) => record.event === 'rejected');
    expect(refused).toEqual([
      expect.objectContaining({
        status: 'error',
        key: 'config/a/y',
        correlationId: 'c-bad',
        error: expect.objectContaining({
          code: 'SCHEMA_MISMATCH',
          message: expect.stringContaining('n: must be a number below 10'),
        }),
      }),
    ]);
    expect(deadLetter.entries).toEqual([
      expect.objectContaining({
        key: 'config/a/y',
        correlationId: 'c-bad',
        raw: expect.stringContaining('"SequenceNumber":"2"'),
      }),
    ]);
  });

  it('fails the invocation for a schema that validates asynchronously, and refuses nothing', async () => {
    const { typed, plain, deadLetter, handler } = setUp(true);
    await expect(handler({ Records: [put(1, 'a/x', 1), put(2, 'b/y', 2)] }, lambdaContext())).rejects.toThrow(
      /validates asynchronously/,
    );
    expect([typed, plain, deadLetter.entries]).toEqual([[], [], []]);
  });
});
