import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { awsClients } from '../../lib/aws/clients.ts';
import {
  createDatasync,
  createHttpHandler,
  createSqsHandler,
  DatasyncError,
  toEnvelope,
  type Change,
  type ChangePublisher,
  type DeadLetterMessage,
  type FeedbackRecord,
} from '../../lib/index.ts';
import { createQueue, receiveAll, receiveBodies, Resources } from '../support/emulator.ts';
import { httpApiRequest as request, lambdaContext, toLambdaSqsRecords } from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';
import { asFunction, runOutsideFunctions } from '../support/iam/functions.ts';

// The emulator is shared and the machine small: allow for slow answers under load.
jest.setTimeout(30_000);
const resources = new Resources();
afterAll(() => resources.dispose(), 30_000);
const noResync = () => {};

describe('HTTP API source against the emulator', () => {
  it('publishes puts and deletes through the publisher, requests resyncs, and refuses bad requests with the right status', async () => {
    const changes = await createQueue(resources, { prefix: 'ds-published' });
    const resyncs = await createQueue(resources, { prefix: 'ds-resync', standsFor: 'ResyncQueue' });
    const queues = await createFeedbackQueues(resources);
    const { sqs } = awsClients();
    let revision = 0;
    // Stand-in for the library's publisher: writes the envelope to a real queue. Its calls are the
    // test's, not the function's (the deployed function publishes to the tables).
    const publish: ChangePublisher = {
      async put(key, value, { correlationId }) {
        if (key === 'config/interfaces/locked') throw new DatasyncError('VERSION_CONFLICT', 'locked');
        revision += 1;
        await runOutsideFunctions(() =>
          sqs.send(
            new SendMessageCommand({
              QueueUrl: changes.url,
              MessageBody: JSON.stringify(toEnvelope({ key, op: 'put', value, revision, correlationId })),
            }),
          ),
        );
        return { version: String(revision) };
      },
      async delete(key, { correlationId }) {
        revision += 1;
        await runOutsideFunctions(() =>
          sqs.send(
            new SendMessageCommand({
              QueueUrl: changes.url,
              MessageBody: JSON.stringify(toEnvelope({ key, op: 'delete', revision, correlationId })),
            }),
          ),
        );
        return { version: String(revision) };
      },
    };
    const requestResync = async (plugins?: readonly string[]) => {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: resyncs.url, MessageBody: JSON.stringify({ plugins: plugins ?? null }) }),
      );
      return 'resync-1';
    };
    const seen: Change[] = [];
    const datasync = createDatasync();
    datasync.watch('interfaces', { resync: noResync, change: (c) => void seen.push(...c) }, 'config/interfaces');
    datasync.watch('routes', { resync: noResync, change: () => {} }, 'config/routes');
    const handler = asFunction(
      'http',
      createHttpHandler(datasync, {
        publish,
        requestResync,
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        maxBodyBytes: 1024,
        ...quiet,
      }),
    );
    const call = async (event: APIGatewayProxyEventV2) => {
      const response = await handler(event, lambdaContext());
      return { status: response.statusCode, body: JSON.parse(response.body as string), headers: response.headers };
    };

    const put = await call(
      request('PUT', '/keys/config/interfaces/eth0', {
        body: '{"mtu":9000}',
        contentType: 'application/json; charset=utf-8',
        headers: { 'X-Correlation-Id': 'c-7' },
      }),
    );
    expect(put).toMatchObject({
      status: 200,
      body: { key: 'config/interfaces/eth0', op: 'put', version: '1', correlationId: 'c-7' },
    });
    const encoded = await call(
      request('PUT', '/keys/config/interfaces/eth%201', {
        body: Buffer.from('[1,2]').toString('base64'),
        base64: true,
        contentType: 'application/json',
      }),
    );
    expect(encoded).toMatchObject({ status: 200, body: { key: 'config/interfaces/eth 1', version: '2' } });
    expect(await call(request('DELETE', '/keys/config/interfaces/eth0'))).toMatchObject({
      status: 200,
      body: { op: 'delete', version: '3' },
    });
    expect(
      await call(request('POST', '/resync', { body: '{"plugins":["routes"]}', contentType: 'application/json' })),
    ).toMatchObject({ status: 202, body: { resync: 'requested', plugins: ['routes'], resyncId: 'resync-1' } });
    expect(await call(request('POST', '/resync'))).toMatchObject({ status: 202, body: { plugins: 'all' } });

    const refused = [
      [request('PUT', '/keys/config/__proto__/x', { body: '1', contentType: 'application/json' }), 400, 'INVALID_KEY'],
      [
        request('PUT', '/keys/config/interfaces/eth0', { body: '{"mtu":', contentType: 'application/json' }),
        400,
        'INVALID_CHANGE',
      ],
      [request('PUT', '/keys/config/interfaces/eth0'), 400, 'INVALID_CHANGE'],
      [
        request('PUT', '/keys/config/interfaces/eth0', { body: 'mtu=9000', contentType: 'text/plain' }),
        415,
        'INVALID_CHANGE',
      ],
      [
        request('PUT', '/keys/config/interfaces/eth0', {
          body: `"${'x'.repeat(2000)}"`,
          contentType: 'application/json',
        }),
        413,
        'INVALID_CHANGE',
      ],
      [
        request('POST', '/resync', { body: '{"plugins":["nope"]}', contentType: 'application/json' }),
        400,
        'INVALID_CHANGE',
      ],
    ] as const;
    // Every error answer names its code and carries the request's correlation id.
    const correlationId = expect.any(String);
    for (const [event, status, code] of refused)
      expect(await call(event)).toMatchObject({ status, body: { error: { code }, correlationId } });
    expect(await call(request('GET', '/keys/config/interfaces/eth0'))).toMatchObject({
      status: 405,
      headers: { allow: 'PUT, DELETE' },
      body: { error: { code: 'METHOD_NOT_ALLOWED' }, correlationId },
    });
    expect(await call(request('GET', '/resync'))).toMatchObject({
      status: 405,
      headers: { allow: 'POST' },
      body: { correlationId },
    });
    expect(await call(request('PUT', '/elsewhere'))).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' }, correlationId },
    });
    expect(
      await call(request('PUT', '/keys/config/interfaces/locked', { body: '1', contentType: 'application/json' })),
    ).toMatchObject({ status: 409, body: { error: { code: 'VERSION_CONFLICT' } } });

    // Every refused request is reported and dead-lettered with its reason.
    const rejected = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: refused.length });
    expect(rejected.map((record) => `${record.event}:${'source' in record ? record.source.type : ''}`)).toEqual(
      refused.map(() => 'rejected:http'),
    );
    const dead = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: refused.length });
    expect(dead.map((message) => JSON.parse(message.raw).path).sort()).toEqual(
      refused.map(([event]) => event.rawPath).sort(),
    );

    // What the API published reaches the plugins through the SQS source.
    const published = await receiveAll(changes.url, { count: 3 });
    const sqsHandler = asFunction(
      'sqs',
      createSqsHandler(datasync, {
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    expect(await sqsHandler({ Records: toLambdaSqsRecords(published, changes.arn) }, lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    expect(seen.map((change) => [change.key, change.op, change.revision, change.correlationId])).toEqual([
      ['config/interfaces/eth0', 'put', '1', 'c-7'],
      ['config/interfaces/eth 1', 'put', '2', expect.any(String)],
      ['config/interfaces/eth0', 'delete', '3', expect.any(String)],
    ]);
    expect((await receiveBodies(resyncs.url, { count: 2 })).map((message) => message.plugins)).toEqual([
      ['routes'],
      null,
    ]);
  });
});
