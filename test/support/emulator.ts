// Resources on the emulator for integration tests. The emulator is shared by parallel runs, so
// every resource gets a unique name, and a test removes only what it created (through Resources).
import { randomBytes } from 'node:crypto';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { chunk, forEachConcurrently } from '../../lib/aws/batch.ts';
import { awsClients, createAwsClients, type AwsClients, type ClientOptions } from '../../lib/aws/clients.ts';
import type { TableConfig } from '../../lib/config.ts';
import { stateTableDefinition } from '../../lib/state/table.ts';
import { bindTemplateResource } from './iam/functions.ts';

/** A name no other test run uses, so runs sharing one emulator never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Fresh clients for one test file, so middleware a test adds stays its own. */
export function testClients(options: ClientOptions = {}): AwsClients {
  return createAwsClients(options);
}

/** The clients a test uses and the cleanups of what it created, run in reverse order. */
export class Resources {
  readonly clients: AwsClients;
  readonly #cleanups: Array<() => Promise<unknown>> = [];
  constructor(clients: AwsClients = awsClients()) {
    this.clients = clients;
  }
  add(cleanup: () => Promise<unknown>): void {
    this.#cleanups.push(cleanup);
  }
  async dispose(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) await cleanup().catch(() => {});
  }
}

/** A table a test created, with its datasync config. */
export interface TestTable {
  readonly name: string;
  readonly table: TableConfig;
  /** Its stream (`NEW_AND_OLD_IMAGES`), unless made without one. */
  readonly streamArn: string;
  getItem(key: Record<string, AttributeValue>): Promise<Record<string, AttributeValue> | undefined>;
  status(): Promise<string | undefined>;
}

async function makeTable(resources: Resources, input: CreateTableCommandInput): Promise<string | undefined> {
  const { dynamodb } = resources.clients;
  const created = await dynamodb.send(new CreateTableCommand(input));
  resources.add(() => dynamodb.send(new DeleteTableCommand({ TableName: input.TableName })));
  return created.TableDescription?.LatestStreamArn;
}

/** Creates an on-demand table keyed by string attributes (partition key first), with a stream unless `stream: false`. */
export async function createTable(
  resources: Resources,
  options: {
    prefix?: string;
    keyAttributes?: readonly string[];
    versionAttribute?: string;
    stream?: boolean;
  } = {},
): Promise<TestTable> {
  const { dynamodb } = resources.clients;
  const name = uniqueName('ds-table');
  const keyAttributes = options.keyAttributes ?? ['pk'];
  const streamArn = await makeTable(resources, {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' })),
    KeySchema: keyAttributes.map((attribute, index) => ({
      AttributeName: attribute,
      KeyType: index === 0 ? 'HASH' : 'RANGE',
    })),
    ...(options.stream === false
      ? {}
      : { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
  });
  if (options.stream !== false && !streamArn) throw new Error(`table ${name} has no stream`);
  // A data table, as the template's ConfigTable is: a function's calls on it are evaluated as calls on that.
  bindTemplateResource('ConfigTable', name);
  return {
    name,
    table: {
      name,
      prefix: options.prefix ?? 'config',
      keyAttributes,
      ...(options.versionAttribute ? { versionAttribute: options.versionAttribute } : {}),
    },
    streamArn: streamArn ?? '',
    getItem: async (key) =>
      (await dynamodb.send(new GetItemCommand({ TableName: name, Key: key, ConsistentRead: true }))).Item,
    status: async () => (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus,
  };
}

/** Creates a sync-state table with the production definition and returns its name. */
export async function createStateTable(resources: Resources): Promise<string> {
  const name = uniqueName('ds-state');
  await makeTable(resources, stateTableDefinition(name));
  bindTemplateResource('StateTable', name);
  return name;
}

/** Writes items with BatchWriteItem, four calls in flight, resending what comes back unprocessed. */
export async function putItems(
  clients: AwsClients,
  table: string,
  items: ReadonlyArray<Record<string, AttributeValue>>,
): Promise<void> {
  await forEachConcurrently(chunk(items, 25), 4, async (batch) => {
    let pending = batch.map((item) => ({ PutRequest: { Item: item } }));
    while (pending.length > 0) {
      const result = await clients.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = (result.UnprocessedItems?.[table] ?? []).map((request) => ({
        PutRequest: { Item: request.PutRequest!.Item! },
      }));
    }
  });
}

/** Deletes one item by its key attributes. */
export async function deleteItem(
  clients: AwsClients,
  table: string,
  key: Record<string, AttributeValue>,
): Promise<void> {
  await clients.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: key }));
}

/**
 * The records on a stream (all shards, from the start or after a sequence number), waiting up to
 * `timeoutMs` for at least `expected` of them.
 */
