// The deployable service as `serverless deploy` would create it: packaged offline (no AWS
// credentials), checked by cfn-lint, and its template read for the settings the service relies on.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  NAME_PREFIX,
  PACKAGE_REGION,
  packagedService,
  zipEntries,
  zipFile,
  type PackagedService,
  type Resource,
  type Template,
} from '../../support/deploy/packaged-service.ts';
import { allows, getAttName, refTarget, resourcesOfType, roleStatements } from '../../support/deploy/template.ts';
import { parseResyncRequest } from '../../../lib/resync/request.ts';
import { TemplateValues } from '../../support/iam/template-values.ts';

/** Function key in serverless.yml -> entry file and CloudFormation logical id prefix. */
const FUNCTIONS = {
  DynamodbStream: 'functions/dynamodb-stream',
  Sqs: 'functions/sqs',
  Eventbridge: 'functions/eventbridge',
  Http: 'functions/http',
  Resync: 'functions/resync',
} as const;
type FunctionId = keyof typeof FUNCTIONS;

/** Wildcard resources allowed, by action: IAM has no resource type for these. */
const UNSCOPABLE_ACTIONS = new Set(['dynamodb:ListStreams']);

let service: PackagedService;
let template: Template;
const resource = (id: string): Resource => {
  const found = template.Resources[id];
  if (!found) throw new Error(`template has no resource ${id}`);
  return found;
};
const fn = (id: FunctionId) => resource(`${id}LambdaFunction`);
const roleOf = (id: FunctionId) => resource(refTarget(fn(id).Properties!.Role)!);
const mappingsOf = (id: FunctionId) =>
  resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')
    .filter(([, mapping]) => refTarget(mapping.Properties!.FunctionName) === `${id}LambdaFunction`)
    .map(([, mapping]) => mapping.Properties!);
const queueOf = (value: unknown) => {
  const id = refTarget(value)!;
  expect(resource(id).Type).toBe('AWS::SQS::Queue');
  return { id, properties: resource(id).Properties! };
};

beforeAll(async () => {
  service = await packagedService();
  template = service.template;
  if (service.packagingMs) console.log(`serverless package took ${service.packagingMs} ms`);
}, 240_000);

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const sizes: string[] = [];

describe('serverless package (offline, no AWS credentials)', () => {
  it('bundles every function into its own zip of one minified ES module and its source map', () => {
    for (const [id, entry] of Object.entries(FUNCTIONS) as Array<[FunctionId, string]>) {
      const properties = fn(id).Properties!;
      expect(properties.Handler).toBe(`${entry}.handler`);
      expect(properties.Runtime).toBe('nodejs24.x');
      expect(properties.Architectures).toEqual(['arm64']);
      expect(properties.Environment.Variables.NODE_OPTIONS).toContain('--enable-source-maps');
      const zip = join(service.dir, String(properties.Code.S3Key).split('/').pop()!);
      expect(existsSync(zip)).toBe(true);
      expect(zipEntries(zip).sort()).toEqual([`${entry}.mjs`, `${entry}.mjs.map`]);
      sizes.push(
        `${id.padEnd(14)} ${kib(zipFile(zip, `${entry}.mjs`).length).padStart(10)} ${kib(statSync(zip).size).padStart(10)}`,
      );
    }
    expect(resourcesOfType(template, 'AWS::Lambda::Function')).toHaveLength(Object.keys(FUNCTIONS).length);
    // What each deploy ships, in every CI log; docs/benchmarks.md compares them with a baseline handler.
    const header = `${'function'.padEnd(14)} ${'module'.padStart(10)} ${'zip'.padStart(10)}`;
    console.log(
      ['function bundles from serverless package (the zip holds the module and its source map)', header, ...sizes].join(
        '\n',
      ),
    );
  });

  it('passes cfn-lint with no errors', () => {
    const lint = spawnSync(
      'cfn-lint',
      ['--format', 'json', '--regions', PACKAGE_REGION, '--', service.updateTemplatePath],
      { encoding: 'utf8' },
    );
    if (lint.error)
      throw new Error(`cfn-lint could not run (is it on PATH? pip install cfn-lint): ${lint.error.message}`);
    const findings = JSON.parse(lint.stdout || '[]') as Array<{ Level: string; Rule: { Id: string }; Message: string }>;
    const errors = findings
      .filter((finding) => finding.Level === 'Error')
      .map((finding) => `${finding.Rule.Id} ${finding.Message}`);
    expect(errors).toEqual([]);
  });

  it('names every table, queue, bus and function after the service and stage', () => {
    const named: Array<[string, unknown]> = [
      ...resourcesOfType(template, 'AWS::DynamoDB::Table').map(
        ([id, r]) => [id, r.Properties!.TableName] as [string, unknown],
      ),
      ...resourcesOfType(template, 'AWS::SQS::Queue').map(
        ([id, r]) => [id, r.Properties!.QueueName] as [string, unknown],
      ),
      ...resourcesOfType(template, 'AWS::Events::EventBus').map(
        ([id, r]) => [id, r.Properties!.Name] as [string, unknown],
      ),
      ...resourcesOfType(template, 'AWS::Lambda::Function').map(
        ([id, r]) => [id, r.Properties!.FunctionName] as [string, unknown],
      ),
    ];
    for (const [id, name] of named) expect([id, String(name).startsWith(NAME_PREFIX)]).toEqual([id, true]);
  });
});

