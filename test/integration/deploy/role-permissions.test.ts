// The packaged roles against the calls the packaged functions really make. A private moto_server
// enforces IAM (moto's reset-auth): each function's bundle runs with the keys of an
// IAM user that has exactly the statements of that function's packaged role, in the environment
// the template gives the function, against resources named as the template names them. A call
// the role does not grant fails the invocation.
//
// moto checks SQS calls against the queue's ARN but DynamoDB calls by action only (it authorizes
// them against resource "*"), so DynamoDB grants are given on "*" here; the template test checks
// which table each DynamoDB grant names.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResultV2, DynamoDBBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { toLambdaSqsRecord } from '../../../infra/local/lambda-shapes.ts';
import { toEnvelope, type FeedbackRecord } from '../../../lib/index.ts';
import { DEFAULT_EVENT_DETAIL_TYPE, DEFAULT_EVENT_SOURCE } from '../../../lib/model/envelope.ts';
import type { ResyncRunResult } from '../../../lib/resync/engine.ts';
import { keyRowKey, stateTableDefinition } from '../../../lib/state/table.ts';
import { packagedService, type Template } from '../../support/deploy/packaged-service.ts';
import { extractBundle, invokeBundle, type InvocationResult } from '../../support/deploy/run-bundle.ts';
import { refTarget, roleStatements, type Statement } from '../../support/deploy/template.ts';
import { receiveAll } from '../../support/emulator.ts';
import { describeProblems, evaluateCalls, readCallLog } from '../../support/iam/evaluate.ts';
import { freePort, startPrivateEmulator, stopPrivateEmulator } from '../../support/private-emulator.ts';
import { httpApiRequest } from '../../support/lambda-events.ts';

jest.setTimeout(120_000);
const REGION = 'us-east-1';
const work = mkdtempSync(join(tmpdir(), 'datasync-roles-'));

type Credentials = { accessKeyId: string; secretAccessKey: string };
/** A resource made on the emulator: its ARN ("*" for tables, see above) and what `Ref` gives (URL or name). */
interface Created {
  readonly arn: string;
  readonly ref: string;
}

let moto: ChildProcess;
let endpoint: string;
let template: Template;
let iam: IAMClient;
let sqs: SQSClient;
let dynamodb: DynamoDBClient;
const created = new Map<string, Created>();
const bundles = new Map<string, string>();
let users = 0;

