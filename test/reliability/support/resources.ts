import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  DeleteRuleCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../../lib/aws/clients.ts';
import { bindTemplateResource } from '../../support/iam/functions.ts';
import type { TableConfig } from '../../../lib/config.ts';
import { stateTableDefinition } from '../../../lib/state/table.ts';

/** The AWS resources one schedule runs against; every name carries the schedule's own suffix. */
export interface ScheduleResources {
  readonly suffix: string;
  readonly table: TableConfig;
  readonly streamArn: string;
  readonly stateTable: string;
  readonly feedbackQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly sourceQueueUrl: string;
  readonly sourceQueueArn: string;
  readonly busName: string;
  /** The queue the bus rule delivers change events to (standing in for EventBridge's Lambda invoke). */
  readonly busQueueUrl: string;
  /** The FIFO queue bus changes of keys no table holds move to, grouped by key. */
  readonly orderedQueueUrl: string;
  readonly orderedQueueArn: string;
  /** Removes everything this set created. */
  remove(): Promise<void>;
}

/** A short random suffix, so parallel runs against a shared emulator never collide. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Creates the data table (with its stream), the state table, the queues and the bus of one schedule. */
export async function createScheduleResources(clients: AwsClients, prefix = 'cfg'): Promise<ScheduleResources> {
  const suffix = uniqueSuffix();
  const tableName = `rel-data-${suffix}`;
  const stateTable = `rel-state-${suffix}`;
  const { TableDescription } = await clients.dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  await clients.dynamodb.send(new CreateTableCommand(stateTableDefinition(stateTable)));
  await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: tableName });
  await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: stateTable });
  const queue = async (name: string) => (await clients.sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const [feedbackQueueUrl, deadLetterQueueUrl, sourceQueueUrl, busQueueUrl, orderedQueueUrl] = await Promise.all([
    queue(`rel-feedback-${suffix}`),
    queue(`rel-dlq-${suffix}`),
    queue(`rel-source-${suffix}`),
    queue(`rel-bus-${suffix}`),
    (async () =>
      (
        await clients.sqs.send(
          new CreateQueueCommand({ QueueName: `rel-ordered-${suffix}.fifo`, Attributes: { FifoQueue: 'true' } }),
        )
      ).QueueUrl!)(),
  ]);
  const arnOf = async (url: string) =>
    (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
  const busName = `rel-bus-${suffix}`;
  await clients.eventbridge.send(new CreateEventBusCommand({ Name: busName }));
  await clients.eventbridge.send(
    new PutRuleCommand({
      Name: `rel-rule-${suffix}`,
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: ['serverless-datasync'] }),
      State: 'ENABLED',
    }),
  );
  await clients.eventbridge.send(
    new PutTargetsCommand({
      Rule: `rel-rule-${suffix}`,
      EventBusName: busName,
      Targets: [{ Id: 'queue', Arn: await arnOf(busQueueUrl) }],
    }),
  );
  // What each stands for in the template, for the evaluation of the functions' calls.
  for (const [logicalId, name] of [
    ['ConfigTable', tableName],
    ['StateTable', stateTable],
    ['FeedbackQueue', feedbackQueueUrl],
    ['RejectedQueue', deadLetterQueueUrl],
    ['ChangesQueue', sourceQueueUrl],
    ['ChangesFifoQueue', orderedQueueUrl],
    ['EventBus', busName],
  ] as const)
    bindTemplateResource(logicalId, name);
  return {
    suffix,
    table: { name: tableName, prefix, keyAttributes: ['id'] },
    streamArn: TableDescription!.LatestStreamArn!,
    stateTable,
    feedbackQueueUrl,
    deadLetterQueueUrl,
    sourceQueueUrl,
    sourceQueueArn: await arnOf(sourceQueueUrl),
    busName,
    busQueueUrl,
    orderedQueueUrl,
    orderedQueueArn: await arnOf(orderedQueueUrl),
    async remove() {
      const quietly = async (work: () => Promise<unknown>) => {
        try {
          await work();
        } catch {
          /* already gone */
        }
      };
      await quietly(() =>
        clients.eventbridge.send(
          new RemoveTargetsCommand({ Rule: `rel-rule-${suffix}`, EventBusName: busName, Ids: ['queue'] }),
        ),
      );
      await quietly(() =>
        clients.eventbridge.send(new DeleteRuleCommand({ Name: `rel-rule-${suffix}`, EventBusName: busName })),
      );
      await quietly(() => clients.eventbridge.send(new DeleteEventBusCommand({ Name: busName })));
      for (const url of [feedbackQueueUrl, deadLetterQueueUrl, sourceQueueUrl, busQueueUrl, orderedQueueUrl])
        await quietly(() => clients.sqs.send(new DeleteQueueCommand({ QueueUrl: url })));
      for (const name of [tableName, stateTable])
        await quietly(() => clients.dynamodb.send(new DeleteTableCommand({ TableName: name })));
    },
  };
}
