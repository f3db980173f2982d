// The packaged template's security controls (docs/security.md), each asserted as the template
// states it and, where a policy carries it, as an IAM policy evaluator answers the request AWS
// would evaluate (moto does not evaluate queue, bus or topic policies).
import { NAME_PREFIX, PACKAGE_REGION, packagedService, type Template } from '../../support/deploy/packaged-service.ts';
import { refTarget, resourcesOfType } from '../../support/deploy/template.ts';
import { resourcePolicyAnswer } from '../../support/iam/evaluate.ts';
import { ACCOUNT, TemplateValues } from '../../support/iam/template-values.ts';

let template: Template;
let values: TemplateValues;

beforeAll(async () => {
  template = (await packagedService()).template;
  values = new TemplateValues(template, { region: PACKAGE_REGION, stackName: NAME_PREFIX });
}, 240_000);

const FUNCTIONS = ['DynamodbStream', 'Sqs', 'Eventbridge', 'Http', 'Resync'];
const properties = (id: string) => values.resource(id).Properties!;
const queueIds = () => resourcesOfType(template, 'AWS::SQS::Queue').map(([id]) => id);
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
/** A caller of this account whose own policy allows the action anywhere: only the resource's policy can refuse it. */
const anyAllowed = (action: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
});
const asRole = (name: string, action: string, secure = true) => ({
  principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/session`,
  action,
  context: { 'aws:PrincipalArn': role(name), 'aws:SecureTransport': String(secure) },
  identityPolicy: anyAllowed(action),
});

describe('who may write changes', () => {
  const publisher = `${NAME_PREFIX}-publisher-orders`;

  it('lets only the publisher principals send to the changes queues', async () => {
    for (const queue of ['ChangesQueue', 'ChangesFifoQueue']) {
      const answer = (name: string) =>
        resourcePolicyAnswer(values, { ...asRole(name, 'sqs:SendMessage'), resource: queue });
      expect([queue, await answer(publisher)]).toEqual([queue, 'Allowed']);
      expect([queue, await answer('some-admin')]).toEqual([queue, 'ExplicitlyDenied']);
      expect([queue, await answer(`${NAME_PREFIX}-HttpRole-X`)]).toEqual([queue, 'ExplicitlyDenied']);
    }
  });

  it('lets only the publisher principals put events on the bus', async () => {
    const answer = (name: string) =>
      resourcePolicyAnswer(values, { ...asRole(name, 'events:PutEvents'), resource: 'EventBus' });
    expect(await answer(publisher)).toBe('Allowed');
    expect(await answer('some-admin')).toBe('ExplicitlyDenied');
  });

  it("delivers only the service's own events from the bus: the rule filters on source", () => {
    const [, rule] = resourcesOfType(template, 'AWS::Events::Rule').find(([, r]) =>
      r.Properties!.Targets.some((target: { Arn: unknown }) => refTarget(target.Arn) === 'EventbridgeLambdaFunction'),
    )!;
    expect(rule.Properties!.EventPattern.source).toEqual(['serverless-datasync']);
  });
});

describe('transport and encryption', () => {
  it('refuses any request to any queue not made over TLS', async () => {
    expect(queueIds().length).toBeGreaterThanOrEqual(11);
    for (const queue of queueIds()) {
      const answer = await resourcePolicyAnswer(values, {
        ...asRole(`${NAME_PREFIX}-publisher-a`, 'sqs:ReceiveMessage', false),
        resource: queue,
      });
      expect([queue, answer]).toEqual([queue, 'ExplicitlyDenied']);
      const overTls = await resourcePolicyAnswer(values, {
        ...asRole(`${NAME_PREFIX}-publisher-a`, 'sqs:ReceiveMessage'),
        resource: queue,
      });
      expect([queue, overTls]).toEqual([queue, 'Allowed']);
    }
  });

  it('encrypts the alarm topic with a rotated key CloudWatch may use, and lets only this account publish', async () => {
    const topic = properties('AlarmTopic');
    const key = refTarget(topic.KmsMasterKeyId)!;
    expect(values.resource(key).Type).toBe('AWS::KMS::Key');
    expect(properties(key).EnableKeyRotation).toBe(true);
    const cloudwatch = properties(key).KeyPolicy.Statement.find(
      (statement: { Principal: { Service?: string } }) => statement.Principal.Service === 'cloudwatch.amazonaws.com',
    );
    expect(cloudwatch.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    const alarms = (sourceAccount: string) =>
      resourcePolicyAnswer(values, {
        principal: 'cloudwatch.amazonaws.com',
        action: 'sns:Publish',
        resource: 'AlarmTopic',
        context: { 'aws:SourceAccount': sourceAccount },
      });
    expect(await alarms(ACCOUNT)).toBe('Allowed');
    expect(await alarms('999999999999')).not.toBe('Allowed');
  });

  it('subscribes the alarmEmail address when one is given', () => {
    const subscription = values.resource('AlarmEmailSubscription');
    expect(subscription.Properties).toMatchObject({ Protocol: 'email', TopicArn: { Ref: 'AlarmTopic' } });
    expect((subscription as { Condition?: string }).Condition).toBe('HasAlarmEmail');
  });
});

describe('what outlives a mistake', () => {
  it('retains the tables and every dead-letter queue, and protects the tables from deletion by default', () => {
    const retained = Object.entries(template.Resources)
      .filter(([, r]) => (r as { DeletionPolicy?: string }).DeletionPolicy === 'Retain')
      .filter(([, r]) => (r as { UpdateReplacePolicy?: string }).UpdateReplacePolicy === 'Retain')
      .map(([id]) => id);
    const deadLetters = new Set<string>();
    for (const id of queueIds()) {
      const target = properties(id).RedrivePolicy?.deadLetterTargetArn;
      if (target) deadLetters.add(refTarget(target)!);
    }
    for (const [, config] of resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig'))
      deadLetters.add(refTarget(config.Properties!.DestinationConfig.OnFailure.Destination)!);
    for (const [, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
      const destination = mapping.Properties!.DestinationConfig?.OnFailure?.Destination;
      if (destination) deadLetters.add(refTarget(destination)!);
    }
    deadLetters.add('RejectedQueue');
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table').map(([id]) => id);
    expect(retained.sort()).toEqual([...tables, ...deadLetters].sort());
    for (const table of tables) expect([table, properties(table).DeletionProtectionEnabled]).toEqual([table, true]);
  });
});

describe('bounded load', () => {
  it('throttles the HTTP API stage, and POST /resync below it', () => {
    const stage = properties('HttpApiStage');
    const { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst } = stage.DefaultRouteSettings;
    expect(rate).toBeGreaterThan(0);
    expect(burst).toBeGreaterThanOrEqual(rate);
    const resync = stage.RouteSettings['POST /resync'];
    expect(resync.ThrottlingRateLimit).toBeLessThan(rate);
    expect(resync.ThrottlingBurstLimit).toBeLessThan(burst);
    // The route a setting names must exist before the stage.
    expect(values.resource('HttpApiStage').DependsOn).toContain('HttpApiRoutePostResync');
  });

  it('reserves (and caps) the HTTP function concurrency and bounds every SQS mapping', () => {
    expect(properties('HttpLambdaFunction').ReservedConcurrentExecutions).toBeGreaterThan(0);
    const sqsMappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => values.resource(refTarget(mapping.Properties!.EventSourceArn)!).Type === 'AWS::SQS::Queue',
    );
    expect(sqsMappings).toHaveLength(3);
    for (const [id, mapping] of sqsMappings)
      expect([id, mapping.Properties!.ScalingConfig?.MaximumConcurrency]).toEqual([id, expect.any(Number)]);
    const resync = sqsMappings.find(([, m]) => refTarget(m.Properties!.EventSourceArn) === 'ResyncQueue')!;
    expect(resync[1].Properties!.ScalingConfig.MaximumConcurrency).toBe(2);
  });
});

describe('who called, and what callers see', () => {
  it('logs the IAM caller of every HTTP API request', () => {
    const format = JSON.parse(properties('HttpApiStage').AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      callerArn: '$context.identity.userArn',
      callerAccount: '$context.identity.accountId',
      caller: '$context.identity.caller',
      status: '$context.status',
    });
  });
});

describe('every failure has somewhere to go and someone who hears of it', () => {
  it('gives every rule target a retry policy and a dead-letter queue EventBridge may write to for that rule only', async () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    expect(rules.length).toBeGreaterThanOrEqual(2);
    for (const [id, rule] of rules) {
      for (const target of rule.Properties!.Targets) {
        expect([id, target.RetryPolicy?.MaximumRetryAttempts]).toEqual([id, expect.any(Number)]);
        const queue = refTarget(target.DeadLetterConfig?.Arn);
        expect([id, queue && values.resource(queue).Type]).toEqual([id, 'AWS::SQS::Queue']);
        const send = (sourceArn: string) =>
          resourcePolicyAnswer(values, {
            principal: 'events.amazonaws.com',
            action: 'sqs:SendMessage',
            resource: queue!,
            context: { 'aws:SourceArn': sourceArn },
          });
        expect([id, await send(values.attribute(id, 'Arn'))]).toEqual([id, 'Allowed']);
        expect([id, await send(`arn:aws:events:${PACKAGE_REGION}:999999999999:rule/other`)]).not.toEqual([
          id,
          'Allowed',
        ]);
      }
    }
  });

  it('alarms on throttles of every function, HTTP API 5xx and the age of every consumed queue', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);
    const watched = (metric: string) =>
      alarms
        .filter((alarm) => alarm.MetricName === metric)
        .map((alarm) => refTarget(alarm.Dimensions[0].Value))
        .sort();
    expect(watched('Throttles')).toEqual(FUNCTIONS.map((id) => `${id}LambdaFunction`).sort());
    expect(watched('5xx')).toEqual(['HttpApi']);
    const consumed = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => refTarget(mapping.Properties!.EventSourceArn)!)
      .filter((id) => values.resource(id).Type === 'AWS::SQS::Queue');
    expect(watched('ApproximateAgeOfOldestMessage')).toEqual([...consumed, 'FeedbackQueue'].sort());
    for (const alarm of alarms) expect(refTarget(alarm.AlarmActions[0])).toBe('AlarmTopic');
  });
});