export async function readStream(
  clients: AwsClients,
  streamArn: string,
  options: { expected?: number; timeoutMs?: number; after?: string } = {},
): Promise<StreamRecord[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  for (;;) {
    const records: StreamRecord[] = [];
    const { StreamDescription } = await clients.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator: iterator } = await clients.streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId!,
          ...(options.after
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: options.after }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      for (let page = 0; iterator && page < 50; page += 1) {
        const response = await clients.streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        records.push(...(response.Records ?? []));
        if ((response.Records ?? []).length === 0) break;
        iterator = response.NextShardIterator;
      }
    }
    if (records.length >= (options.expected ?? 0) || Date.now() > deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A queue a test created. */
export interface TestQueue {
  readonly url: string;
  readonly arn: string;
  /** The redrive dead-letter queue, when one was asked for. */
  readonly dlq?: { readonly url: string; readonly arn: string };
}

/** Creates a standard or FIFO queue, optionally with a redrive policy to a new dead-letter queue. */
export async function createQueue(
  resources: Resources,
  options: {
    fifo?: boolean;
    maxReceiveCount?: number;
    prefix?: string;
    /** The template queue this one stands for when a function of the service uses it (see iam/functions.ts). */
    standsFor?: string;
  } = {},
): Promise<TestQueue> {
  const { sqs } = resources.clients;
  const make = async (name: string, attributes: Record<string, string>) => {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
    resources.add(() => sqs.send(new DeleteQueueCommand({ QueueUrl: url })));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn!;
    return { url, arn };
  };
  const suffix = options.fifo ? '.fifo' : '';
  const fifo: Record<string, string> = options.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
  const base = uniqueName(options.prefix ?? 'ds-queue');
  const dlq = options.maxReceiveCount ? await make(`${base}-dlq${suffix}`, fifo) : undefined;
  const queue = await make(`${base}${suffix}`, {
    ...fifo,
    VisibilityTimeout: '30',
    ...(dlq
      ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount }) }
      : {}),
  });
  if (options.standsFor) bindTemplateResource(options.standsFor, queue.url);
  return { ...queue, ...(dlq ? { dlq } : {}) };
}

/** A custom bus with a rule that sends every event of `source` to a new queue. */
export async function createBus(resources: Resources, source: string): Promise<{ busName: string; queue: TestQueue }> {
  const { eventbridge } = resources.clients;
  const busName = uniqueName('ds-bus');
  const ruleName = uniqueName('ds-rule');
  await eventbridge.send(new CreateEventBusCommand({ Name: busName }));
  resources.add(() => eventbridge.send(new DeleteEventBusCommand({ Name: busName })));
  const queue = await createQueue(resources);
  await eventbridge.send(
    new PutRuleCommand({ Name: ruleName, EventBusName: busName, EventPattern: JSON.stringify({ source: [source] }) }),
  );
  resources.add(() => eventbridge.send(new DeleteRuleCommand({ Name: ruleName, EventBusName: busName })));
  await eventbridge.send(
    new PutTargetsCommand({ Rule: ruleName, EventBusName: busName, Targets: [{ Id: 'queue', Arn: queue.arn }] }),
  );
  resources.add(() =>
    eventbridge.send(new RemoveTargetsCommand({ Rule: ruleName, EventBusName: busName, Ids: ['queue'] })),
  );
  return { busName, queue };
}

/** How `receiveAll` waits, and whether it removes what it received. */
export interface ReceiveOptions {
  /** Stop once this many messages arrived (or at the deadline). */
  readonly count?: number;
  /** Without a count: stop once the queue stayed empty this long; default 300 ms. */
  readonly idleMs?: number;
  /** Give up after this long; default 5 s. */
  readonly deadlineMs?: number;
  /** Delete each message once received (otherwise it is only hidden for the visibility timeout). */
  readonly remove?: boolean;
  /** Default: clients for the shared emulator. Any SQS client does, e.g. one with other credentials. */
  readonly clients?: Pick<AwsClients, 'sqs'>;
}

/** Receives messages until `count` have arrived, or, without a count, until the queue stays empty for `idleMs`. */
export async function receiveAll(url: string, options: ReceiveOptions = {}): Promise<Message[]> {
  const { sqs } = options.clients ?? awsClients();
  const out: Message[] = [];
  const deadline = Date.now() + (options.deadlineMs ?? 5_000);
  let idleSince = Date.now();
  while (Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    out.push(...Messages);
    if (options.remove && Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    if (options.count !== undefined && out.length >= options.count) break;
    if (Messages.length > 0) idleSince = Date.now();
    // With a count to wait for, only the deadline ends the wait; otherwise a quiet queue does.
    else if (options.count === undefined && Date.now() - idleSince >= (options.idleMs ?? 300)) break;
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return out;
}

/** The JSON bodies of the messages on a queue (see `receiveAll`). */
export async function receiveBodies<T = Record<string, unknown>>(
  url: string,
  options: ReceiveOptions = {},
): Promise<T[]> {
  return (await receiveAll(url, options)).map((message) => JSON.parse(message.Body!) as T);
}

/** Receives and deletes every message now on a queue, in arrival order. */
export function drainQueue(clients: AwsClients, url: string): Promise<Message[]> {
  return receiveAll(url, { clients, remove: true, idleMs: 0 });
}

/** Sends bodies (JSON-encoded unless text) to a queue, 10 a call. */
export async function sendJson(clients: AwsClients, url: string, bodies: readonly unknown[]): Promise<void> {
  for (const batch of chunk(bodies, 10)) {
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: batch.map((body, index) => ({
          Id: String(index),
          MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
        })),
      }),
    );
  }
}

/**
 * Does what the Lambda SQS event source does with a partial batch response: deletes the messages
 * not reported and makes the reported ones visible again at once.
 */
export async function settleLikeLambda(
  url: string,
  messages: readonly Message[],
  response: { batchItemFailures: Array<{ itemIdentifier: string }> },
): Promise<void> {
  const { sqs } = awsClients();
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  for (const done of chunk(
    messages.filter((message) => !failed.has(message.MessageId!)),
    10,
  )) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: done.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  for (const retry of chunk(
    messages.filter((message) => failed.has(message.MessageId!)),
    10,
  )) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: retry.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
}