/** An IAM user with one inline policy of `statements`, and its access keys. */
async function userWith(client: IAMClient, statements: unknown[]): Promise<Credentials> {
  users += 1;
  const UserName = `user-${users}`;
  await client.send(new CreateUserCommand({ UserName }));
  await client.send(
    new PutUserPolicyCommand({
      UserName,
      PolicyName: 'role',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );
  const { AccessKey } = await client.send(new CreateAccessKeyCommand({ UserName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

/** The packaged role of `functionId` (e.g. `Sqs`) as a policy on this emulator's resources. */
function roleOf(functionId: string): Statement[] {
  const role = refTarget(template.Resources[`${functionId}LambdaFunction`]!.Properties!.Role)!;
  // Log writes go to CloudWatch Logs, which these runs do not reach.
  return roleStatements(template.Resources[role]!).filter(
    (statement) => !statement.actions.some((action) => action.startsWith('logs:')),
  );
}

// moto authorizes a call by the name of its API operation. AWS authorizes batch and transaction
// calls by the actions they contain (SendMessageBatch is sqs:SendMessage; TransactWriteItems is
// each item's PutItem, ConditionCheckItem, ...), so a role that grants one of the sets of actions
// a call of ours contains is given moto's name too.
const AUTHORIZED_AS: Record<string, readonly (readonly string[])[]> = {
  'sqs:SendMessageBatch': [['sqs:SendMessage']],
  'sqs:DeleteMessageBatch': [['sqs:DeleteMessage']],
  'sqs:ChangeMessageVisibilityBatch': [['sqs:ChangeMessageVisibility']],
  'dynamodb:TransactWriteItems': [
    // The ledger's key rows (lib/state/key-rows.ts).
    ['dynamodb:UpdateItem'],
    // A resync's first snapshot: a condition on the plugin's status row and a put (lib/state/store.ts).
    ['dynamodb:ConditionCheckItem', 'dynamodb:PutItem'],
    // The store's put after a tombstone check, its delete with the tombstone, and a tombstone
    // after checking the item (lib/sources/store.ts).
    ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
    ['dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'],
  ],
};

function withMotoNames(actions: readonly string[]): string[] {
  const extra = Object.entries(AUTHORIZED_AS)
    .filter(([, sets]) => sets.some((needs) => needs.every((action) => actions.includes(action))))
    .map(([name]) => name);
  return [...actions, ...extra];
}

function asPolicy(statements: Statement[]): unknown[] {
  const resource = (value: unknown) => {
    if (typeof value === 'string') return value;
    const target = refTarget(value);
    const type = target ? template.Resources[target]?.Type : undefined;
    if (type === 'AWS::DynamoDB::Table') return '*';
    // A queue the test did not create keeps an ARN of its own, so a grant on it allows nothing here.
    return created.get(target!)?.arn ?? `arn:aws:sqs:${REGION}:123456789012:not-created-${target}`;
  };
  return statements.map((statement) => ({
    Effect: statement.effect,
    Action: withMotoNames(statement.actions),
    Resource: [...new Set(statement.resources.map(resource))],
  }));
}

/** The function's environment from the template, its Refs resolved to this emulator's resources. */
function environmentOf(functionId: string): Record<string, string> {
  const variables = template.Resources[`${functionId}LambdaFunction`]!.Properties!.Environment.Variables as Record<
    string,
    unknown
  >;
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : created.get(refTarget(value)!)!.ref,
    ]),
  );
}

function invoke<T>(
  name: string,
  functionId: string,
  event: unknown,
  credentials: Credentials,
  callLog = process.env.DATASYNC_AWS_CALL_LOG,
): Promise<InvocationResult<T>> {
  return invokeBundle<T>(
    bundles.get(name)!,
    event,
    {
      ...environmentOf(functionId),
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      // Every call the bundle makes is logged as this function's and evaluated against its role.
      DATASYNC_AWS_CALL_LOG: callLog,
      AWS_LAMBDA_FUNCTION_NAME: name,
    },
    work,
  );
}

/** An API Gateway HTTP API (payload v2) request for a route of `/keys/{key+}`. */
function httpEvent(method: 'PUT' | 'DELETE', key: string, body?: unknown) {
  return httpApiRequest(method, `/keys/${key}`, {
    route: '/keys/{key+}',
    pathParameters: { key },
    contentType: 'application/json',
    requestId: `request-${method}-${key}`,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

let caseLogs = 0;
/** A call log of its own for one case, so the case can check what it made AWS evaluate. */
function caseLog(): string {
  caseLogs += 1;
  return join(work, `calls-${caseLogs}.jsonl`);
}

/** The calls logged in `file`, evaluated against the packaged roles: each distinct one once. */
const evaluated = (file: string) => evaluateCalls(template, readCallLog(file));

/** Receives `count` messages from a queue (or what arrives within 10 s) and deletes them. */
function receive(queue: string, count: number): Promise<Message[]> {
  return receiveAll(created.get(queue)!.ref, { clients: { sqs }, count, deadlineMs: 10_000, remove: true });
}

const feedbackOf = (messages: Message[]) => messages.map((message) => JSON.parse(message.Body!) as FeedbackRecord);

let firstResync: Promise<{ result: InvocationResult<ResyncRunResult>; feedback: FeedbackRecord[] }> | undefined;

/**
 * The first resync, run once under the resync function's role by whichever test needs it first:
 * every other function delivers only to plugins in sync, so no test relies on another's order.
 */
function resyncedOnce() {
  firstResync ??= (async () => {
    const result = await invoke<ResyncRunResult>(
      'resync',
      'Resync',
      {},
      await userWith(iam, asPolicy(roleOf('Resync'))),
    );
    return { result, feedback: result.thrown ? [] : feedbackOf(await receive('FeedbackQueue', 2)) };
  })();
  return firstResync;
}

/** For the cases that need the plugins in sync: fails at once, saying why, when the first resync did not succeed. */
async function inSync(): Promise<void> {
  const { result } = await resyncedOnce();
  const failed =
    result.thrown?.message ??
    result.response?.plugins
      .filter(({ status }) => status !== 'ok')
      .map(({ plugin, status }) => `${plugin}: ${status}`)
      .join(', ');
  if (failed) throw new Error(`the first resync did not succeed, so this case cannot run: ${failed}`);
}

beforeAll(async () => {
  const service = await packagedService();
  template = service.template;
  for (const [name, entry] of [
    ['sqs', 'sqs'],
    ['resync', 'resync'],
    ['eventbridge', 'eventbridge'],
    ['dynamodbStream', 'dynamodb-stream'],
    ['http', 'http'],
  ] as const) {
    bundles.set(name, extractBundle(service, name, work, `functions/${entry}`));
  }

  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  moto = await startPrivateEmulator(port);
  // From here on moto authorizes every call against the IAM users' policies, except the next three:
  // the administrator's user, policy and keys. (A server other than moto would refuse this call.)
  const reset = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '3' });
  if (!reset.ok) throw new Error(`${endpoint} did not accept moto's reset-auth: ${reset.status}`);
  const admin = await userWith(
    new IAMClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' },
    }),
    [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  );
  iam = new IAMClient({ endpoint, region: REGION, credentials: admin });
  sqs = new SQSClient({ endpoint, region: REGION, credentials: admin });
  dynamodb = new DynamoDBClient({ endpoint, region: REGION, credentials: admin });

  // Every queue of the stack, and the data and state tables, under their packaged names.
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::SQS::Queue') {
      const QueueName = String(resource.Properties!.QueueName);
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({
          QueueName,
          ...(QueueName.endsWith('.fifo') ? { Attributes: { FifoQueue: 'true' } } : {}),
        }),
      );
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      created.set(id, { arn: Attributes!.QueueArn!, ref: QueueUrl! });
    }
  }
  const configTable = String(template.Resources.ConfigTable!.Properties!.TableName);
  const stateTable = String(template.Resources.StateTable!.Properties!.TableName);
  await dynamodb.send(
    new CreateTableCommand({
      TableName: configTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  await dynamodb.send(new CreateTableCommand(stateTableDefinition(stateTable)));
  created.set('ConfigTable', { arn: '*', ref: configTable });
  // No function calls the bus; the EventBridge function is told its name to say where an event came from.
  const bus = String(template.Resources.EventBus!.Properties!.Name);
  created.set('EventBus', { arn: `arn:aws:events:${REGION}:123456789012:event-bus/${bus}`, ref: bus });
  created.set('StateTable', { arn: '*', ref: stateTable });
  await dynamodb.send(
    new BatchWriteItemCommand({
      RequestItems: {
        [configTable]: [
          { PutRequest: { Item: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1500' }, version: { N: '1' } } } },
          { PutRequest: { Item: { pk: { S: 'routes/default' }, via: { S: 'eth0' }, version: { N: '1' } } } },
        ],
      },
    }),
  );
}, 240_000);

afterAll(async () => {
  await stopPrivateEmulator(moto);
  rmSync(work, { recursive: true, force: true });
});

const change = (key: string, value: Record<string, unknown>, revision: number) =>
  JSON.stringify(toEnvelope({ key, op: 'put', value: value as never, revision }));

/** Sends bodies to the changes queue and receives them back as the Lambda SQS event source would. */
async function changesEvent(bodies: string[]) {
  const queue = created.get('ChangesQueue')!;
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.ref,
      Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
    }),
  );
  return {
    Records: (await receive('ChangesQueue', bodies.length)).map((message) =>
      toLambdaSqsRecord(message, queue.arn, REGION),
    ),
  };
}

/** A stream event of one record on the data table, as Lambda delivers it. */
function streamEvent(
  eventName: 'MODIFY' | 'REMOVE',
  sequence: string,
  images: { NewImage?: Record<string, AttributeValue>; OldImage: Record<string, AttributeValue> },
) {
  const table = created.get('ConfigTable')!.ref;
  return {
    Records: [
      {
        eventID: `stream-${sequence}`,
        eventName,
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: REGION,
        eventSourceARN: `arn:aws:dynamodb:${REGION}:123456789012:table/${table}/stream/2026-01-01T00:00:00.000`,
        dynamodb: {
          ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
          Keys: { pk: images.OldImage.pk! },
          ...images,
          SequenceNumber: sequence,
          SizeBytes: 60,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
    ],
  };
}

describe('packaged roles, enforced by the emulator', () => {
  it('the resync function completes a first resync of every plugin with only its role', async () => {
    const { result, feedback } = await resyncedOnce();

    expect(result.thrown).toBeUndefined();
    expect(result.response!.plugins.map(({ plugin, status }) => ({ plugin, status }))).toEqual([
      { plugin: 'interfaces', status: 'ok' },
      { plugin: 'routes', status: 'ok' },
    ]);
    expect(feedback.filter((record) => record.event === 'resync').map((record) => record.status)).toEqual(['ok', 'ok']);
  });

  it('the SQS function writes a table key to its table, forwards any other key to the ordered queue and dead-letters bad input with only its role', async () => {
    const event = await changesEvent([
      change('config/interfaces/eth0', { mtu: 9000 }, 2),
      change('events/link-up', { port: 'eth0' }, 1),
      'not json at all',
    ]);
    const result = await invoke<SQSBatchResponse>('sqs', 'Sqs', event, await userWith(iam, asPolicy(roleOf('Sqs'))));

    expect(result).toEqual({ response: { batchItemFailures: [] } });
    const feedback = feedbackOf(await receive('FeedbackQueue', 2));
    expect(feedback.map((record) => `${record.event} ${record.status}`).sort()).toEqual([
      'rejected error',
      'stored ok',
    ]);
    expect(await receive('RejectedQueue', 1)).toHaveLength(1);
    // The table's stream delivers the stored change; the item carries the change's revision as its version.
    const stored = await dynamodb.send(
      new GetItemCommand({
        TableName: created.get('ConfigTable')!.ref,
        Key: { pk: { S: 'interfaces/eth0' } },
        ConsistentRead: true,
      }),
    );
    expect({ mtu: stored.Item?.mtu, version: stored.Item?.version }).toEqual({
      mtu: { N: '9000' },
      version: { N: '2' },
    });
    // The other key waits in the FIFO queue, in a group of its own, for the ordered delivery.
    const forwarded = await receiveAll(created.get('ChangesFifoQueue')!.ref, {
      clients: { sqs },
      count: 1,
      deadlineMs: 10_000,
      remove: true,
    });
    expect(forwarded.map((message) => message.Attributes?.MessageGroupId)).toEqual(['events/link-up']);
  });

  it('the EventBridge function writes a table key to its table with only its role', async () => {
    const event = {
      version: '0',
      id: 'event-1',
      'detail-type': DEFAULT_EVENT_DETAIL_TYPE,
      source: DEFAULT_EVENT_SOURCE,
      account: '123456789012',
      time: new Date().toISOString(),
      region: REGION,
      resources: [],
      detail: toEnvelope({ key: 'config/interfaces/eth3', op: 'put', value: { mtu: 1400 }, revision: 1 }),
    };
    const result = await invoke(
      'eventbridge',
      'Eventbridge',
      event,
      await userWith(iam, asPolicy(roleOf('Eventbridge'))),
    );

    expect(result.thrown).toBeUndefined();
    const feedback = feedbackOf(await receive('FeedbackQueue', 1));
    expect(feedback.map((record) => `${record.event} ${record.status}`)).toEqual(['stored ok']);
    const stored = await dynamodb.send(
      new GetItemCommand({
        TableName: created.get('ConfigTable')!.ref,
        Key: { pk: { S: 'interfaces/eth3' } },
        ConsistentRead: true,
      }),
    );
    expect(stored.Item?.mtu).toEqual({ N: '1400' });
  });

  it('the stream function delivers a table change with only its role', async () => {
    await inSync();
    const image = { pk: { S: 'interfaces/eth0' }, mtu: { N: '1280' }, version: { N: '5' } };
    const event = streamEvent('MODIFY', '100000000000000000001', {
      NewImage: image,
      OldImage: { ...image, mtu: { N: '1500' }, version: { N: '4' } },
    });
    const result = await invoke<DynamoDBBatchResponse>(
      'dynamodbStream',
      'DynamodbStream',
      event,
      await userWith(iam, asPolicy(roleOf('DynamodbStream'))),
    );

    expect(result).toEqual({ response: { batchItemFailures: [] } });
    const feedback = feedbackOf(await receive('FeedbackQueue', 1));
    const delivered = [{ key: 'config/interfaces/eth0', op: 'put', revision: '100000000000000000001', version: '5' }];
    expect(
      feedback
        .map((record) => ({
          event: record.event,
          plugin: 'plugin' in record ? record.plugin : undefined,
          status: record.status,
          changes: 'changes' in record ? record.changes : undefined,
        }))
        .sort((a, b) => String(a.plugin).localeCompare(String(b.plugin))),
    ).toEqual([{ event: 'change', plugin: 'interfaces', status: 'ok', changes: delivered }]);
  });

  it('the HTTP function writes a key to the table with only its role', async () => {
    const result = await invoke<Exclude<APIGatewayProxyResultV2, string>>(
      'http',
      'Http',
      httpEvent('PUT', 'config/interfaces/eth4', { mtu: 1300 }),
      await userWith(iam, asPolicy(roleOf('Http'))),
    );

    expect(result.thrown).toBeUndefined();
    expect(result.response!.statusCode).toBeLessThan(300);
    const stored = await dynamodb.send(
      new GetItemCommand({
        TableName: created.get('ConfigTable')!.ref,
        Key: { pk: { S: 'interfaces/eth4' } },
        ConsistentRead: true,
      }),
    );
    expect(stored.Item?.mtu).toEqual({ N: '1300' });
  });

  it('the HTTP function remembers a delete of a key the table does not hold, with only its role as AWS evaluates it', async () => {
    const log = caseLog();
    const result = await invoke<Exclude<APIGatewayProxyResultV2, string>>(
      'http',
      'Http',
      httpEvent('DELETE', 'config/interfaces/eth5'),
      await userWith(iam, asPolicy(roleOf('Http'))),
      log,
    );

    expect(result.thrown).toBeUndefined();
    expect(JSON.parse(result.response!.body!)).toMatchObject({ op: 'delete', unchanged: true });
    expect(feedbackOf(await receive('FeedbackQueue', 1)).map((record) => record.event)).toEqual(['stored']);
    // The tombstone in the key's row of the state table, beside the check of the data table's item.
    const { pk, sk } = keyRowKey('config/interfaces/eth5');
    const row = await dynamodb.send(
      new GetItemCommand({
        TableName: created.get('StateTable')!.ref,
        Key: { pk: { S: pk }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    expect(row.Item?.tomb?.N).toMatch(/^[0-9]+$/);
    const evaluations = await evaluated(log);
    expect(evaluations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'dynamodb:ConditionCheckItem', resource: 'ConfigTable' }),
        expect.objectContaining({ action: 'dynamodb:UpdateItem', resource: 'StateTable' }),
      ]),
    );
    expect(describeProblems(evaluations)).toEqual([]);
  });

  it('the stream function applies a REMOVE and settles it with the store, with only its role as AWS evaluates it', async () => {
    await inSync();
    const removed = { pk: { S: 'interfaces/eth9' }, mtu: { N: '1500' }, version: { N: '7' } };
    const event = streamEvent('REMOVE', '100000000000000000002', { OldImage: removed });
    const log = caseLog();
    const result = await invoke<DynamoDBBatchResponse>(
      'dynamodbStream',
      'DynamodbStream',
      event,
      await userWith(iam, asPolicy(roleOf('DynamodbStream'))),
      log,
    );

    expect(result).toEqual({ response: { batchItemFailures: [] } });
    const feedback = feedbackOf(await receive('FeedbackQueue', 1));
    expect(
      feedback.map((record) => `${record.event} ${'plugin' in record ? record.plugin : '-'} ${record.status}`),
    ).toEqual(['change interfaces ok']);
    // The store's tombstone and its conditional delete of an older copy: the only writes to the table.
    const evaluations = await evaluated(log);
    expect(evaluations.filter((entry) => entry.resource === 'ConfigTable').map((entry) => entry.action)).toEqual([
      'dynamodb:DeleteItem',
    ]);
    expect(evaluations).toContainEqual(
      expect.objectContaining({ function: 'dynamodbStream', action: 'dynamodb:UpdateItem', resource: 'StateTable' }),
    );
    expect(describeProblems(evaluations)).toEqual([]);
  });

  it('a resync reads an item again when a delivery gave a plugin a newer version, which its role allows as AWS evaluates it', async () => {
    await inSync();
    // routes is given version 2 of a key the table holds at version 1 (the stream is ahead of the
    // scan), so the next resync reads that item again rather than take the plugin back.
    const image = { pk: { S: 'routes/default' }, via: { S: 'eth1' }, version: { N: '2' } };
    const modified = streamEvent('MODIFY', '100000000000000000003', {
      NewImage: image,
      OldImage: { ...image, via: { S: 'eth0' }, version: { N: '1' } },
    });
    await invoke('dynamodbStream', 'DynamodbStream', modified, await userWith(iam, asPolicy(roleOf('DynamodbStream'))));
    await receive('FeedbackQueue', 1);

    const log = caseLog();
    const schedule = { datasync: 'resync', reason: 'schedule' };
    const resynced = await invoke<ResyncRunResult>(
      'resync',
      'Resync',
      schedule,
      await userWith(iam, asPolicy(roleOf('Resync'))),
      log,
    );
    await receive('FeedbackQueue', 2);

    const evaluations = await evaluated(log);
    expect(evaluations).toContainEqual(
      expect.objectContaining({ function: 'resync', action: 'dynamodb:BatchGetItem', resource: 'ConfigTable' }),
    );
    expect(describeProblems(evaluations)).toEqual([]);
    expect(resynced.response?.plugins.map(({ status }) => status)).toEqual(['ok', 'ok']);
  });

  it('signs with the keys the container credential endpoint serves when the environment has none', async () => {
    await inSync();
    const keys = await userWith(iam, asPolicy(roleOf('Sqs')));
    let served = 0;
    const server = createHttpServer((_request, response) => {
      served += 1;
      response.setHeader('content-type', 'application/json');
      // An IAM user's keys have no session token; the endpoint's format still needs the field.
      response.end(
        JSON.stringify({
          AccessKeyId: keys.accessKeyId,
          SecretAccessKey: keys.secretAccessKey,
          Token: '',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const event = await changesEvent([change('config/interfaces/eth6', { mtu: 1500 }, 1)]);
      const { port } = server.address() as { port: number };
      const result = await invokeBundle<SQSBatchResponse>(
        bundles.get('sqs')!,
        event,
        {
          ...environmentOf('Sqs'),
          AWS_REGION: REGION,
          AWS_ENDPOINT_URL: endpoint,
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/role`,
          DATASYNC_AWS_CALL_LOG: process.env.DATASYNC_AWS_CALL_LOG,
          AWS_LAMBDA_FUNCTION_NAME: 'sqs',
        },
        work,
      );

      // moto refuses keys it did not issue, so success means the served keys signed the calls.
      expect(result).toEqual({ response: { batchItemFailures: [] } });
      expect(served).toBeGreaterThan(0);
      await receive('FeedbackQueue', 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails the invocation when the role lacks one call the delivery path makes, and succeeds with it', async () => {
    await inSync();
    // The ledger reads what each plugin holds of a batch's keys in one BatchGetItem.
    const withoutRead = roleOf('DynamodbStream').map((statement) => ({
      ...statement,
      actions: statement.actions.filter((action) => action !== 'dynamodb:BatchGetItem'),
    }));
    const image = { pk: { S: 'interfaces/eth0' }, mtu: { N: '9001' }, version: { N: '6' } };
    const event = streamEvent('MODIFY', '100000000000000000004', {
      NewImage: image,
      OldImage: { ...image, mtu: { N: '1280' }, version: { N: '5' } },
    });

    const denied = await invoke<DynamoDBBatchResponse>(
      'dynamodbStream',
      'DynamodbStream',
      event,
      await userWith(iam, asPolicy(withoutRead)),
    );
    // Either the invocation throws or the record is handed back for a retry: never a success.
    expect(denied.thrown !== undefined || denied.response!.batchItemFailures.length === 1).toBe(true);
    // What failed is reported (the feedback queue is still allowed).
    const failed = feedbackOf(await receive('FeedbackQueue', 1));
    expect(failed.map((record) => record.status)).not.toContain('ok');

    // The same record delivered again, with the whole role.
    const allowed = await invoke<DynamoDBBatchResponse>(
      'dynamodbStream',
      'DynamodbStream',
      event,
      await userWith(iam, asPolicy(roleOf('DynamodbStream'))),
    );
    expect(allowed).toEqual({ response: { batchItemFailures: [] } });
    expect(feedbackOf(await receive('FeedbackQueue', 1)).map((record) => record.status)).toEqual(['ok']);
  });
});