/** The asynchronous-invocation settings of a function (retries, on-failure destination). */
function invokeConfigOf(functionId: string): Resource | undefined {
  return resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').find(
    ([, config]) => refTarget(config.Properties!.FunctionName) === functionId,
  )?.[1];
}

describe('event sources', () => {
  it('sends EventBridge events whose plugins keep failing to the events dead-letter queue, never dropping them', () => {
    const config = invokeConfigOf('EventbridgeLambdaFunction');
    expect(config?.Properties).toMatchObject({ MaximumRetryAttempts: 2 });
    expect(getAttName(config!.Properties!.DestinationConfig.OnFailure.Destination)).toBe('Arn');
    expect(refTarget(config!.Properties!.DestinationConfig.OnFailure.Destination)).toBe('EventsDeadLetterQueue');
  });

  it('reads the data table stream with images, partial batch responses, bounded retries and an on-failure queue', () => {
    const table = resource('ConfigTable').Properties!;
    expect(table.StreamSpecification.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    const [stream, ...others] = mappingsOf('DynamodbStream');
    expect(others).toEqual([]);
    expect(refTarget(stream!.EventSourceArn)).toBe('ConfigTable');
    expect(getAttName(stream!.EventSourceArn)).toBe('StreamArn');
    expect(stream!.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(stream!.BatchSize).toBeGreaterThan(0);
    expect(stream!.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(stream!.MaximumRetryAttempts).toBeGreaterThanOrEqual(0);
    expect(stream!.MaximumRecordAgeInSeconds).toBeGreaterThan(0);
    expect(stream!.MaximumRecordAgeInSeconds).toBeLessThanOrEqual(86_400);
    // Stop-at-first-failure reporting keeps per-key order; bisecting would not.
    expect(stream!.BisectBatchOnFunctionError).toBe(false);
    queueOf(stream!.DestinationConfig.OnFailure.Destination);
  });

  it('consumes the standard and the FIFO changes queues with partial batch responses and a visibility of 6x the timeout', () => {
    const mappings = mappingsOf('Sqs');
    const queues = mappings.map((mapping) => queueOf(mapping.EventSourceArn));
    expect(queues.map((queue) => Boolean(queue.properties.FifoQueue)).sort()).toEqual([false, true]);
    const timeout = fn('Sqs').Properties!.Timeout as number;
    for (const [index, mapping] of mappings.entries()) {
      const queue = queues[index]!;
      expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(queue.properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
      const deadLetter = queueOf(queue.properties.RedrivePolicy.deadLetterTargetArn);
      expect(Boolean(deadLetter.properties.FifoQueue)).toBe(Boolean(queue.properties.FifoQueue));
      expect(queue.properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(1);
      if (queue.properties.FifoQueue) {
        expect(mapping.BatchSize).toBeLessThanOrEqual(10);
        expect(mapping.MaximumBatchingWindowInSeconds).toBeUndefined();
      }
    }
  });

  it('delivers the custom bus events to the EventBridge handler with a retry policy and a writable DLQ', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) =>
      rule.Properties!.Targets.some(
        (target: { Arn: unknown }) => refTarget(target.Arn) === 'EventbridgeLambdaFunction',
      ),
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0]![1].Properties!;
    expect(refTarget(rule.EventBusName)).toBe('EventBus');
    expect(resource('EventBus').Type).toBe('AWS::Events::EventBus');
    expect(rule.EventPattern).toEqual({ source: ['serverless-datasync'], detail: { datasync: [1] } });
    const [target] = rule.Targets;
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60);
    const deadLetter = queueOf(target.DeadLetterConfig.Arn);
    // EventBridge writes to the DLQ as the service: the queue policy must let it, for this bus only.
    const policies = resourcesOfType(template, 'AWS::SQS::QueuePolicy').filter(([, policy]) =>
      policy.Properties!.Queues.some((queue: unknown) => refTarget(queue) === deadLetter.id),
    );
    expect(policies).toHaveLength(1);
    const statement = policies[0]![1].Properties!.PolicyDocument.Statement.find(
      (candidate: { Effect: string }) => candidate.Effect === 'Allow',
    );
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
    });
    expect(JSON.stringify(statement.Condition.ArnLike['aws:SourceArn'])).toContain('EventBus.Name');
    const permission = resourcesOfType(template, 'AWS::Lambda::Permission').find(
      ([, p]) => refTarget(p.Properties!.FunctionName) === 'EventbridgeLambdaFunction',
    );
    expect(permission?.[1].Properties?.Principal).toBe('events.amazonaws.com');
  });

  it('serves the HTTP API routes with IAM authorization only', () => {
    const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties!);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual([
      'DELETE /keys/{key+}',
      'POST /resync',
      'PUT /keys/{key+}',
    ]);
    for (const route of routes) expect(route.AuthorizationType).toBe('AWS_IAM');
    const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
    expect(integrations.map(([, integration]) => refTarget(integration.Properties!.IntegrationUri))).toEqual([
      'HttpLambdaFunction',
    ]);
    expect(fn('Http').Properties!.Timeout).toBeLessThan(30);
  });

  it('runs resync on a schedule, from its request queue (one request at a time) and sends failed async runs to a DLQ', () => {
    const schedules = resourcesOfType(template, 'AWS::Events::Rule').filter(
      ([, rule]) =>
        rule.Properties!.ScheduleExpression &&
        rule.Properties!.Targets.some((target: { Arn: unknown }) => refTarget(target.Arn) === 'ResyncLambdaFunction'),
    );
    expect(schedules).toHaveLength(1);
    const schedule = schedules[0]![1].Properties!;
    expect(schedule.ScheduleExpression).toMatch(/^(rate|cron)\(.+\)$/);
    expect(new TemplateValues(template, { region: PACKAGE_REGION, stackName: NAME_PREFIX }).value(schedule.State)).toBe(
      'ENABLED',
    );
    // A delivery that failed is retried, then dead-lettered (security-controls.test.ts checks the queue lets it).
    expect(schedule.Targets[0].RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(refTarget(schedule.Targets[0].DeadLetterConfig.Arn)).toBe('ResyncDeadLetterQueue');
    expect(JSON.parse(schedule.Targets[0].Input)).toEqual({ datasync: 'resync', reason: 'schedule' });
    // The handler must accept exactly what the schedule sends.
    expect(parseResyncRequest(JSON.parse(schedule.Targets[0].Input))).toMatchObject({ reason: 'schedule' });

    const [requests, ...others] = mappingsOf('Resync');
    expect(others).toEqual([]);
    expect(requests!.BatchSize).toBe(1);
    expect(requests!.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const queue = queueOf(requests!.EventSourceArn);
    expect(queue.id).toBe('ResyncQueue');
    expect(queue.properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (fn('Resync').Properties!.Timeout as number));
    queueOf(queue.properties.RedrivePolicy.deadLetterTargetArn);

    const invokeConfig = invokeConfigOf('ResyncLambdaFunction');
    expect(invokeConfig).toBeDefined();
    queueOf(invokeConfig!.Properties!.DestinationConfig.OnFailure.Destination);
    // Continuations go through the request queue: the function never invokes itself.
    expect(JSON.stringify(roleOf('Resync'))).not.toContain('lambda:');
  });

  it('gives every function the environment the handlers read, pointing at this stack', () => {
    for (const id of Object.keys(FUNCTIONS) as FunctionId[]) {
      const variables = fn(id).Properties!.Environment.Variables;
      expect(refTarget(variables.DATASYNC_FEEDBACK_QUEUE_URL)).toBe('FeedbackQueue');
      expect(refTarget(variables.DATASYNC_DEAD_LETTER_QUEUE_URL)).toBe('RejectedQueue');
      expect(refTarget(variables.DATASYNC_RESYNC_QUEUE_URL)).toBe('ResyncQueue');
      expect(refTarget(variables.DATASYNC_STATE_TABLE)).toBe('StateTable');
      expect(JSON.parse(variables.DATASYNC_TABLES)).toEqual([
        { name: `${NAME_PREFIX}-config`, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'version' },
      ]);
    }
  });
});

