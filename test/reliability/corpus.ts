import type { DynamoDBRecord } from 'aws-lambda';

/**
 * The bad-input corpus: malformed and hostile input for every source, as data. Each case is mixed
 * into a batch of good input (or sent between good requests, for sources without batches) and
 * must be refused with a clear reason (matching `reason`) in feedback and, where the source has
 * one, a dead-letter entry, while the good input around it is delivered. Add a case by adding a
 * line.
 */
export type CorpusCase =
  | { readonly name: string; readonly source: 'sqs'; readonly body: string; readonly reason: RegExp }
  | { readonly name: string; readonly source: 'eventbridge'; readonly event: unknown; readonly reason: RegExp }
  | {
      readonly name: string;
      readonly source: 'dynamodb';
      readonly record: Partial<DynamoDBRecord>;
      readonly reason: RegExp;
    }
  | {
      readonly name: string;
      readonly source: 'http';
      readonly method: string;
      readonly path: string;
      readonly body?: string;
      readonly contentType?: string;
      readonly status: number;
      readonly reason: RegExp;
    };

/** An envelope with the given members over a valid put. */
const envelope = (members: Record<string, unknown>, drop: string[] = []): string => {
  const base: Record<string, unknown> = { datasync: 1, key: 'cfg/bad/item', op: 'put', value: { n: 1 }, ...members };
  for (const name of drop) delete base[name];
  return JSON.stringify(base);
};
const longKey = `cfg/${'k'.repeat(1100)}`;
const bigValue = { text: 'x'.repeat(300 * 1024) };
/** A change event for the bus with the given members. */
const event = (members: Record<string, unknown>): Record<string, unknown> => ({
  version: '0',
  id: 'set-by-test',
  'detail-type': 'datasync.change',
  source: 'serverless-datasync',
  account: '000000000000',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { datasync: 1, key: 'cfg/bad/item', op: 'put', value: { n: 1 } },
  ...members,
});
/** A value nested `levels` objects deep. */
const nested = (levels: number): Record<string, unknown> => {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let level = 1; level < levels; level += 1) value = { next: value };
  return value;
};
const image = (id: string, extra: Record<string, unknown> = {}) => ({ id: { S: id }, n: { N: '1' }, ...extra });

