// The packaged service created as a stack on the emulator, the way `serverless deploy` does it:
// create the stack with the deployment bucket, upload the function zips, update the stack with the
// whole template. Proves the resources are valid together as far as moto's CloudFormation goes;
// the resource types it cannot create are listed here and in docs/deploy.md.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteTableCommand, DescribeTableCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../../lib/aws/clients.ts';
import {
  NAME_PREFIX,
  packagedService,
  type PackagedService,
  type Template,
} from '../../support/deploy/packaged-service.ts';
import { deleteObject, putObject, queryApi, xmlMembers, xmlValues } from '../../support/deploy/signed-request.ts';

/** Resource types moto's CloudFormation skips (it logs "No Moto CloudFormation support"). */
const NOT_CREATED_BY_EMULATOR = [
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Stage',
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
].sort();

const CFN_VERSION = '2010-05-15';
const cfn = (action: string, params: Record<string, string> = {}) =>
  queryApi('cloudformation', CFN_VERSION, action, params);

const suffix = randomBytes(4).toString('hex');
const stackName = `sds-deploy-test-${suffix}`;
// Every name in the template derives from service and stage: a unique stage keeps parallel runs
// on a shared emulator apart.
const prefix = `${NAME_PREFIX}${suffix}`;
const aws = createAwsClients();
let service: PackagedService;
let template: Template;
let bucket: string | undefined;
const uploaded: string[] = [];
let resources: Map<string, { type: string; status: string; physicalId: string }>;

/**
 * The template with this run's names, and without output exports: moto forgets a stack's exports
 * when the stack is updated, and DeleteStack then fails (exports only matter to other stacks).
 */
function forEmulator(packaged: Template): Template {
  const renamed = JSON.parse(JSON.stringify(packaged).replaceAll(NAME_PREFIX, prefix)) as Template;
  const outputs = Object.fromEntries(
    Object.entries(renamed.Outputs ?? {}).map(([name, output]) => {
      const { Export: _, ...kept } = output as { Value: unknown; Export?: unknown };
      return [name, kept];
    }),
  );
  return { ...renamed, Outputs: outputs };
}

async function stackStatus(): Promise<{ status: string; reason: string; outputs: Map<string, string> }> {
  const xml = await cfn('DescribeStacks', { StackName: stackName });
  const outputs = new Map(
    xmlMembers(xml, 'Outputs').map((member) => [
      xmlValues(member, 'OutputKey')[0]!,
      xmlValues(member, 'OutputValue')[0] ?? '',
    ]),
  );
  return {
    status: xmlValues(xml, 'StackStatus')[0] ?? '',
    reason: xmlValues(xml, 'StackStatusReason')[0] ?? '',
    outputs,
  };
}

/** Waits for the stack to leave an *_IN_PROGRESS status (moto usually finishes at once). */
async function settled(): Promise<Awaited<ReturnType<typeof stackStatus>>> {
  for (let attempt = 0; ; attempt += 1) {
    const state = await stackStatus();
    if (!state.status.endsWith('_IN_PROGRESS') || attempt > 100) return state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  service = await packagedService();
  template = forEmulator(service.template);

  await cfn('CreateStack', { StackName: stackName, TemplateBody: JSON.stringify(forEmulator(service.createTemplate)) });
  const created = await settled();
  expect(created.status).toBe('CREATE_COMPLETE');
  bucket = created.outputs.get('ServerlessDeploymentBucketName');
  if (!bucket) throw new Error('the create-stack template has no ServerlessDeploymentBucketName output');

  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const key = String(resource.Properties!.Code.S3Key);
    await putObject(bucket, key, readFileSync(join(service.dir, key.split('/').pop()!)));
    uploaded.push(key);
  }
  await cfn('UpdateStack', {
    StackName: stackName,
    TemplateBody: JSON.stringify(template),
    'Capabilities.member.1': 'CAPABILITY_IAM',
  });
  const updated = await settled();
  if (updated.status !== 'UPDATE_COMPLETE') throw new Error(`stack update ended ${updated.status}: ${updated.reason}`);

  const listed = await cfn('ListStackResources', { StackName: stackName });
  resources = new Map(
    xmlMembers(listed, 'StackResourceSummaries')
      .map(
        (member) =>
          [
            xmlValues(member, 'LogicalResourceId')[0] ?? '',
            {
              type: xmlValues(member, 'ResourceType')[0] ?? '',
              status: xmlValues(member, 'ResourceStatus')[0] ?? '',
              physicalId: xmlValues(member, 'PhysicalResourceId')[0] ?? '',
            },
          ] as const,
      )
      .filter(([logicalId]) => logicalId !== ''),
  );
}, 240_000);

