import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceNotFoundException as BusNotFound,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../lib/aws/clients.ts';
import type { LocalTopology, QueueResource, TableResource } from './topology.ts';

/** What provisioning produced: addresses of every resource by its name. */
export interface Provisioned {
  readonly queueUrls: ReadonlyMap<string, string>;
  readonly queueArns: ReadonlyMap<string, string>;
  readonly streamArns: ReadonlyMap<string, string>;
  /** Names of the resources that had to be created (empty on a second run). */
  readonly created: readonly string[];
}

/**
 * Creates the topology's resources on the endpoint the clients point at. Idempotent: a resource
 * that already exists is left as it is, so running it twice changes nothing.
 */
export async function provision(clients: AwsClients, topology: LocalTopology): Promise<Provisioned> {
  const created: string[] = [];
  const streamArns = new Map<string, string>();
  for (const table of topology.tables) {
    const arn = await ensureTable(clients, table, created);
    if (arn) streamArns.set(table.name, arn);
  }
  const queueUrls = new Map<string, string>();
  const queueArns = new Map<string, string>();
  // Dead-letter queues first: a redrive policy names its target's ARN.
  const ordered = [...topology.queues].sort((a, b) => Number(Boolean(a.deadLetter)) - Number(Boolean(b.deadLetter)));
  for (const queue of ordered) {
    const url = await ensureQueue(clients, queue, queueArns, created);
    queueUrls.set(queue.name, url);
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    queueArns.set(queue.name, Attributes!.QueueArn!);
  }
  if (topology.bus) {
    const bus = topology.bus;
    try {
      await clients.eventbridge.send(new DescribeEventBusCommand({ Name: bus.name }));
    } catch (error) {
      if (!(error instanceof BusNotFound)) throw error;
      await clients.eventbridge.send(new CreateEventBusCommand({ Name: bus.name }));
      created.push(`bus ${bus.name}`);
    }
    // Rules and targets are upserts: putting the same definition again changes nothing.
    for (const rule of bus.rules) {
      await clients.eventbridge.send(
        new PutRuleCommand({
          Name: rule.name,
          EventBusName: bus.name,
          EventPattern: JSON.stringify(rule.pattern),
          State: 'ENABLED',
        }),
      );
      const arn = queueArns.get(rule.targetQueue);
      if (!arn) throw new Error(`rule ${rule.name} targets unknown queue ${rule.targetQueue}`);
      await clients.eventbridge.send(
        new PutTargetsCommand({ Rule: rule.name, EventBusName: bus.name, Targets: [{ Id: 'queue', Arn: arn }] }),
      );
    }
  }
  return { queueUrls, queueArns, streamArns, created };
}

async function ensureTable(clients: AwsClients, table: TableResource, created: string[]): Promise<string | undefined> {
  try {
    const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: table.name }));
    return Table?.LatestStreamArn;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const keys = [{ AttributeName: table.partitionKey, KeyType: 'HASH' as const }];
  const attributes = [{ AttributeName: table.partitionKey, AttributeType: 'S' as const }];
  if (table.sortKey) {
    keys.push({ AttributeName: table.sortKey, KeyType: 'RANGE' as never });
    attributes.push({ AttributeName: table.sortKey, AttributeType: 'S' });
  }
  const { TableDescription } = await clients.dynamodb.send(
    new CreateTableCommand({
      TableName: table.name,
      KeySchema: keys,
      AttributeDefinitions: attributes,
      BillingMode: 'PAY_PER_REQUEST',
      ...(table.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
    }),
  );
  await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: table.name });
  created.push(`table ${table.name}`);
  return TableDescription?.LatestStreamArn;
}

async function ensureQueue(
  clients: AwsClients,
  queue: QueueResource,
  arns: Map<string, string>,
  created: string[],
): Promise<string> {
  const attributes: Record<string, string> = {};
  if (queue.fifo) attributes.FifoQueue = 'true';
  if (queue.contentBasedDeduplication) attributes.ContentBasedDeduplication = 'true';
  if (queue.visibilityTimeoutSeconds !== undefined)
    attributes.VisibilityTimeout = String(queue.visibilityTimeoutSeconds);
  if (queue.deadLetter) {
    const target = arns.get(queue.deadLetter.queue);
    if (!target) throw new Error(`queue ${queue.name} dead-letters to unknown queue ${queue.deadLetter.queue}`);
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: target,
      maxReceiveCount: queue.deadLetter.maxReceiveCount,
    });
  }
  try {
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: queue.name }));
    // Keep an existing queue's settings in line with the definition (a no-op when they match).
    const { FifoQueue: _fifo, ...mutable } = attributes;
    if (Object.keys(mutable).length > 0)
      await clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: mutable }));
    return QueueUrl!;
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
  const { QueueUrl } = await clients.sqs.send(
    new CreateQueueCommand({ QueueName: queue.name, Attributes: attributes }),
  );
  created.push(`queue ${queue.name}`);
  return QueueUrl!;
}