export const CORPUS: readonly CorpusCase[] = [
  // SQS bodies (the same envelope rules hold for EventBridge `detail`).
  { name: 'not JSON', source: 'sqs', body: 'hello, queue', reason: /not JSON/ },
  { name: 'truncated JSON', source: 'sqs', body: envelope({}).slice(0, 30), reason: /not JSON/ },
  { name: 'empty body', source: 'sqs', body: '', reason: /not JSON/ },
  { name: 'JSON array', source: 'sqs', body: '[1,2]', reason: /must be a JSON object, got an array/ },
  { name: 'JSON null', source: 'sqs', body: 'null', reason: /must be a JSON object, got null/ },
  { name: 'JSON string', source: 'sqs', body: '"cfg/a"', reason: /must be a JSON object, got string/ },
  { name: 'no envelope version', source: 'sqs', body: envelope({}, ['datasync']), reason: /"datasync": 1/ },
  { name: 'unknown envelope version', source: 'sqs', body: envelope({ datasync: 2 }), reason: /"datasync": 1, got 2/ },
  { name: 'missing key', source: 'sqs', body: envelope({}, ['key']), reason: /key: invalid key: expected a string/ },
  {
    name: 'key of the wrong type',
    source: 'sqs',
    body: envelope({ key: 42 }),
    reason: /expected a string, got number/,
  },
  { name: 'empty key', source: 'sqs', body: envelope({ key: '' }), reason: /invalid key: empty/ },
  { name: 'over-long key', source: 'sqs', body: envelope({ key: longKey }), reason: /bytes is longer than 1024/ },
  { name: 'parent segment', source: 'sqs', body: envelope({ key: 'cfg/a/../b' }), reason: /relative segment "\.\."/ },
  { name: 'doubled slash', source: 'sqs', body: envelope({ key: 'cfg/a//b' }), reason: /empty segment/ },
  { name: 'leading dot segment', source: 'sqs', body: envelope({ key: './cfg/a' }), reason: /relative segment "\."/ },
  { name: 'leading slash', source: 'sqs', body: envelope({ key: '/cfg/a' }), reason: /empty segment at position 0/ },
  { name: 'trailing slash', source: 'sqs', body: envelope({ key: 'cfg/a/' }), reason: /empty segment/ },
  {
    name: '__proto__ segment',
    source: 'sqs',
    body: envelope({ key: 'cfg/__proto__/polluted' }),
    reason: /reserved segment "__proto__"/,
  },
  {
    name: 'constructor segment',
    source: 'sqs',
    body: envelope({ key: 'cfg/constructor' }),
    reason: /reserved segment "constructor"/,
  },
  {
    name: 'prototype segment',
    source: 'sqs',
    body: envelope({ key: 'cfg/a/prototype' }),
    reason: /reserved segment "prototype"/,
  },
  {
    name: 'control character in key',
    source: 'sqs',
    body: envelope({ key: 'cfg/a\u0000b' }),
    reason: /control character/,
  },
  {
    name: 'unknown op',
    source: 'sqs',
    body: envelope({ op: 'upsert' }),
    reason: /op must be "put" or "delete", got "upsert"/,
  },
  {
    name: 'missing op',
    source: 'sqs',
    body: envelope({}, ['op']),
    reason: /op must be "put" or "delete", got nothing/,
  },
  { name: 'put without value', source: 'sqs', body: envelope({}, ['value']), reason: /a put needs a value/ },
  { name: 'delete with value', source: 'sqs', body: envelope({ op: 'delete' }), reason: /a delete carries no value/ },
  { name: 'negative revision', source: 'sqs', body: envelope({ revision: -1 }), reason: /revision: .*non-negative/ },
  {
    name: 'revision as words',
    source: 'sqs',
    body: envelope({ revision: 'seven' }),
    reason: /revision: .*unsigned decimal/,
  },
  { name: 'fractional revision', source: 'sqs', body: envelope({ revision: 1.5 }), reason: /revision: .*safe integer/ },
  { name: 'oversized value', source: 'sqs', body: envelope({ value: bigValue }), reason: /value: .*bytes/ },
  { name: 'unknown member', source: 'sqs', body: envelope({ extra: true }), reason: /unknown member\(s\): extra/ },
  {
    name: 'number a double would round (38 digits)',
    source: 'sqs',
    body: envelope({}).replace('"value":{"n":1}', '"value":{"n":12345678901234567890123456789012345678}'),
    reason: /cannot be read exactly as a JSON number.*\$number/,
  },
  {
    name: 'integer past 2^53',
    source: 'sqs',
    body: envelope({}).replace('"value":{"n":1}', '"value":{"n":9007199254740993}'),
    reason: /the number 9007199254740993 cannot be read exactly/,
  },
  {
    name: 'value nested 40 deep',
    source: 'sqs',
    body: envelope({ value: nested(40) }),
    reason: /nested more than 32 levels/,
  },
  {
    name: '$number of 39 digits',
    source: 'sqs',
    body: envelope({ value: { n: { $number: '1'.repeat(39) } } }),
    reason: /39 significant digits; DynamoDB keeps at most 38/,
  },
  {
    name: 'empty string set',
    source: 'sqs',
    body: envelope({ value: { tags: { $stringSet: [] } } }),
    reason: /must be a non-empty list/,
  },
  {
    name: 'bidirectional override in key',
    source: 'sqs',
    body: envelope({ key: 'cfg/a\u202Eb' }),
    reason: /invisible formatting character U\+202E/,
  },
  {
    name: 'zero-width space in key',
    source: 'sqs',
    body: envelope({ key: 'cfg/a\u200Bb' }),
    reason: /invisible formatting character U\+200B/,
  },
  {
    name: 'revision far ahead of the clock',
    source: 'sqs',
    body: envelope({ revision: '9'.repeat(30) }),
    reason: /beyond the limit .* may not run ahead/,
  },
  {
    name: 'control character in correlation id',
    source: 'sqs',
    body: envelope({ correlationId: 'deploy\u0007' }),
    reason: /correlationId must be 1 to 128 characters without control characters/,
  },
  {
    name: 'over-long correlation id',
    source: 'sqs',
    body: envelope({ correlationId: 'c'.repeat(200) }),
    reason: /correlationId must be 1 to 128 characters/,
  },
  {
    name: 'time that is not a time',
    source: 'sqs',
    body: envelope({ time: 'yesterday' }),
    reason: /time must be an ISO-8601 timestamp/,
  },

  // EventBridge events of the wrong shape.
  {
    name: 'wrong event source',
    source: 'eventbridge',
    event: event({ source: 'someone.else' }),
    reason: /event source must be "serverless-datasync"/,
  },
  {
    name: 'wrong detail-type',
    source: 'eventbridge',
    event: event({ 'detail-type': 'Object Created' }),
    reason: /detail-type must be "datasync.change"/,
  },
  {
    name: 'no detail',
    source: 'eventbridge',
    event: event({ detail: undefined }),
    reason: /must be a JSON object, got undefined/,
  },
  {
    name: 'detail as text',
    source: 'eventbridge',
    event: event({ detail: '{"datasync":1}' }),
    reason: /must be a JSON object, got string/,
  },
  {
    name: 'detail with a hostile key',
    source: 'eventbridge',
    event: event({ detail: { datasync: 1, key: 'cfg/__proto__', op: 'delete' } }),
    reason: /reserved segment/,
  },
  {
    name: 'detail with an unknown op',
    source: 'eventbridge',
    event: event({ detail: { datasync: 1, key: 'cfg/a', op: 'merge', value: {} } }),
    reason: /op must be/,
  },
  {
    name: 'detail with an integer past 2^53',
    source: 'eventbridge',
    // Lambda hands over the event as parsed JSON: the number arrives already rounded.
    event: event({ detail: { datasync: 1, key: 'cfg/bad/item', op: 'put', value: { n: 2 ** 53 + 2 } } }),
    reason: /beyond the integers a JSON number holds exactly/,
  },

  // DynamoDB stream records.
  {
    name: 'invalid attribute type',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1', { n: { Q: '1' } }) as never },
    },
    reason: /attribute|type/i,
  },
  {
    name: 'map attribute that is null',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1', { n: { M: null } }) as never },
    },
    reason: /M attribute is not an attribute map/,
  },
  {
    name: 'list attribute that is an object',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1', { n: { L: {} } }) as never },
    },
    reason: /L attribute is not a list/,
  },
  {
    name: 'attribute value of two types',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1', { n: { S: 'x', N: '1' } }) as never },
    },
    reason: /attribute value has more than one type: S, N/,
  },
  {
    name: 'number that is not a number',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1', { n: { N: 'twelve' } }) },
    },
    reason: /N attribute "twelve" is not a number/,
  },
  {
    name: 'unknown eventName',
    source: 'dynamodb',
    record: { eventName: 'UPSERT' as never, dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1') } },
    reason: /unknown stream eventName "UPSERT"/,
  },
  {
    name: 'no keys and no images',
    source: 'dynamodb',
    record: { eventName: 'INSERT', dynamodb: {} },
    reason: /neither Keys nor an image/,
  },
  {
    name: 'key attribute of the wrong type',
    source: 'dynamodb',
    record: { eventName: 'INSERT', dynamodb: { Keys: { id: { N: '5' } }, NewImage: { id: { N: '5' } } } },
    reason: /no string key attribute "id"/,
  },
  {
    name: 'INSERT without a new image',
    source: 'dynamodb',
    record: { eventName: 'INSERT', dynamodb: { Keys: { id: { S: 'bad/1' } }, OldImage: image('bad/1') } },
    reason: /no NewImage/,
  },
  {
    name: 'item key with a parent segment',
    source: 'dynamodb',
    record: { eventName: 'INSERT', dynamodb: { Keys: { id: { S: 'a/../b' } }, NewImage: image('a/../b') } },
    reason: /invalid key: relative segment/,
  },
  {
    name: 'item key with __proto__',
    source: 'dynamodb',
    record: { eventName: 'MODIFY', dynamodb: { Keys: { id: { S: '__proto__' } }, NewImage: image('__proto__') } },
    reason: /reserved segment "__proto__"/,
  },
  {
    name: 'item key not in NFC',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/cafe\u0301' } }, NewImage: image('bad/cafe\u0301') },
    },
    reason: /not in Unicode normalization form C/,
  },
  {
    name: 'version that is not a number',
    source: 'dynamodb',
    record: {
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1', { version: { S: 'v2' } }) },
    },
    reason: /version attribute "version"/,
  },
  {
    name: 'table that is not configured',
    source: 'dynamodb',
    record: {
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/other/stream/2026',
      eventName: 'INSERT',
      dynamodb: { Keys: { id: { S: 'bad/1' } }, NewImage: image('bad/1') },
    },
    reason: /table other, which is not configured/,
  },

  // HTTP requests.
  {
    name: 'PATCH a key',
    source: 'http',
    method: 'PATCH',
    path: '/keys/cfg/a',
    body: '{}',
    contentType: 'application/json',
    status: 405,
    reason: /PATCH is not allowed here/,
  },
  { name: 'GET a key', source: 'http', method: 'GET', path: '/keys/cfg/a', status: 405, reason: /GET is not allowed/ },
  { name: 'GET resync', source: 'http', method: 'GET', path: '/resync', status: 405, reason: /use POST/ },
  {
    name: 'unknown path',
    source: 'http',
    method: 'PUT',
    path: '/values/cfg/a',
    body: '{}',
    contentType: 'application/json',
    status: 404,
    reason: /no route/,
  },
  {
    name: 'PUT without a body',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a',
    contentType: 'application/json',
    status: 400,
    reason: /needs a JSON body/,
  },
  {
    name: 'PUT a body that is not JSON',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a',
    body: '{"n":',
    contentType: 'application/json',
    status: 400,
    reason: /body is not JSON/,
  },
  {
    name: 'PUT as text/plain',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a',
    body: '{"n":1}',
    contentType: 'text/plain',
    status: 415,
    reason: /content-type must be application\/json/,
  },
  {
    name: 'PUT without a content type',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a',
    body: '{"n":1}',
    status: 415,
    reason: /got "nothing"/,
  },
  {
    name: 'PUT an oversized body',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a',
    body: JSON.stringify(bigValue),
    contentType: 'application/json',
    status: 413,
    reason: /more than the .* allowed/,
  },
  {
    name: 'PUT a key with a parent segment',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a/../b',
    body: '{}',
    contentType: 'application/json',
    status: 400,
    reason: /relative segment/,
  },
  {
    name: 'DELETE a __proto__ key',
    source: 'http',
    method: 'DELETE',
    path: '/keys/cfg/__proto__',
    status: 400,
    reason: /reserved segment/,
  },
  {
    name: 'PUT a doubled slash',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg//a',
    body: '{}',
    contentType: 'application/json',
    status: 400,
    reason: /empty segment/,
  },
  {
    name: 'PUT a number a double would round',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a',
    body: '{"n":9007199254740993}',
    contentType: 'application/json',
    status: 400,
    reason: /the number 9007199254740993 cannot be read exactly/,
  },
  {
    name: 'PUT a key with a zero-width space',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/a%E2%80%8Bb',
    body: '{}',
    contentType: 'application/json',
    status: 400,
    reason: /invisible formatting character U\+200B/,
  },
  {
    name: 'bad URL encoding',
    source: 'http',
    method: 'PUT',
    path: '/keys/cfg/%E0%A4%A',
    body: '{}',
    contentType: 'application/json',
    status: 400,
    reason: /not valid URL encoding/,
  },
  {
    name: 'resync body that is a list',
    source: 'http',
    method: 'POST',
    path: '/resync',
    body: '["a"]',
    contentType: 'application/json',
    status: 400,
    reason: /resync body must be a JSON object/,
  },
  {
    name: 'resync of an unknown plugin',
    source: 'http',
    method: 'POST',
    path: '/resync',
    body: '{"plugins":["nobody"]}',
    contentType: 'application/json',
    status: 400,
    reason: /unknown plugin\(s\): nobody/,
  },
];
