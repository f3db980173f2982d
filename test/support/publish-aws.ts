// Emulator helpers for the publisher and feedback tests: uniquely named tables, queues and buses
// (the emulator is shared, so every test makes its own and removes only those), stream and queue
// readers, and SDK middleware that counts calls or injects partial failures.
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand, DeleteTableCommand, DescribeTableCommand, GetItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import {
  CreateEventBusCommand, DeleteEventBusCommand, DeleteRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand,
  SendMessageBatchCommand, type Message,
} from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import type { TableConfig } from '../../lib/config.ts';

/** A name no parallel test run will pick. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Fresh clients for one test, so the middleware a test adds stays its own. */
export function testClients(): AwsClients {
  return createAwsClients();
}

/** A table with a NEW_AND_OLD_IMAGES stream. */
export async function createTestTable(clients: AwsClients, options: { prefix?: string; keyAttributes?: string[]; versionAttribute?: string } = {}) {
  const name = uniqueName('pub');
  const keyAttributes = options.keyAttributes ?? ['pk'];
  const response = await clients.dynamodb.send(new CreateTableCommand({
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' })),
    KeySchema: keyAttributes.map((attribute, index) => ({ AttributeName: attribute, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  }));
  const table: TableConfig = {
    name, prefix: options.prefix ?? 'config', keyAttributes,
    ...(options.versionAttribute ? { versionAttribute: options.versionAttribute } : {}),
  };
  return {
    table,
    streamArn: response.TableDescription!.LatestStreamArn!,
    async getItem(key: Record<string, AttributeValue>) {
      return (await clients.dynamodb.send(new GetItemCommand({ TableName: name, Key: key, ConsistentRead: true }))).Item;
    },
    async drop() {
      await clients.dynamodb.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
    },
    async status() {
      return (await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus;
    },
  };
}

/** Every record on a table's stream so far, waiting up to `timeoutMs` for at least `expected`. */
export async function readStream(clients: AwsClients, streamArn: string, expected: number, timeoutMs = 5_000): Promise<StreamRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records: StreamRecord[] = [];
    const { StreamDescription } = await clients.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator: iterator } = await clients.streams.send(new GetShardIteratorCommand({
        StreamArn: streamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON',
      }));
      for (let page = 0; iterator && page < 50; page += 1) {
        const response = await clients.streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        records.push(...(response.Records ?? []));
        if ((response.Records ?? []).length === 0) break;
        iterator = response.NextShardIterator;
      }
    }
    if (records.length >= expected || Date.now() > deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A queue (FIFO when asked) and a way to remove it. */
export async function createTestQueue(clients: AwsClients, options: { fifo?: boolean; prefix?: string } = {}) {
  const name = uniqueName(options.prefix ?? 'pub') + (options.fifo ? '.fifo' : '');
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({
    QueueName: name,
    ...(options.fifo ? { Attributes: { FifoQueue: 'true' } } : {}),
  }));
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return {
    url: QueueUrl!,
    arn: Attributes!.QueueArn!,
    async drop() {
      await clients.sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
    },
  };
}

/** Receives (and deletes) messages until `expected` arrived or `timeoutMs` passed. */
export async function receiveMessages(clients: AwsClients, queueUrl: string, expected: number, timeoutMs = 5_000): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (messages.length < expected && Date.now() < deadline) {
    const { Messages = [] } = await clients.sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'],
    }));
    messages.push(...Messages);
    if (Messages.length > 0) {
      await clients.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: queueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }));
    }
  }
  return messages;
}

/** Sends JSON bodies to a queue (10 a call). */
export async function sendJson(clients: AwsClients, queueUrl: string, bodies: unknown[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await clients.sqs.send(new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: typeof body === 'string' ? body : JSON.stringify(body) })),
    }));
  }
}

/** A custom bus with a rule that sends every event of `source` to a fresh queue. */
export async function createTestBus(clients: AwsClients, source: string) {
  const busName = uniqueName('pub-bus');
  const ruleName = uniqueName('pub-rule');
  await clients.eventbridge.send(new CreateEventBusCommand({ Name: busName }));
  const queue = await createTestQueue(clients);
  await clients.eventbridge.send(new PutRuleCommand({ Name: ruleName, EventBusName: busName, EventPattern: JSON.stringify({ source: [source] }) }));
  await clients.eventbridge.send(new PutTargetsCommand({ Rule: ruleName, EventBusName: busName, Targets: [{ Id: 'queue', Arn: queue.arn }] }));
  return {
    busName,
    queue,
    async drop() {
      await clients.eventbridge.send(new RemoveTargetsCommand({ Rule: ruleName, EventBusName: busName, Ids: ['queue'] })).catch(() => undefined);
      await clients.eventbridge.send(new DeleteRuleCommand({ Name: ruleName, EventBusName: busName })).catch(() => undefined);
      await clients.eventbridge.send(new DeleteEventBusCommand({ Name: busName })).catch(() => undefined);
      await queue.drop();
    },
  };
}

type AnyClient = AwsClients[keyof AwsClients];
type Handler = (args: { input: Record<string, any> }) => Promise<{ output: Record<string, any>; response: unknown }>;

/**
 * Records the input of every call of `commandName` the client makes (as sent, after any
 * failure injected by middleware added earlier).
 */
export function recordCalls(client: AnyClient, commandName: string): Array<Record<string, any>> {
  const calls: Array<Record<string, any>> = [];
  (client.middlewareStack as any).add(
    (next: Handler, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      if (context.commandName === commandName) calls.push(structuredClone(args.input));
      return next(args);
    },
    { step: 'serialize', name: uniqueName('recordCalls'), priority: 'high' },
  );
  return calls;
}

/**
 * Rewrites calls of `commandName` before they reach the emulator: `intercept` gets the input
 * and the call's number (1-based) and returns the input to send plus a function that turns the
 * real output into the output the publisher sees. Added at `initialize`, before the SDK's own
 * retries, so the publisher's retry loop is what handles the failure.
 */
export function interceptCalls(
  client: AnyClient,
  commandName: string,
  intercept: (input: Record<string, any>, call: number) => { input: Record<string, any>; output?: (output: Record<string, any>) => Record<string, any>; throws?: Error },
): void {
  let call = 0;
  (client.middlewareStack as any).add(
    (next: Handler, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      if (context.commandName !== commandName) return next(args);
      call += 1;
      // A shallow copy: structuredClone would turn `Date`s into another realm's, which the SDK serializes wrongly.
      const plan = intercept({ ...args.input }, call);
      if (plan.throws) throw plan.throws;
      const result = await next({ ...args, input: plan.input });
      return plan.output ? { ...result, output: plan.output(result.output) } : result;
    },
    { step: 'initialize', name: uniqueName('intercept') },
  );
}

/** An SDK-shaped throttling error. */
export function throttlingError(): Error {
  return Object.assign(new Error('Rate exceeded (injected)'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
}
