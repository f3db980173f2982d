import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamSdkRecord } from '@aws-sdk/client-dynamodb-streams';
import {
  ChangeMessageVisibilityBatchCommand, CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand,
  ReceiveMessageCommand, type Message,
} from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { awsClients } from '../../lib/aws/clients.ts';

/** A name no other test run uses, so runs sharing one emulator never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Cleanups of resources a test created, run in reverse order. */
export class Resources {
  readonly #cleanups: Array<() => Promise<unknown>> = [];
  add(cleanup: () => Promise<unknown>): void {
    this.#cleanups.push(cleanup);
  }
  async dispose(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) await cleanup().catch(() => {});
  }
}

/** Creates a table with a `NEW_AND_OLD_IMAGES` stream; string key attributes, partition key first. */
export async function createStreamTable(resources: Resources, keyAttributes: readonly string[] = ['pk']): Promise<{ tableName: string; streamArn: string }> {
  const { dynamodb } = awsClients();
  const tableName = uniqueName('ds-table');
  const created = await dynamodb.send(new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: keyAttributes.map((name, index) => ({ AttributeName: name, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  }));
  resources.add(() => dynamodb.send(new DeleteTableCommand({ TableName: tableName })));
  const streamArn = created.TableDescription?.LatestStreamArn
    ?? (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  return { tableName, streamArn };
}

/** Reads every record now in the stream (all shards, from the start) and shapes it as Lambda delivers it. */
export async function readStreamAsLambdaRecords(streamArn: string, after?: string): Promise<DynamoDBRecord[]> {
  const { streams } = awsClients();
  const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: DynamoDBRecord[] = [];
  for (const shard of description.StreamDescription?.Shards ?? []) {
    let iterator = (await streams.send(new GetShardIteratorCommand({
      StreamArn: streamArn, ShardId: shard.ShardId!,
      ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
    }))).ShardIterator;
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []).map((record) => toLambdaRecord(record, streamArn)));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

function toLambdaRecord(record: StreamSdkRecord, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  // Lambda sends binary as base64 text and the creation time as epoch seconds; the SDK gives bytes and a Date.
  const json = JSON.parse(JSON.stringify({ ...stream, ApproximateCreationDateTime: undefined }, (_key, value) =>
    value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data) ? Buffer.from(value.data).toString('base64') : value));
  const created = stream.ApproximateCreationDateTime;
  return {
    eventID: record.eventID, eventName: record.eventName as DynamoDBRecord['eventName'], eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb', awsRegion: record.awsRegion ?? 'us-east-1', eventSourceARN: streamArn,
    dynamodb: { ...json, ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}) },
    ...(record.userIdentity ? { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } } : {}),
  };
}

/** A queue a test created. */
export interface TestQueue {
  readonly url: string;
  readonly arn: string;
  /** The redrive dead-letter queue, when one was asked for. */
  readonly dlq?: { readonly url: string; readonly arn: string };
}

/** Creates a standard or FIFO queue, optionally with a redrive policy to a new dead-letter queue. */
export async function createQueue(resources: Resources, options: { fifo?: boolean; maxReceiveCount?: number; prefix?: string } = {}): Promise<TestQueue> {
  const { sqs } = awsClients();
  const make = async (name: string, attributes: Record<string, string>) => {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
    resources.add(() => sqs.send(new DeleteQueueCommand({ QueueUrl: url })));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    return { url, arn };
  };
  const suffix = options.fifo ? '.fifo' : '';
  const fifo: Record<string, string> = options.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
  const base = uniqueName(options.prefix ?? 'ds-queue');
  const dlq = options.maxReceiveCount ? await make(`${base}-dlq${suffix}`, fifo) : undefined;
  const queue = await make(`${base}${suffix}`, {
    ...fifo,
    VisibilityTimeout: '30',
    ...(dlq ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount }) } : {}),
  });
  return { ...queue, ...(dlq ? { dlq } : {}) };
}

/** Receives messages until `count` have arrived (or the deadline passes), or, without a count, until the queue stays empty for `idleMs`. */
export async function receiveAll(url: string, options: { count?: number; idleMs?: number; deadlineMs?: number } = {}): Promise<Message[]> {
  const { sqs } = awsClients();
  const out: Message[] = [];
  const deadline = Date.now() + (options.deadlineMs ?? 5_000);
  let idleSince = Date.now();
  while (Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageAttributeNames: ['All'],
    }));
    out.push(...Messages);
    if (options.count !== undefined && out.length >= options.count) break;
    if (Messages.length > 0) idleSince = Date.now();
    // With a count to wait for, only the deadline ends the wait; otherwise a quiet queue does.
    else if (options.count === undefined && Date.now() - idleSince > (options.idleMs ?? 300)) break;
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return out;
}

/** The JSON bodies of every message on a queue (received, so consumed for the visibility timeout). */
export async function receiveBodies<T = Record<string, unknown>>(url: string, options: { count?: number; idleMs?: number } = {}): Promise<T[]> {
  return (await receiveAll(url, options)).map((message) => JSON.parse(message.Body!) as T);
}

/** Shapes received messages as the Lambda SQS event source delivers them. */
export function toLambdaSqsRecords(messages: readonly Message[], queueArn: string): SQSRecord[] {
  return messages.map((message) => ({
    messageId: message.MessageId!, receiptHandle: message.ReceiptHandle!, body: message.Body!, md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs', eventSourceARN: queueArn, awsRegion: 'us-east-1', messageAttributes: {},
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: message.Attributes?.SenderId ?? 'test',
      ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(message.Attributes?.MessageGroupId ? { MessageGroupId: message.Attributes.MessageGroupId } : {}),
      ...(message.Attributes?.SequenceNumber ? { SequenceNumber: message.Attributes.SequenceNumber } : {}),
    },
  }));
}

/**
 * Does what the Lambda SQS event source does with a partial batch response: deletes the messages
 * not reported and makes the reported ones visible again at once.
 */
export async function settleLikeLambda(url: string, messages: readonly Message[], response: { batchItemFailures: Array<{ itemIdentifier: string }> }): Promise<void> {
  const { sqs } = awsClients();
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const done = messages.filter((message) => !failed.has(message.MessageId!));
  const retry = messages.filter((message) => failed.has(message.MessageId!));
  for (let i = 0; i < done.length; i += 10) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: done.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  for (let i = 0; i < retry.length; i += 10) {
    await sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: url, Entries: retry.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
    }));
  }
}

/** A feedback queue and a dead-letter queue, with the SQS writers a handler takes. */
export async function createFeedbackQueues(resources: Resources) {
  const { SqsFeedbackWriter, SqsDeadLetterWriter } = await import('../../lib/index.ts');
  const feedbackQueue = await createQueue(resources, { prefix: 'ds-feedback' });
  const deadLetterQueue = await createQueue(resources, { prefix: 'ds-rejected' });
  return {
    feedbackQueue,
    deadLetterQueue,
    feedback: new SqsFeedbackWriter({ sqs: awsClients().sqs, queueUrl: feedbackQueue.url }),
    deadLetter: new SqsDeadLetterWriter({ sqs: awsClients().sqs, queueUrl: deadLetterQueue.url }),
  };
}