describe('queues and tables', () => {
  /** Queues that receive what failed elsewhere, by logical id. */
  const deadLetterQueues = (): Set<string> => {
    const ids = new Set<string>();
    for (const [, queue] of resourcesOfType(template, 'AWS::SQS::Queue')) {
      if (queue.Properties!.RedrivePolicy) ids.add(refTarget(queue.Properties!.RedrivePolicy.deadLetterTargetArn)!);
    }
    for (const [, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
      const destination = mapping.Properties!.DestinationConfig?.OnFailure?.Destination;
      if (destination) ids.add(refTarget(destination)!);
    }
    for (const [, config] of resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig')) {
      ids.add(refTarget(config.Properties!.DestinationConfig.OnFailure.Destination)!);
    }
    for (const [, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
      for (const target of rule.Properties!.Targets)
        if (target.DeadLetterConfig) ids.add(refTarget(target.DeadLetterConfig.Arn)!);
    }
    ids.add(refTarget(fn('Sqs').Properties!.Environment.Variables.DATASYNC_DEAD_LETTER_QUEUE_URL)!);
    return ids;
  };

  it('encrypts every queue and gives every queue that is not itself a DLQ a redrive policy', () => {
    const deadLetters = deadLetterQueues();
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThanOrEqual(9);
    for (const [id, queue] of queues) {
      const properties = queue.Properties!;
      expect([id, properties.SqsManagedSseEnabled === true || properties.KmsMasterKeyId !== undefined]).toEqual([
        id,
        true,
      ]);
      if (deadLetters.has(id)) {
        expect([id, properties.RedrivePolicy]).toEqual([id, undefined]);
        expect([id, properties.MessageRetentionPeriod]).toEqual([id, 1_209_600]);
      } else {
        expect([id, queueOf(properties.RedrivePolicy?.deadLetterTargetArn).id]).toEqual([id, expect.any(String)]);
      }
    }
  });

  it('encrypts every table at rest, bills on demand and keys the state table by pk and sk', () => {
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id).sort()).toEqual(['ConfigTable', 'StateTable']);
    for (const [id, table] of tables) {
      expect([id, table.Properties!.SSESpecification?.SSEEnabled]).toEqual([id, true]);
      expect([id, table.Properties!.BillingMode]).toEqual([id, 'PAY_PER_REQUEST']);
      expect([id, table.Properties!.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled]).toEqual([id, true]);
    }
    expect(resource('StateTable').Properties!.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(resource('ConfigTable').Properties!.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
  });

  it('alarms on every dead-letter queue, the stream iterator age and every function error', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);
    for (const alarm of alarms) expect(refTarget(alarm.AlarmActions?.[0])).toBe('AlarmTopic');
    const watched = (metric: string) =>
      alarms.filter((alarm) => alarm.MetricName === metric).map((alarm) => refTarget(alarm.Dimensions[0].Value));
    expect(new Set(watched('ApproximateNumberOfMessagesVisible'))).toEqual(deadLetterQueues());
    expect(watched('IteratorAge')).toEqual(['DynamodbStreamLambdaFunction']);
    expect(watched('Errors').sort()).toEqual(
      Object.keys(FUNCTIONS)
        .map((id) => `${id}LambdaFunction`)
        .sort(),
    );
  });
});

