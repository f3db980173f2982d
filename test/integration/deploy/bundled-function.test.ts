// A deployed function as Lambda runs it: the bundle taken from the packaged zip, loaded by a fresh
// Node process whose environment holds only what Lambda and serverless.yml put there, handling an
// SQS batch against the emulator. The bundle carries its own credential chain
// (lib/aws/clients/lambda-credentials.ts), so this is where that chain meets the real SDK.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { toEnvelope, type FeedbackRecord } from '../../../lib/index.ts';
import {
  createQueue,
  createStateTable,
  createTable,
  receiveAll,
  receiveBodies,
  Resources,
} from '../../support/emulator.ts';
import { toLambdaSqsRecords } from '../../support/lambda-events.ts';
import { packagedService } from '../../support/deploy/packaged-service.ts';
import { extractBundle, invokeBundleWithOutput, type InvocationResult } from '../../support/deploy/run-bundle.ts';

jest.setTimeout(60_000);
const resources = new Resources();
const work = mkdtempSync(join(tmpdir(), 'datasync-bundle-'));
afterAll(async () => {
  await resources.dispose();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

async function invoke(
  bundle: string,
  event: SQSEvent,
  env: Record<string, string>,
  output: string[] = [],
): Promise<InvocationResult<SQSBatchResponse>> {
  const invocation = await invokeBundleWithOutput<SQSBatchResponse>(
    bundle,
    event,
    {
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
      // Its calls are logged as the sqs function's and evaluated against that role.
      DATASYNC_AWS_CALL_LOG: process.env.DATASYNC_AWS_CALL_LOG,
      AWS_LAMBDA_FUNCTION_NAME: 'sqs',
      // As Lambda sets it for an on-demand function (Powertools reports cold starts only then).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      ...env,
    },
    work,
  );
  output.push(...invocation.output);
  return invocation.result;
}

let bundle: string;
let serviceEnv: Record<string, string>;
let feedbackUrl: string;
let rejectedUrl: string;
let tableName: string;

/** The `mtu` the table holds for `pk`, read as the number's text. */
async function storedMtu(pk: string): Promise<string | undefined> {
  const { Item } = await resources.clients.dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item?.mtu?.N;
}

/** An SQS event of the given bodies, sent through a real queue so ids and attributes are genuine. */
async function sqsEvent(bodies: string[]): Promise<SQSEvent> {
  const queue = await createQueue(resources, { prefix: 'ds-changes' });
  await resources.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
    }),
  );
  return { Records: toLambdaSqsRecords(await receiveAll(queue.url, { count: bodies.length }), queue.arn) };
}

beforeAll(async () => {
  const service = await packagedService();
  bundle = extractBundle(service, 'sqs', work, 'functions/sqs');
  const [table, stateTable, feedback, rejected, resync] = await Promise.all([
    createTable(resources, { stream: false, versionAttribute: 'version' }),
    createStateTable(resources),
    createQueue(resources, { prefix: 'ds-feedback', standsFor: 'FeedbackQueue' }),
    createQueue(resources, { prefix: 'ds-rejected', standsFor: 'RejectedQueue' }),
    createQueue(resources, { prefix: 'ds-resync', standsFor: 'ResyncQueue' }),
  ]);
  feedbackUrl = feedback.url;
  rejectedUrl = rejected.url;
  serviceEnv = {
    DATASYNC_TABLES: JSON.stringify([table.table]),
    DATASYNC_STATE_TABLE: stateTable,
    DATASYNC_FEEDBACK_QUEUE_URL: feedback.url,
    DATASYNC_DEAD_LETTER_QUEUE_URL: rejected.url,
    DATASYNC_RESYNC_QUEUE_URL: resync.url,
    // As the template sets it: the config table's keys are written to the table.
    DATASYNC_STORE: 'on',
  };
  tableName = table.table.name;
}, 240_000);

const change = (key: string, revision: number) =>
  JSON.stringify(toEnvelope({ key, op: 'put', value: { mtu: 9000 }, revision }));

describe('the packaged SQS function, run as Lambda runs it', () => {
  it('signs with the credentials Lambda puts in the environment: the change stored in its table, bad input dead-lettered', async () => {
    const event = await sqsEvent([change('config/interfaces/eth0', 1), 'not json at all']);
    const output: string[] = [];
    const result = await invoke(
      bundle,
      event,
      {
        ...serviceEnv,
        AWS_ACCESS_KEY_ID: 'lambda-role',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_SESSION_TOKEN: 'token',
      },
      output,
    );

    expect(result).toEqual({ response: { batchItemFailures: [] } });
    // The table's stream delivers the stored change to the plugins; this function reports the write.
    const feedback = await receiveBodies<FeedbackRecord>(feedbackUrl, { count: 2, remove: true });
    expect(
      feedback.map((record) => `${record.event} ${'plugin' in record ? record.plugin : '-'} ${record.status}`).sort(),
    ).toEqual(['rejected - error', 'stored - ok']);
    expect(await storedMtu('interfaces/eth0')).toBe('9000');
    const rejected = await receiveBodies<{ reason: { code: string } }>(rejectedUrl, { count: 1, remove: true });
    expect(rejected.map((entry) => entry.reason.code)).toEqual(['INVALID_CHANGE']);

    // The bundled Powertools middleware: a log line with the invocation's context, and EMF metrics.
    const lines = output.map((line) => JSON.parse(line) as Record<string, any>);
    expect(lines.filter((line) => !line._aws)).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'batch delivered',
        service: 'serverless-datasync',
        function_name: 'probe',
        function_request_id: 'probe',
        cold_start: true,
        records: 2,
        stored: 1,
        rejected: 1,
      }),
    ]);
    const metrics = Object.assign({}, ...lines.filter((line) => line._aws)) as Record<string, unknown>;
    expect(metrics).toMatchObject({ ColdStart: 1, RecordsReceived: 2, ChangesRejected: 1, ChangesStored: 1 });
  });

  it('takes credentials from the container endpoint when the environment has none', async () => {
    const requests: Array<string | undefined> = [];
    const server: Server = createServer((request, response) => {
      requests.push(request.headers.authorization);
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          AccessKeyId: 'container-role',
          SecretAccessKey: 'secret',
          Token: 'token',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const event = await sqsEvent([change('config/interfaces/eth1', 1)]);
      const result = await invoke(bundle, event, {
        ...serviceEnv,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token',
      });

      expect(result).toEqual({ response: { batchItemFailures: [] } });
      expect(requests.length).toBeGreaterThan(0);
      expect(new Set(requests)).toEqual(new Set(['container-token']));
      const feedback = await receiveBodies<FeedbackRecord>(feedbackUrl, { count: 1, remove: true });
      expect(feedback.map((record) => `${record.event} ${record.status}`)).toEqual(['stored ok']);
      expect(await storedMtu('interfaces/eth1')).toBe('9000');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails the invocation with a clear error when there are no credentials, instead of reporting success', async () => {
    const event = await sqsEvent([change('config/interfaces/eth2', 1)]);
    const result = await invoke(bundle, event, serviceEnv);

    expect(result.response).toBeUndefined();
    // The thrown error's own message is what the Lambda log shows first: it must name the cause.
    expect(result.thrown?.message).toMatch(
      /: no AWS credentials: a deployed function reads them from AWS_ACCESS_KEY_ID/,
    );
    expect(result.thrown?.causes.some((message) => /^no AWS credentials: /.test(message))).toBe(true);
  });
});
