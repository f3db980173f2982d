import type { DynamoDBRecord } from 'aws-lambda';
import { changeFromStreamRecord, InvalidChangeError, type TableConfig } from '../../../lib/index.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/config/stream/2026-01-01T00:00:00.000';
const plain: TableConfig = { name: 'config', prefix: 'config', keyAttributes: ['pk'] };
const versioned: TableConfig = { name: 'config', prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'v' };
const tables = (table: TableConfig) => new Map([[table.name, table]]);
const SEQ = '1100000000017454423009000000000000000001';

function record(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  images: { NewImage?: object; OldImage?: object },
  extra: Partial<DynamoDBRecord> = {},
): DynamoDBRecord {
  return {
    eventID: '1',
    eventName,
    eventSource: 'aws:dynamodb',
    eventSourceARN: ARN,
    awsRegion: 'us-east-1',
    dynamodb: {
      Keys: { pk: { S: 'interfaces/eth0' } },
      SequenceNumber: SEQ,
      ApproximateCreationDateTime: 1764129600,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...images,
    } as DynamoDBRecord['dynamodb'],
    ...extra,
  };
}

describe('DynamoDB stream normalizer', () => {
  it('turns an INSERT into a put keyed by prefix and key attribute, revisioned by the sequence number', () => {
    const change = changeFromStreamRecord(
      record('INSERT', { NewImage: { pk: { S: 'interfaces/eth0' }, mtu: { N: '9000' }, tags: { SS: ['b', 'a'] } } }),
      tables(plain),
    );
    expect(change).toEqual({
      key: 'config/interfaces/eth0',
      op: 'put',
      value: { mtu: 9000, tags: { $stringSet: ['a', 'b'] } },
      revision: SEQ,
      source: { type: 'dynamodb', name: 'config', id: SEQ },
      time: '2025-11-26T04:00:00.000Z',
    });
  });

  it('gives a MODIFY the old image as prevValue, the sequence number as revision and the item version as version', () => {
    const change = changeFromStreamRecord(
      record('MODIFY', {
        OldImage: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1500' }, v: { N: '6' } },
        NewImage: { pk: { S: 'interfaces/eth0' }, mtu: { N: '9000' }, v: { N: '7' } },
      }),
      tables(versioned),
    );
    expect(change).toMatchObject({
      op: 'put',
      value: { mtu: 9000 },
      prevValue: { mtu: 1500 },
      revision: SEQ,
      version: '7',
    });
  });

  it('reads the default version attribute and lifts the correlation id out of the value', () => {
    const change = changeFromStreamRecord(
      record('MODIFY', {
        OldImage: {
          pk: { S: 'interfaces/eth0' },
          mtu: { N: '1500' },
          version: { N: '3' },
          datasyncCorrelationId: { S: 'old' },
        },
        NewImage: {
          pk: { S: 'interfaces/eth0' },
          mtu: { N: '9000' },
          version: { N: '4' },
          datasyncCorrelationId: { S: 'c-9' },
        },
      }),
      tables(plain),
    );
    expect(change).toMatchObject({
      value: { mtu: 9000 },
      prevValue: { mtu: 1500 },
      revision: SEQ,
      version: '4',
      correlationId: 'c-9',
    });
  });

  it('turns REMOVE into a delete at its sequence number, naming the removed version', () => {
    const change = changeFromStreamRecord(
      record('REMOVE', { OldImage: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1500' }, v: { N: '7' } } }),
      tables(versioned),
    );
    expect(change).toMatchObject({ op: 'delete', prevValue: { mtu: 1500 }, revision: SEQ, version: '7' });
    expect(change).not.toHaveProperty('value');
    expect(change).not.toHaveProperty('expired');
  });

  it('marks a time-to-live deletion as expired', () => {
    const change = changeFromStreamRecord(
      record(
        'REMOVE',
        { OldImage: { pk: { S: 'interfaces/eth0' } } },
        {
          userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
        },
      ),
      tables(plain),
    );
    expect(change).toMatchObject({ op: 'delete', expired: true, revision: SEQ });
  });

  it('orders a write that kept the version (a tool rewriting the item) by its sequence number alone', () => {
    const change = changeFromStreamRecord(
      record('MODIFY', {
        OldImage: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1500' }, v: { N: '7' } },
        NewImage: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1600' }, v: { N: '7' } },
      }),
      tables(versioned),
    );
    expect(change).toMatchObject({ op: 'put', value: { mtu: 1600 }, revision: SEQ });
    expect(change).not.toHaveProperty('version');
  });

  it('passes over a write that only tagged the item with the delete that follows it', () => {
    const change = changeFromStreamRecord(
      record('MODIFY', {
        OldImage: {
          pk: { S: 'interfaces/eth0' },
          mtu: { N: '1500' },
          tags: { SS: ['a', 'b'] },
          datasyncCorrelationId: { S: 'put-1' },
        },
        NewImage: {
          pk: { S: 'interfaces/eth0' },
          mtu: { N: '1500' },
          tags: { SS: ['b', 'a'] },
          datasyncCorrelationId: { S: 'put-1' },
          datasyncDeleteCorrelationId: { S: 'del-2' },
        },
      }),
      tables(plain),
    );
    expect(change).toBeUndefined();
    // The delete that follows carries the tag's id; the put's id is not the delete's.
    const removed = changeFromStreamRecord(
      record('REMOVE', {
        OldImage: {
          pk: { S: 'interfaces/eth0' },
          datasyncCorrelationId: { S: 'put-1' },
          datasyncDeleteCorrelationId: { S: 'del-2' },
        },
      }),
      tables(plain),
    );
    expect(removed).toMatchObject({ op: 'delete', correlationId: 'del-2', prevValue: {} });
    const untagged = changeFromStreamRecord(
      record('REMOVE', { OldImage: { pk: { S: 'interfaces/eth0' }, datasyncCorrelationId: { S: 'put-1' } } }),
      tables(plain),
    );
    expect(untagged).not.toHaveProperty('correlationId');
  });

  it('reads a number beyond 2^53 as the $number form, never as a rounded number', () => {
    const change = changeFromStreamRecord(
      record('INSERT', {
        NewImage: { pk: { S: 'interfaces/eth0' }, n: { N: '9007199254740993' }, m: { N: '9007199254740992' } },
      }),
      tables(plain),
    );
    expect(change?.value).toEqual({ n: { $number: '9007199254740993' }, m: { $number: '9007199254740992' } });
  });

  it.each([
    [
      'an unconfigured table',
      record(
        'INSERT',
        { NewImage: { pk: { S: 'a' } } },
        { eventSourceARN: ARN.replace('table/config', 'table/other') },
      ),
      /table other, which is not configured/,
    ],
    [
      'a hostile key',
      record(
        'INSERT',
        { NewImage: { pk: { S: '__proto__' } } },
        { dynamodb: { Keys: { pk: { S: '__proto__' } }, SequenceNumber: '1', NewImage: { pk: { S: '__proto__' } } } },
      ),
      /reserved segment "__proto__"/,
    ],
    [
      'a missing key attribute',
      record(
        'INSERT',
        {},
        { dynamodb: { Keys: { other: { S: 'x' } }, SequenceNumber: '1', NewImage: { other: { S: 'x' } } } },
      ),
      /no string key attribute "pk"/,
    ],
    ['a KEYS_ONLY view', record('MODIFY', {}), /NEW_AND_OLD_IMAGES/],
    [
      'an unknown eventName',
      { ...record('INSERT', { NewImage: { pk: { S: 'a' } } }), eventName: 'TRUNCATE' as 'INSERT' },
      /unknown stream eventName "TRUNCATE"/,
    ],
    [
      'an oversized item',
      record('INSERT', { NewImage: { pk: { S: 'interfaces/eth0' }, blob: { S: 'x'.repeat(300_000) } } }),
      /value: value is \d+ bytes/,
    ],
  ])('rejects %s with a reason', (_name, input, reason) => {
    expect(() => changeFromStreamRecord(input, tables(plain))).toThrow(InvalidChangeError);
    expect(() => changeFromStreamRecord(input, tables(plain))).toThrow(reason);
  });
});