afterAll(async () => {
  // Only what this test created: the zips it uploaded, then its own stack.
  if (bucket) for (const key of uploaded) await deleteObject(bucket, key);
  await cfn('DeleteStack', { StackName: stackName });
  // The stack retains its tables (deletion protection on) and dead-letter queues; remove them too.
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if ((resource as { DeletionPolicy?: string }).DeletionPolicy !== 'Retain') continue;
    const id = resources.get(logicalId)?.physicalId;
    if (!id) continue;
    if (resource.Type === 'AWS::DynamoDB::Table') {
      await aws.dynamodb
        .send(new UpdateTableCommand({ TableName: id, DeletionProtectionEnabled: false }))
        .then(() => aws.dynamodb.send(new DeleteTableCommand({ TableName: id })))
        .catch(() => {});
    } else if (resource.Type === 'AWS::SQS::Queue') {
      // The stack's URL names AWS's host; ask the emulator for its own.
      await aws.sqs
        .send(new GetQueueUrlCommand({ QueueName: id.split('/').pop()! }))
        .then(({ QueueUrl }) => aws.sqs.send(new DeleteQueueCommand({ QueueUrl })))
        .catch(() => {});
    }
  }
}, 60_000);

describe('the packaged stack on the emulator (moto CloudFormation)', () => {
  it('creates every resource moto supports, and skips only the documented types', () => {
    const skipped = new Set<string>();
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const created = resources.get(logicalId);
      if (!created) {
        skipped.add(resource.Type);
        continue;
      }
      expect([logicalId, created.type, created.status.endsWith('_COMPLETE')]).toEqual([logicalId, resource.Type, true]);
    }
    expect([...skipped].sort()).toEqual(NOT_CREATED_BY_EMULATOR);
  });

  it('creates the data table with its stream, and the state table keyed by pk and sk', async () => {
    const { Table: data } = await aws.dynamodb.send(new DescribeTableCommand({ TableName: `${prefix}-config` }));
    expect(data?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    // moto's CloudFormation drops SSESpecification (template.test.ts checks it is set).
    expect(data?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const { Table: state } = await aws.dynamodb.send(new DescribeTableCommand({ TableName: `${prefix}-state` }));
    expect(state?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });

  it('creates the changes queues with encryption, visibility and redrive to their DLQs', async () => {
    for (const name of [`${prefix}-changes`, `${prefix}-changes.fifo`]) {
      const { QueueUrl } = await aws.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
      expect(Attributes?.SqsManagedSseEnabled).toBe('true');
      expect(Number(Attributes?.VisibilityTimeout)).toBe(180);
      const redrive = JSON.parse(Attributes?.RedrivePolicy ?? '{}') as {
        deadLetterTargetArn?: string;
        maxReceiveCount?: number;
      };
      const dlq = name.endsWith('.fifo') ? `${prefix}-changes-dlq.fifo` : `${prefix}-changes-dlq`;
      expect(redrive.deadLetterTargetArn).toMatch(new RegExp(`:${dlq.replace(/\./g, '\\.')}$`));
      expect(Number(redrive.maxReceiveCount)).toBe(5);
    }
  });

  it('creates the bus rule with its retry policy and dead-letter queue, and the resync schedule', async () => {
    const rule = `${prefix}-eventbridge-rule-1`;
    const { Targets } = await aws.eventbridge.send(new ListTargetsByRuleCommand({ Rule: rule, EventBusName: prefix }));
    expect(Targets).toHaveLength(1);
    expect(Targets?.[0]?.Arn).toMatch(new RegExp(`:function:${prefix}-eventbridge$`));
    expect(Targets?.[0]?.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 });
    expect(Targets?.[0]?.DeadLetterConfig?.Arn).toMatch(new RegExp(`:${prefix}-events-dlq$`));
    const schedule = resources.get('ResyncSchedule');
    const described = await aws.eventbridge.send(new DescribeRuleCommand({ Name: schedule!.physicalId }));
    expect(described.ScheduleExpression).toBe('rate(1 day)');
  });
});
