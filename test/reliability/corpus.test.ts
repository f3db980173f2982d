import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { lambdaContext } from '../../infra/local/lambda-shapes.ts';
import { createAwsClients } from '../../lib/aws/clients.ts';
import { createDatasync } from '../../lib/datasync.ts';
import { SqsDeadLetterWriter, type DeadLetterMessage } from '../../lib/feedback/dead-letter.ts';
import type { FeedbackRecord, RejectedFeedback } from '../../lib/feedback/record.ts';
import type { Change } from '../../lib/model/change.ts';
import { createDynamoDbStreamHandler } from '../../lib/sources/dynamodb/handler.ts';
import { createEventBridgeHandler } from '../../lib/sources/eventbridge/handler.ts';
import { createHttpHandler } from '../../lib/sources/http/handler.ts';
import { createSqsHandler } from '../../lib/sources/sqs/handler.ts';
import { CORPUS, type CorpusCase } from './corpus.ts';
import { uniqueSuffix } from './support/resources.ts';
import { asFunction, bindTemplateResource } from '../support/iam/functions.ts';

// Every bad input of the corpus, mixed into good input of its source: refused with a clear reason
// in feedback (or an HTTP 4xx), dead-lettered where the source has a dead-letter queue, and the
// good input around it delivered.
const clients = createAwsClients();
const suffix = uniqueSuffix();
const tableName = `corpus-${suffix}`;
const streamArn = `arn:aws:dynamodb:us-east-1:000000000000:table/${tableName}/stream/2026-01-01T00:00:00.000`;
const tables = [{ name: tableName, prefix: 'cfg', keyAttributes: ['id'] }];

let deadLetterQueueUrl: string;
const feedback: FeedbackRecord[] = [];
const received: Change[] = [];
const published: string[] = [];
const datasync = createDatasync({
  plugins: [
    {
      name: 'receiver',
      prefixes: ['cfg'],
      change: (changes) => void received.push(...changes),
      resync: async () => {},
    },
  ],
});
const sink = { write: async (records: readonly FeedbackRecord[]) => void feedback.push(...records) };
let writers: { feedback: typeof sink; deadLetter: SqsDeadLetterWriter };

beforeAll(async () => {
  deadLetterQueueUrl = (await clients.sqs.send(new CreateQueueCommand({ QueueName: `corpus-dlq-${suffix}` })))
    .QueueUrl!;
  bindTemplateResource('RejectedQueue', deadLetterQueueUrl);
  bindTemplateResource('ConfigTable', tableName);
  writers = {
    feedback: sink,
    deadLetter: new SqsDeadLetterWriter({ sqs: clients.sqs, queueUrl: deadLetterQueueUrl }),
  };
});

afterAll(async () => {
  await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterQueueUrl }));
});

const rejectedFor = (id: string): RejectedFeedback[] =>
  feedback.filter((record): record is RejectedFeedback => record.event === 'rejected' && record.source.id === id);

async function deadLetters(): Promise<DeadLetterMessage[]> {
  const messages: DeadLetterMessage[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) empty += 1;
    for (const message of Messages) messages.push(JSON.parse(message.Body!) as DeadLetterMessage);
  }
  return messages;
}

