import type { EventBridgeEvent, SQSRecord } from 'aws-lambda';
import { changeFromEventBridgeEvent, changeFromSqsMessage, InvalidChangeError } from '../../../lib/index.ts';

function message(body: string, id = 'm-1'): SQSRecord {
  return {
    messageId: id,
    receiptHandle: 'r',
    body,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:changes',
    messageAttributes: {},
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1764129600000',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '1764129600000',
    },
  };
}

function event(
  detail: unknown,
  overrides: Partial<EventBridgeEvent<string, unknown>> = {},
): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: 'e-1',
    'detail-type': 'datasync.change',
    source: 'serverless-datasync',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  };
}

describe('SQS normalizer', () => {
  it('reads an envelope body into a change from the queue, timed by the send time', () => {
    const change = changeFromSqsMessage(
      message(
        JSON.stringify({
          datasync: 1,
          key: 'config/routes/r1',
          op: 'put',
          value: { via: 'eth0' },
          revision: '3',
          correlationId: 'c-1',
        }),
      ),
    );
    expect(change).toEqual({
      key: 'config/routes/r1',
      op: 'put',
      value: { via: 'eth0' },
      revision: '3',
      correlationId: 'c-1',
      source: { type: 'sqs', name: 'changes', id: 'm-1' },
      time: '2025-11-26T04:00:00.000Z',
    });
  });

  it('uses the envelope time when it has one', () => {
    expect(
      changeFromSqsMessage(message('{"datasync":1,"key":"a","op":"delete","time":"2026-02-03T04:05:06Z"}')).time,
    ).toBe('2026-02-03T04:05:06.000Z');
  });

  it.each([
    ['not JSON', 'not json', /message body is not JSON/],
    ['no key', '{"datasync":1,"op":"delete"}', /^key: /],
    ['an unknown op', '{"datasync":1,"key":"a","op":"merge"}', /op must be/],
    ['a hostile key', '{"datasync":1,"key":"a/constructor","op":"delete"}', /reserved segment "constructor"/],
  ])('rejects a body with %s', (_name, body, reason) => {
    expect(() => changeFromSqsMessage(message(body))).toThrow(InvalidChangeError);
    expect(() => changeFromSqsMessage(message(body))).toThrow(reason);
  });
});

describe('EventBridge normalizer', () => {
  const envelope = { datasync: 1, key: 'config/interfaces/eth1', op: 'delete', revision: '12' };

  it('reads the detail envelope, naming the event id and the bus', () => {
    expect(changeFromEventBridgeEvent(event(envelope), { busName: 'config-bus' })).toEqual({
      key: 'config/interfaces/eth1',
      op: 'delete',
      revision: '12',
      source: { type: 'eventbridge', name: 'config-bus', id: 'e-1' },
      time: '2026-01-01T00:00:00.000Z',
    });
  });

  it('accepts the configured source and detail-type and refuses others', () => {
    const options = { source: 'acme.config', detailType: 'ConfigChanged' };
    expect(
      changeFromEventBridgeEvent(event(envelope, { source: 'acme.config', 'detail-type': 'ConfigChanged' }), options)
        .key,
    ).toBe('config/interfaces/eth1');
    expect(() => changeFromEventBridgeEvent(event(envelope), options)).toThrow(/event source must be "acme.config"/);
    expect(() => changeFromEventBridgeEvent(event(envelope, { source: 'acme.config' }), options)).toThrow(
      /detail-type must be "ConfigChanged"/,
    );
  });

  it('refuses a detail that is not an envelope', () => {
    expect(() => changeFromEventBridgeEvent(event('{"datasync":1}'))).toThrow(/JSON object, got string/);
  });
});
