import { randomUUID } from 'node:crypto';
import {
  BatchWriteItemCommand, CreateTableCommand, DeleteItemCommand, type AttributeValue, type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import type { FeedbackSink } from '../../lib/feedback/sink.ts';
import { stateTableDefinition } from '../../lib/state/table.ts';

/** Clients for tests: the emulator in `AWS_ENDPOINT_URL`, few retries so failures show fast. */
export function testClients(): AwsClients {
  return createAwsClients({ maxAttempts: 2 });
}

/** A name no parallel run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates a sync-state table with the production definition and returns its name. */
export async function createStateTable(clients: AwsClients): Promise<string> {
  const name = uniqueName('state');
  await clients.dynamodb.send(new CreateTableCommand(stateTableDefinition(name)));
  return name;
}

/** Creates an on-demand table keyed by string attributes (partition first). */
export async function createItemTable(clients: AwsClients, keyAttributes: readonly string[] = ['pk']): Promise<string> {
  const name = uniqueName('items');
  await clients.dynamodb.send(new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: keyAttributes.map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' })),
    KeySchema: keyAttributes.map((attribute, index) => ({ AttributeName: attribute, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

/** Writes items with BatchWriteItem, `concurrency` calls in flight. */
export async function putItems(clients: AwsClients, table: string, items: ReadonlyArray<Record<string, AttributeValue>>, concurrency = 4): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let start = 0; start < items.length; start += 25) {
    chunks.push(items.slice(start, start + 25).map((item) => ({ PutRequest: { Item: item } })));
  }
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let pending: WriteRequest[] | undefined = chunks[next++]!;
      while (pending && pending.length > 0) {
        const request: WriteRequest[] = pending;
        const result = await clients.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: request } }));
        pending = result.UnprocessedItems?.[table];
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Deletes one item by its key attributes. */
export async function deleteItem(clients: AwsClients, table: string, key: Record<string, AttributeValue>): Promise<void> {
  await clients.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: key }));
}

/** Creates a standard queue and returns its URL. */
export async function createQueue(clients: AwsClients, prefix = 'queue'): Promise<string> {
  const result = await clients.sqs.send(new CreateQueueCommand({ QueueName: uniqueName(prefix) }));
  return result.QueueUrl!;
}

/** Receives (and deletes) every message now on a queue, bodies in arrival order. */
export async function drainQueue(clients: AwsClients, queueUrl: string): Promise<Array<{ messageId: string; body: string }>> {
  const messages: Array<{ messageId: string; body: string }> = [];
  for (;;) {
    const result = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const received = result.Messages ?? [];
    if (received.length === 0) return messages;
    for (const message of received) messages.push({ messageId: message.MessageId!, body: message.Body! });
    await clients.sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: received.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
    }));
  }
}

/**
 * A feedback sink that sends each record as one SQS message, for tests that read feedback back
 * from a real queue.
 */
export class SqsTestSink implements FeedbackSink {
  readonly #clients: AwsClients;
  readonly queueUrl: string;

  constructor(clients: AwsClients, queueUrl: string) {
    this.#clients = clients;
    this.queueUrl = queueUrl;
  }

  async write(records: readonly FeedbackRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += 10) {
      const result = await this.#clients.sqs.send(new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: records.slice(start, start + 10).map((record, index) => ({ Id: String(index), MessageBody: JSON.stringify(record) })),
      }));
      if ((result.Failed ?? []).length > 0) throw new Error(`feedback not sent: ${JSON.stringify(result.Failed)}`);
    }
  }

  /** Every feedback record on the queue now (removed from it). */
  async read(): Promise<FeedbackRecord[]> {
    return (await drainQueue(this.#clients, this.queueUrl)).map((message) => JSON.parse(message.body) as FeedbackRecord);
  }
}

/** A sink that keeps records in memory, for unit tests. */
export class CollectingSink implements FeedbackSink {
  readonly records: FeedbackRecord[] = [];

  async write(records: readonly FeedbackRecord[]): Promise<void> {
    this.records.push(...records);
  }
}