const goodBody = (key: string) => JSON.stringify({ datasync: 1, key, op: 'put', value: { n: 1 } });
const sqsRecord = (messageId: string, body: string): SQSRecord => ({
  messageId,
  receiptHandle: messageId,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(Date.now()),
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:corpus-${suffix}`,
  awsRegion: 'us-east-1',
});
let sequence = 1000n;
const streamRecord = (overrides: Partial<DynamoDBRecord>): DynamoDBRecord => {
  sequence += 1n;
  const base: DynamoDBRecord = {
    eventID: randomUUID(),
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    eventSourceARN: streamArn,
    awsRegion: 'us-east-1',
    dynamodb: {
      SequenceNumber: String(sequence).padStart(21, '0'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      SizeBytes: 30,
    },
  };
  return { ...base, ...overrides, dynamodb: { ...base.dynamodb, ...overrides.dynamodb } };
};
const goodStream = (id: string) =>
  streamRecord({ dynamodb: { Keys: { id: { S: id } }, NewImage: { id: { S: id }, n: { N: '1' } } } });

const streamHandler = () => asFunction('dynamodbStream', createDynamoDbStreamHandler(datasync, { ...writers, tables }));
const sqsHandler = () => asFunction('sqs', createSqsHandler(datasync, writers));
const eventHandler = () => asFunction('eventbridge', createEventBridgeHandler(datasync, writers));
const httpHandler = () =>
  asFunction(
    'http',
    createHttpHandler(datasync, {
      ...writers,
      publish: { put: async (key) => void published.push(key), delete: async (key) => void published.push(key) },
      requestResync: async () => 'resync-1',
    }),
  );

const bySource = (source: CorpusCase['source']) =>
  CORPUS.map((entry, index) => ({ entry, index })).filter(({ entry }) => entry.source === source);
const expectedDeadLetters = new Map<string, string>();

describe('bad-input corpus', () => {
  it('has at least 40 cases across every source', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CORPUS.map((entry) => entry.source))).toEqual(new Set(['sqs', 'eventbridge', 'dynamodb', 'http']));
  });

  it.each(bySource('sqs').map(({ entry, index }) => [entry.name, entry, index] as const))(
    'SQS: %s',
    async (_name, entry, index) => {
      if (entry.source !== 'sqs') throw new Error('not an SQS case');
      const id = `bad-${index}-${suffix}`;
      const before = received.length;
      const result = await sqsHandler()(
        {
          Records: [
            sqsRecord(`good-a-${index}`, goodBody(`cfg/good/a${index}`)),
            sqsRecord(id, entry.body),
            sqsRecord(`good-b-${index}`, goodBody(`cfg/good/b${index}`)),
          ],
        },
        lambdaContext('sqs', 30_000),
      );
      expect(result.batchItemFailures).toEqual([]);
      expect(received.slice(before).map((change) => change.key)).toEqual([`cfg/good/a${index}`, `cfg/good/b${index}`]);
      const [rejected, ...more] = rejectedFor(id);
      expect(more).toEqual([]);
      expect(rejected?.error.message).toMatch(entry.reason);
      expectedDeadLetters.set(id, entry.name);
    },
  );

  it.each(bySource('eventbridge').map(({ entry, index }) => [entry.name, entry, index] as const))(
    'EventBridge: %s',
    async (_name, entry, index) => {
      if (entry.source !== 'eventbridge') throw new Error('not an EventBridge case');
      const id = `bad-event-${index}-${suffix}`;
      const good = (key: string) => ({
        version: '0',
        id: `good-${key}`,
        'detail-type': 'datasync.change',
        source: 'serverless-datasync',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [],
        account: '0',
        detail: JSON.parse(goodBody(key)),
      });
      const before = received.length;
      const handler = eventHandler();
      await expect(handler(good(`cfg/good/ea${index}`) as never, lambdaContext('eb', 30_000))).resolves.toEqual({
        status: 'ok',
      });
      const event = entry.event && typeof entry.event === 'object' ? { ...(entry.event as object), id } : entry.event;
      await expect(handler(event as never, lambdaContext('eb', 30_000))).resolves.toEqual({ status: 'rejected' });
      await expect(handler(good(`cfg/good/eb${index}`) as never, lambdaContext('eb', 30_000))).resolves.toEqual({
        status: 'ok',
      });
      expect(received.slice(before).map((change) => change.key)).toEqual([
        `cfg/good/ea${index}`,
        `cfg/good/eb${index}`,
      ]);
      const [rejected, ...more] = rejectedFor(id);
      expect(more).toEqual([]);
      expect(rejected?.error.message).toMatch(entry.reason);
      expectedDeadLetters.set(id, entry.name);
    },
  );

  it.each(bySource('dynamodb').map(({ entry, index }) => [entry.name, entry, index] as const))(
    'DynamoDB stream: %s',
    async (_name, entry, index) => {
      if (entry.source !== 'dynamodb') throw new Error('not a stream case');
      const before = received.length;
      const first = goodStream(`good/sa${index}`);
      const bad = streamRecord(entry.record);
      const last = goodStream(`good/sb${index}`);
      const result = await streamHandler()({ Records: [first, bad, last] }, lambdaContext('stream', 30_000));
      expect(result.batchItemFailures).toEqual([]);
      expect(received.slice(before).map((change) => change.key)).toEqual([
        `cfg/good/sa${index}`,
        `cfg/good/sb${index}`,
      ]);
      const id = bad.dynamodb!.SequenceNumber!;
      const [rejected, ...more] = rejectedFor(id);
      expect(more).toEqual([]);
      expect(rejected?.error.message).toMatch(entry.reason);
      expectedDeadLetters.set(id, entry.name);
    },
  );

  it.each(bySource('http').map(({ entry, index }) => [entry.name, entry, index] as const))(
    'HTTP: %s',
    async (_name, entry, index) => {
      if (entry.source !== 'http') throw new Error('not an HTTP case');
      const requestId = `bad-request-${index}-${suffix}`;
      const request = (
        method: string,
        path: string,
        body: string | undefined,
        contentType: string | undefined,
        id: string,
      ): APIGatewayProxyEventV2 =>
        ({
          version: '2.0',
          routeKey: '$default',
          rawPath: path,
          rawQueryString: '',
          headers: contentType ? { 'content-type': contentType } : {},
          requestContext: { http: { method, path }, requestId: id, stage: '$default' },
          ...(body === undefined ? {} : { body }),
          isBase64Encoded: false,
        }) as unknown as APIGatewayProxyEventV2;
      const handler = httpHandler();
      const response = await handler(
        request(entry.method, entry.path, entry.body, entry.contentType, requestId),
        lambdaContext('http', 30_000),
      );
      expect(response.statusCode).toBe(entry.status);
      expect(JSON.parse(response.body!).error.message).toMatch(entry.reason);
      // The next good request goes through.
      const good = await handler(
        request('PUT', `/keys/cfg/good/h${index}`, '{"n":1}', 'application/json', `good-${requestId}`),
        lambdaContext('http', 30_000),
      );
      expect(good.statusCode).toBe(200);
      expect(published).toContain(`cfg/good/h${index}`);
      const rejected = rejectedFor(requestId);
      // Refused input (400, 413, 415) is reported and dead-lettered; a wrong method or path only answers.
      if (entry.status === 404 || entry.status === 405) {
        expect(rejected).toEqual([]);
      } else {
        expect(rejected).toHaveLength(1);
        expect(rejected[0]!.error.message).toMatch(entry.reason);
        expectedDeadLetters.set(requestId, entry.name);
      }
    },
  );

  it('dead-lettered every refused input exactly once, with its reason and the raw input', async () => {
    const messages = await deadLetters();
    const ids = messages.map((message) => message.source.id);
    expect(ids.sort()).toEqual([...expectedDeadLetters.keys()].sort());
    for (const message of messages) {
      expect(message.reason.message.length).toBeGreaterThan(0);
      expect(typeof message.raw).toBe('string');
    }
  });
});
