import { InvalidChangeError, MAX_VALUE_BYTES, parseEnvelope, toEnvelope } from '../../lib/index.ts';

const base = { datasync: 1, key: 'config/interfaces/eth0', op: 'put', value: { mtu: 9000 } };

function reason(input: unknown): string {
  try {
    parseEnvelope(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidChangeError);
    return (error as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('change envelope', () => {
  it('reads a put with every optional member and normalizes the revision', () => {
    expect(
      parseEnvelope({
        ...base,
        prevValue: { mtu: 1500 },
        revision: '007',
        correlationId: 'c-1',
        time: '2026-01-01T00:00:00Z',
      }),
    ).toEqual({
      datasync: 1,
      key: 'config/interfaces/eth0',
      op: 'put',
      value: { mtu: 9000 },
      prevValue: { mtu: 1500 },
      revision: '7',
      correlationId: 'c-1',
      time: '2026-01-01T00:00:00.000Z',
    });
  });

  it('reads a delete without a value and keeps 40-digit revisions exact', () => {
    const revision = '1234567890123456789012345678901234567890';
    expect(parseEnvelope({ datasync: 1, key: 'a/b', op: 'delete', revision })).toEqual({
      datasync: 1,
      key: 'a/b',
      op: 'delete',
      revision,
    });
  });

  it.each([
    [null, /JSON object, got null/],
    [[1], /got an array/],
    ['text', /got string/],
    [{ ...base, datasync: 2 }, /"datasync": 1/],
    [{ ...base, extra: true }, /unknown member\(s\): extra/],
    [{ ...base, key: undefined }, /^key: /],
    [{ ...base, key: 'config/__proto__/x' }, /reserved segment "__proto__"/],
    [{ ...base, key: 'constructor' }, /reserved segment "constructor"/],
    [{ ...base, key: '/leading' }, /empty segment/],
    [{ ...base, op: 'upsert' }, /op must be "put" or "delete"/],
    [{ datasync: 1, key: 'a', op: 'put' }, /a put needs a value/],
    [{ datasync: 1, key: 'a', op: 'delete', value: 1 }, /a delete carries no value/],
    [{ ...base, value: 'x'.repeat(MAX_VALUE_BYTES) }, /^value: value is \d+ bytes/],
    [{ ...base, revision: -1 }, /^revision: /],
    [{ ...base, revision: '1.5' }, /^revision: /],
    [{ ...base, correlationId: '' }, /correlationId must be 1 to 128 characters/],
    [{ ...base, time: 'yesterday' }, /time must be an ISO-8601 timestamp/],
  ])('rejects bad input #%# with a reason', (input, expected) => {
    expect(reason(input)).toMatch(expected);
  });

  it('refuses a JSON-parsed __proto__ member instead of reading it as a prototype', () => {
    expect(reason(JSON.parse('{"datasync":1,"key":"a","op":"delete","__proto__":{"op":"put"}}'))).toMatch(
      /unknown member\(s\): __proto__/,
    );
  });

  it('names the key of a change that fails after its key was read', () => {
    try {
      parseEnvelope({ ...base, op: 'nope' });
      throw new Error('expected a rejection');
    } catch (error) {
      expect((error as InvalidChangeError).details).toEqual({ key: 'config/interfaces/eth0' });
    }
  });

  it('builds envelopes that read back the same, with numeric revisions as text', () => {
    const envelope = toEnvelope({ key: 'a/b', op: 'put', value: [1, 'two'], revision: 42, correlationId: 'c' });
    expect(envelope).toEqual({
      datasync: 1,
      key: 'a/b',
      op: 'put',
      value: [1, 'two'],
      revision: '42',
      correlationId: 'c',
    });
    expect(parseEnvelope(JSON.parse(JSON.stringify(envelope)))).toEqual(envelope);
  });
});
