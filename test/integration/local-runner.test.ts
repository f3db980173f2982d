import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { PutItemCommand, DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type {
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  SQSBatchResponse,
  SQSEvent,
  APIGatewayProxyEventV2,
} from 'aws-lambda';
import { createAwsClients } from '../../lib/aws/clients.ts';
import { LocalRunner } from '../../infra/local/runner.ts';
import type { LocalTopology } from '../../infra/local/topology.ts';
import { receiveAll } from '../support/emulator.ts';

const clients = createAwsClients();

function names() {
  const id = randomUUID().slice(0, 8);
  return {
    table: `runner-${id}`,
    queue: `runner-q-${id}`,
    dlq: `runner-dlq-${id}`,
    failures: `runner-fail-${id}`,
    bus: `runner-bus-${id}`,
    busQueue: `runner-bq-${id}`,
  };
}

async function bodiesOf(queueUrl: string, expected: number, timeoutMs = 15_000): Promise<string[]> {
  return (await receiveAll(queueUrl, { clients, count: expected, deadlineMs: timeoutMs })).map(
    (message) => message.Body ?? '',
  );
}

/** A table with a stream feeding the function `stream`, whose failed batches go to a queue. */
function streamTopology(n: ReturnType<typeof names>): LocalTopology {
  return {
    tables: [{ name: n.table, partitionKey: 'pk', stream: true }],
    queues: [{ name: n.failures }],
    mappings: [
      {
        kind: 'stream',
        table: n.table,
        function: 'stream',
        batchSize: 100,
        maximumRetryAttempts: 1,
        onFailureQueue: n.failures,
      },
    ],
  };
}

describe('local event-source runner', () => {
  it('feeds stream records to the handler in order and retries from the lowest failed sequence number', async () => {
    const n = names();
    const seen: string[] = [];
    let failOnce = true;
    const topology = streamTopology(n);
    const runner = new LocalRunner({
      clients,
      topology,
      idleDelayMs: 50,
      handlers: {
        stream: (async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
          for (const record of event.Records) {
            const key = record.dynamodb!.Keys!.pk!.S!;
            if (key === 'b' && failOnce) {
              failOnce = false;
              return { batchItemFailures: [{ itemIdentifier: record.dynamodb!.SequenceNumber! }] };
            }
            seen.push(`${record.eventName}:${key}`);
          }
          return { batchItemFailures: [] };
        }) as never,
      },
    });
    await runner.start();
    try {
      for (const pk of ['a', 'b', 'c'])
        await clients.dynamodb.send(
          new PutItemCommand({ TableName: n.table, Item: { pk: { S: pk }, blob: { B: new Uint8Array([1, 2]) } } }),
        );
      await clients.dynamodb.send(new DeleteItemCommand({ TableName: n.table, Key: { pk: { S: 'a' } } }));
      await runner.waitIdle({ quietMs: 600, timeoutMs: 15_000 });
    } finally {
      await runner.stop();
    }
    // 'a' was applied once; 'b' failed once and was retried with everything after it.
    expect(seen).toEqual(['INSERT:a', 'INSERT:b', 'INSERT:c', 'REMOVE:a']);
    expect(runner.stats.get('stream')!.failedRecords).toBeGreaterThan(0);
  }, 30_000);

  it('sends a stream batch that exhausts its retries to the on-failure queue and moves on', async () => {
    const n = names();
    const topology = streamTopology(n);
    const runner = new LocalRunner({
      clients,
      topology,
      idleDelayMs: 50,
      handlers: {
        stream: (async () => {
          throw new Error('always');
        }) as never,
      },
    });
    const { queueUrls } = await runner.start();
    try {
      await clients.dynamodb.send(new PutItemCommand({ TableName: n.table, Item: { pk: { S: 'x' } } }));
      const [body] = await bodiesOf(queueUrls.get(n.failures)!, 1);
      expect(JSON.parse(body!)).toMatchObject({
        requestContext: { condition: 'RetryAttemptsExhausted' },
        DDBStreamBatchInfo: { batchSize: 1 },
      });
    } finally {
      await runner.stop();
    }
    expect(runner.stats.get('stream')).toMatchObject({ invocations: 2, errors: 2 });
  }, 30_000);

  it('deletes succeeded SQS messages and redrives failed ones to the DLQ after the receive count', async () => {
    const n = names();
    const handled: string[] = [];
    const topology: LocalTopology = {
      tables: [],
      queues: [
        { name: n.dlq },
        { name: n.queue, visibilityTimeoutSeconds: 1, deadLetter: { queue: n.dlq, maxReceiveCount: 2 } },
      ],
      mappings: [{ kind: 'queue', queue: n.queue, function: 'sqs', batchSize: 10 }],
    };
    const runner = new LocalRunner({
      clients,
      topology,
      idleDelayMs: 50,
      handlers: {
        sqs: (async (event: SQSEvent): Promise<SQSBatchResponse> => {
          handled.push(...event.Records.map((r) => r.body));
          return {
            batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({
              itemIdentifier: r.messageId,
            })),
          };
        }) as never,
      },
    });
    const { queueUrls } = await runner.start();
    try {
      await clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrls.get(n.queue)!,
          Entries: ['one', 'poison', 'two'].map((body, i) => ({ Id: String(i), MessageBody: body })),
        }),
      );
      expect(await bodiesOf(queueUrls.get(n.dlq)!, 1)).toEqual(['poison']);
    } finally {
      await runner.stop();
    }
    expect(handled.filter((b) => b === 'one')).toHaveLength(1);
    expect(handled.filter((b) => b === 'poison')).toHaveLength(2);
  }, 30_000);

  it('delivers events from a bus rule one at a time, and serves the HTTP API as v2 events', async () => {
    const n = names();
    const events: unknown[] = [];
    const topology: LocalTopology = {
      tables: [],
      queues: [{ name: n.busQueue }],
      bus: {
        name: n.bus,
        rules: [{ name: `${n.bus}-rule`, pattern: { source: ['test.runner'] }, targetQueue: n.busQueue }],
      },
      mappings: [
        { kind: 'bus-rule', queue: n.busQueue, function: 'eventbridge' },
        { kind: 'http', function: 'http', port: 0, routes: ['PUT /keys/{key+}', 'DELETE /keys/{key+}'] },
      ],
    };
    const runner = new LocalRunner({
      clients,
      topology,
      idleDelayMs: 50,
      handlers: {
        eventbridge: (async (event: unknown) => void events.push(event)) as never,
        http: (async (event: APIGatewayProxyEventV2) => ({
          statusCode: 201,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            method: event.requestContext.http.method,
            path: event.rawPath,
            routeKey: event.routeKey,
            pathParameters: event.pathParameters,
            body: event.body,
            version: event.version,
          }),
        })) as never,
      },
    });
    await runner.start();
    try {
      await clients.eventbridge.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: n.bus, Source: 'test.runner', DetailType: 't', Detail: '{"n":1}' }],
        }),
      );
      const response = await fetch(`${runner.httpUrl}/keys/config/a`, {
        method: 'PUT',
        body: '{"x":1}',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({
        method: 'PUT',
        path: '/keys/config/a',
        routeKey: 'PUT /keys/{key+}',
        pathParameters: { key: 'config/a' },
        body: '{"x":1}',
        version: '2.0',
      });
      // As API Gateway: the path as the client sent it, `..` unresolved, the key decoded once.
      const raw = await rawRequest(runner.httpUrl!, 'DELETE', '/keys/config/interfaces/%2E%2E/y');
      expect(raw.status).toBe(201);
      expect(raw.body).toMatchObject({
        path: '/keys/config/interfaces/%2E%2E/y',
        routeKey: 'DELETE /keys/{key+}',
        pathParameters: { key: 'config/interfaces/../y' },
      });
      // A request no route takes is answered by the API, not the function.
      const unrouted = await rawRequest(runner.httpUrl!, 'POST', '/keys/config/a');
      expect(unrouted).toEqual({ status: 404, body: { message: 'Not Found' } });
      await runner.waitIdle({ quietMs: 600, timeoutMs: 10_000 });
    } finally {
      await runner.stop();
    }
    expect(events).toEqual([expect.objectContaining({ source: 'test.runner', 'detail-type': 't', detail: { n: 1 } })]);
  }, 30_000);

  it('is not idle while a message waits for a poller that sleeps between polls', async () => {
    const n = names();
    const handled: string[] = [];
    const runner = new LocalRunner({
      clients,
      topology: {
        tables: [],
        queues: [{ name: n.queue }],
        mappings: [{ kind: 'queue', queue: n.queue, function: 'sqs', batchSize: 10 }],
      },
      // The poller sleeps far longer between empty polls than the quiet period asked for below.
      idleDelayMs: 2_000,
      handlers: {
        sqs: (async (event: SQSEvent): Promise<SQSBatchResponse> => {
          handled.push(...event.Records.map((r) => r.body));
          return { batchItemFailures: [] };
        }) as never,
      },
    });
    const { queueUrls } = await runner.start();
    try {
      // Let the first (empty) poll finish, so the poller is asleep when the message arrives.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await clients.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrls.get(n.queue)!, Entries: [{ Id: '0', MessageBody: 'late' }] }),
      );
      await runner.waitIdle({ quietMs: 100, timeoutMs: 10_000 });
      expect(handled).toEqual(['late']);
    } finally {
      await runner.stop();
    }
  }, 30_000);

  it('provisions idempotently: a second start creates nothing', async () => {
    const n = names();
    const topology: LocalTopology = {
      tables: [{ name: n.table, partitionKey: 'pk', stream: true }],
      queues: [{ name: n.dlq }, { name: n.queue, deadLetter: { queue: n.dlq, maxReceiveCount: 3 } }],
      mappings: [],
    };
    const first = new LocalRunner({ clients, topology, handlers: {} });
    expect((await first.start()).created).toHaveLength(3);
    await first.stop();
    const second = new LocalRunner({ clients, topology, handlers: {} });
    expect((await second.start()).created).toEqual([]);
    await second.stop();
  }, 30_000);
});

/** An HTTP request whose path is sent exactly as given (fetch would resolve `..` and `%2E%2E`). */
function rawRequest(base: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, method, path }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
      );
    });
    request.once('error', reject);
    request.end();
  });
}