describe('IAM: one scoped role per function', () => {
  // What each function's code calls (functions/*.ts through lib/), besides writing its logs: the
  // role must grant exactly this, so a new call fails here until the role has it, and a grant no
  // code uses fails here too. role-permissions.test.ts runs the bundles under these roles.
  const sends = (...queues: string[]) => queues.map((queue) => `sqs:SendMessage ${queue}`);
  const consumes = (...queues: string[]) =>
    queues.flatMap((queue) =>
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].map((a) => `${a} ${queue}`),
    );
  const on = (resource: string, ...actions: string[]) => actions.map((action) => `dynamodb:${action} ${resource}`);
  // lib/state through the ledger (BatchGetItem; Query for snapshot buckets; TransactWriteItems =
  // ConditionCheckItem + PutItem; BatchWriteItem) and the failure tracker (UpdateItem); the
  // tracker also requests resyncs.
  const delivery = [
    ...on('StateTable', 'BatchGetItem', 'Query', 'BatchWriteItem', 'ConditionCheckItem', 'PutItem', 'UpdateItem'),
    ...sends('FeedbackQueue', 'RejectedQueue', 'ResyncQueue'),
  ];
  const CALLS: Record<FunctionId, string[]> = {
    DynamodbStream: [
      ...on('ConfigTable', 'DescribeStream', 'GetRecords', 'GetShardIterator'),
      'dynamodb:ListStreams *',
      ...sends('StreamFailureQueue'),
      ...delivery,
    ]
      .map((grant) => grant.replace('ConfigTable', 'ConfigTable.StreamArn'))
      // The store settles the stream's deletes: an item a late bus put wrote again is deleted again.
      .concat(on('ConfigTable', 'DeleteItem')),
    // The store (lib/sources/store.ts) writes bus changes to the data table's keys into it,
    // conditional on their versions (a delete tags the item first, and one with nothing to delete
    // checks the item in its tombstone's transaction); other keys move to the FIFO queue.
    Sqs: [
      ...consumes('ChangesQueue', 'ChangesFifoQueue'),
      ...delivery,
      ...on('ConfigTable', 'PutItem', 'DeleteItem', 'UpdateItem', 'ConditionCheckItem'),
      ...sends('ChangesFifoQueue'),
    ],
    Eventbridge: [
      ...delivery,
      ...on('ConfigTable', 'PutItem', 'DeleteItem', 'UpdateItem', 'ConditionCheckItem'),
      ...sends('EventsDeadLetterQueue', 'ChangesFifoQueue'),
    ],
    // lib/sources/http/table-writer.ts one key at a time: a put through lib/publish/dynamodb.ts, a
    // delete through the store (it tags the item first, and leaves a tombstone in the state table,
    // with a check of the item when there is nothing to delete); POST /resync, and refused
    // requests reported.
    Http: [
      ...on('ConfigTable', 'GetItem', 'PutItem', 'DeleteItem', 'UpdateItem', 'ConditionCheckItem'),
      ...on('StateTable', 'UpdateItem'),
      ...sends('FeedbackQueue', 'RejectedQueue', 'ResyncQueue'),
    ],
    // lib/resync: scan and describe the data table, the state table through the engine,
    // feedback, continuations through its own queue, and the async invoke's failure destination.
    Resync: [
      ...on('ConfigTable', 'Scan', 'DescribeTable', 'BatchGetItem'),
      ...consumes('ResyncQueue'),
      ...on('StateTable', 'GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'),
      ...sends('FeedbackQueue', 'ResyncQueue', 'ResyncDeadLetterQueue'),
    ],
  };
  const grants = (id: FunctionId) =>
    roleStatements(roleOf(id))
      .filter((statement) => !statement.actions.some((action) => action.startsWith('logs:')))
      .flatMap((statement) =>
        statement.actions.flatMap((action) =>
          statement.resources.map((r) => {
            const target = typeof r === 'string' ? r : refTarget(r)!;
            return `${action} ${getAttName(r) === 'StreamArn' ? `${target}.StreamArn` : target}`;
          }),
        ),
      );

  it('grants each function exactly the calls its code makes', () => {
    for (const id of Object.keys(FUNCTIONS) as FunctionId[]) {
      expect([id, [...new Set(grants(id))].sort()]).toEqual([id, [...new Set(CALLS[id])].sort()]);
    }
  });

  it('gives each function its own role', () => {
    const roles = (Object.keys(FUNCTIONS) as FunctionId[]).map((id) => refTarget(fn(id).Properties!.Role));
    expect(new Set(roles).size).toBe(roles.length);
    expect(
      resourcesOfType(template, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...roles].sort());
  });

  it('has no wildcard action and no wildcard resource where IAM allows a specific one', () => {
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties!.AssumeRolePolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
      for (const statement of roleStatements(role)) {
        expect([id, statement.effect]).toEqual([id, 'Allow']);
        for (const action of statement.actions)
          expect([id, action]).toEqual([id, expect.stringMatching(/^[a-z0-9-]+:[A-Za-z]+$/)]);
        const wildcard = statement.resources.some((r) => typeof r === 'string' && r.includes('*'));
        if (wildcard) expect([id, statement.actions.filter((a) => !UNSCOPABLE_ACTIONS.has(a))]).toEqual([id, []]);
        for (const r of statement.resources)
          if (typeof r !== 'string') expect([id, refTarget(r)]).toEqual([id, expect.any(String)]);
      }
    }
  });

  it('lets each function write logs only to its own log group', () => {
    for (const id of Object.keys(FUNCTIONS) as FunctionId[]) {
      const logStatements = roleStatements(roleOf(id)).filter((s) => s.actions.some((a) => a.startsWith('logs:')));
      expect(logStatements.flatMap((s) => s.resources.map(refTarget))).toEqual([`${id}LogGroup`]);
      expect(logStatements.flatMap((s) => s.actions).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(resource(`${id}LogGroup`).Properties!.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('grants each function what its event sources and destinations need, and no other function reads them', () => {
    for (const id of Object.keys(FUNCTIONS) as FunctionId[]) {
      const statements = roleStatements(roleOf(id));
      for (const mapping of mappingsOf(id)) {
        if (getAttName(mapping.EventSourceArn) === 'StreamArn') {
          for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']) {
            expect([id, action, allows(statements, action, mapping.EventSourceArn)]).toEqual([id, action, true]);
          }
        } else {
          for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
            expect([id, action, allows(statements, action, mapping.EventSourceArn)]).toEqual([id, action, true]);
          }
        }
        const onFailure = mapping.DestinationConfig?.OnFailure?.Destination;
        if (onFailure) expect([id, allows(statements, 'sqs:SendMessage', onFailure)]).toEqual([id, true]);
      }
      // Every handler writes feedback; every change handler dead-letters rejected input (the resync
      // function leaves a malformed request to its queue's redrive instead).
      expect([id, allows(statements, 'sqs:SendMessage', { 'Fn::GetAtt': ['RejectedQueue', 'Arn'] })]).toEqual([
        id,
        id !== 'Resync',
      ]);
      expect([id, allows(statements, 'sqs:SendMessage', { 'Fn::GetAtt': ['FeedbackQueue', 'Arn'] })]).toEqual([
        id,
        true,
      ]);
    }
    const invokeConfig = invokeConfigOf('ResyncLambdaFunction')!.Properties!;
    expect(
      allows(roleStatements(roleOf('Resync')), 'sqs:SendMessage', invokeConfig.DestinationConfig.OnFailure.Destination),
    ).toBe(true);
    const eventsInvoke = invokeConfigOf('EventbridgeLambdaFunction')!.Properties!;
    expect(
      allows(
        roleStatements(roleOf('Eventbridge')),
        'sqs:SendMessage',
        eventsInvoke.DestinationConfig.OnFailure.Destination,
      ),
    ).toBe(true);
    // Only the function a queue triggers may receive from it.
    const consumers = (queue: string) =>
      (Object.keys(FUNCTIONS) as FunctionId[]).filter((id) =>
        allows(roleStatements(roleOf(id)), 'sqs:ReceiveMessage', { 'Fn::GetAtt': [queue, 'Arn'] }),
      );
    expect(consumers('ChangesQueue')).toEqual(['Sqs']);
    expect(consumers('ChangesFifoQueue')).toEqual(['Sqs']);
    expect(consumers('ResyncQueue')).toEqual(['Resync']);
    expect(consumers('FeedbackQueue')).toEqual([]);
    // Only resync scans the data table.
    const table = { 'Fn::GetAtt': ['ConfigTable', 'Arn'] };
    expect(
      (Object.keys(FUNCTIONS) as FunctionId[]).filter((id) =>
        allows(roleStatements(roleOf(id)), 'dynamodb:Scan', table),
      ),
    ).toEqual(['Resync']);
    // The HTTP API publishes; the bus functions' store writes bus changes; nothing else writes.
    expect(
      (Object.keys(FUNCTIONS) as FunctionId[]).filter((id) =>
        allows(roleStatements(roleOf(id)), 'dynamodb:PutItem', table),
      ),
    ).toEqual(['Sqs', 'Eventbridge', 'Http']);
  });
});
