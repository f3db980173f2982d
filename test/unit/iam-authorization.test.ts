import { authorizationsOf } from '../support/iam/authorization.ts';

// What AWS authorizes for a call, as the evaluation of the functions' calls reads it.
const call = (service: string, operation: string, input: Record<string, unknown>) =>
  authorizationsOf({ function: 'sqs', service, operation, input });

describe('authorizations of a call', () => {
  it('authorizes a transaction per item, with the enclosing operation', () => {
    expect(
      call('dynamodb', 'TransactWriteItemsCommand', {
        TransactItems: [
          { ConditionCheck: { TableName: 'state', Key: {} } },
          { Put: { TableName: 'state' } },
          { Delete: { TableName: 'arn:aws:dynamodb:eu-west-1:1:table/data' } },
        ],
      }),
    ).toEqual([
      {
        action: 'dynamodb:ConditionCheckItem',
        resource: { kind: 'table', table: 'state' },
        context: { 'dynamodb:EnclosingOperation': 'TransactWriteItems' },
      },
      {
        action: 'dynamodb:PutItem',
        resource: { kind: 'table', table: 'state' },
        context: { 'dynamodb:EnclosingOperation': 'TransactWriteItems' },
      },
      {
        action: 'dynamodb:DeleteItem',
        resource: { kind: 'table', table: 'data' },
        context: { 'dynamodb:EnclosingOperation': 'TransactWriteItems' },
      },
    ]);
  });

  it('authorizes a batch on every table it names, and a query on its index', () => {
    expect(call('dynamodb', 'BatchGetItemCommand', { RequestItems: { a: {}, b: {} } })).toEqual([
      { action: 'dynamodb:BatchGetItem', resource: { kind: 'table', table: 'a' } },
      { action: 'dynamodb:BatchGetItem', resource: { kind: 'table', table: 'b' } },
    ]);
    expect(call('dynamodb', 'QueryCommand', { TableName: 't', IndexName: 'byTime', Select: 'COUNT' })).toEqual([
      {
        action: 'dynamodb:Query',
        resource: { kind: 'table', table: 't', index: 'byTime' },
        context: { 'dynamodb:Select': 'COUNT' },
      },
    ]);
  });

  it('authorizes SQS batches as their single actions on the queue of the URL', () => {
    const QueueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/feedback';
    expect(call('sqs', 'SendMessageBatchCommand', { QueueUrl })).toEqual([
      { action: 'sqs:SendMessage', resource: { kind: 'queue', queue: 'feedback' } },
    ]);
    expect(call('sqs', 'DeleteMessageBatchCommand', { QueueUrl })[0]!.action).toBe('sqs:DeleteMessage');
  });

  it('authorizes stream reads on the stream of the table, and PutEvents per bus', () => {
    const StreamArn = 'arn:aws:dynamodb:eu-west-1:1:table/data/stream/2026-01-01T00:00:00.000';
    expect(call('streams', 'DescribeStreamCommand', { StreamArn })).toEqual([
      { action: 'dynamodb:DescribeStream', resource: { kind: 'stream', table: 'data' } },
    ]);
    expect(call('streams', 'ListStreamsCommand', {})).toEqual([
      { action: 'dynamodb:ListStreams', resource: { kind: 'any' } },
    ]);
    expect(call('eventbridge', 'PutEventsCommand', { Entries: [{ EventBusName: 'bus' }, {}] })).toEqual([
      { action: 'events:PutEvents', resource: { kind: 'bus', bus: 'bus' } },
      { action: 'events:PutEvents', resource: { kind: 'bus', bus: 'default' } },
    ]);
  });

  it('refuses a call it has no mapping for, rather than skipping it', () => {
    expect(() => call('eventbridge', 'PutRuleCommand', {})).toThrow('no IAM mapping');
    expect(() => call('sqs', 'SendMessageCommand', {})).toThrow('no queue named');
  });
});
