import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  assertJsonSafe,
  fromAttributeMap,
  fromAttributeValue,
  InvalidValueError,
  toAttributeMap,
  toAttributeValue,
  type JsonObject,
} from '../../lib/index.ts';

describe('JSON-safe values', () => {
  const item: Record<string, AttributeValue> = {
    name: { S: 'eth0' },
    mtu: { N: '9000' },
    ratio: { N: '0.25' },
    big: { N: '123456789012345678901234567890' },
    precise: { N: '0.1000000000000000000000000000001' },
    up: { BOOL: true },
    nothing: { NULL: true },
    blob: { B: new Uint8Array([0, 1, 2, 255]) },
    tags: { SS: ['b', 'a', 'c'] },
    ports: { NS: ['443', '80', '8080'] },
    keys: { BS: [new Uint8Array([2]), new Uint8Array([1])] },
    nested: { M: { list: { L: [{ N: '1' }, { S: 'two' }, { M: { deep: { N: '18446744073709551616' } } }] } } },
  };

  it('maps every DynamoDB type to the documented JSON form', () => {
    expect(fromAttributeMap(item)).toEqual({
      name: 'eth0',
      mtu: 9000,
      ratio: 0.25,
      big: { $number: '123456789012345678901234567890' },
      precise: { $number: '0.1000000000000000000000000000001' },
      up: true,
      nothing: null,
      blob: { $binary: 'AAEC/w==' },
      tags: { $stringSet: ['a', 'b', 'c'] },
      ports: { $numberSet: ['80', '443', '8080'] },
      keys: { $binarySet: ['AQ==', 'Ag=='] },
      nested: { list: [1, 'two', { deep: { $number: '18446744073709551616' } }] },
    });
  });

  it('survives JSON text and converts back without loss', () => {
    const json = JSON.parse(JSON.stringify(fromAttributeMap(item))) as JsonObject;
    const back = toAttributeMap(json);
    expect(back.big).toEqual({ N: '123456789012345678901234567890' });
    expect(back.blob).toEqual({ B: new Uint8Array([0, 1, 2, 255]) });
    expect(back.tags).toEqual({ SS: ['a', 'b', 'c'] });
    expect(back.ports).toEqual({ NS: ['80', '443', '8080'] });
    // A second round trip is stable: the form is canonical.
    expect(fromAttributeMap(back)).toEqual(json);
  });

  it('reads binary given as base64 text, as Lambda stream events carry it', () => {
    expect(fromAttributeValue({ B: 'AAEC/w==' } as never)).toEqual({ $binary: 'AAEC/w==' });
  });

  it('gives equal sets equal JSON whatever their order', () => {
    expect(JSON.stringify(fromAttributeValue({ SS: ['x', 'y'] }))).toBe(
      JSON.stringify(fromAttributeValue({ SS: ['y', 'x'] })),
    );
  });

  it('agrees with util-dynamodb marshall on plain values', () => {
    const value = { a: 1, b: 'two', c: [true, null, { d: 2.5 }] };
    expect(toAttributeMap(value)).toEqual(marshall(value));
    expect(fromAttributeMap(marshall(value))).toEqual(value);
  });

  it('keeps an attribute named __proto__ as data, without touching the prototype', () => {
    const value = fromAttributeMap({ ['__proto__']: { M: { polluted: { BOOL: true } } } } as Record<
      string,
      AttributeValue
    >);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(value)).toEqual(['__proto__']);
  });

  it('writes a value member named __proto__ as an attribute, and reads it back the same', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"mtu":1500}');
    const attributes = toAttributeMap(value);
    expect(Object.keys(attributes)).toEqual(['__proto__', 'mtu']);
    expect(Object.getOwnPropertyDescriptor(attributes, '__proto__')?.value).toEqual({
      M: { polluted: { BOOL: true } },
    });
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(fromAttributeMap(attributes)).toEqual(value);
  });

  it('rejects a tagged member of the wrong type', () => {
    expect(() => toAttributeValue({ $number: 5 })).toThrow(InvalidValueError);
  });

  it('rejects an empty or unknown attribute value', () => {
    expect(() => fromAttributeValue({} as AttributeValue)).toThrow(/unsupported DynamoDB attribute type/);
  });

  it('rejects a map or list attribute whose member is not a map or list', () => {
    for (const attribute of [{ M: null }, { M: [] }, { M: 'x' }]) {
      expect(() => fromAttributeValue(attribute as unknown as AttributeValue)).toThrow(
        'M attribute is not an attribute map',
      );
    }
    for (const attribute of [{ L: {} }, { L: 5 }, { L: true }, { L: null }]) {
      expect(() => fromAttributeValue(attribute as unknown as AttributeValue)).toThrow('L attribute is not a list');
    }
    expect(() =>
      fromAttributeMap({ nested: { M: { inner: { L: {} } } } } as unknown as Record<string, AttributeValue>),
    ).toThrow(InvalidValueError);
  });

  it('rejects an attribute value of two types, and ignores members that are undefined', () => {
    expect(() => fromAttributeValue({ S: 'x', N: '1' } as unknown as AttributeValue)).toThrow(
      'attribute value has more than one type: S, N',
    );
    expect(() => fromAttributeValue({ NULL: true, S: 'x' } as unknown as AttributeValue)).toThrow(InvalidValueError);
    expect(fromAttributeValue({ S: undefined, N: '7' } as unknown as AttributeValue)).toBe(7);
  });

  describe('assertJsonSafe', () => {
    it('accepts plain JSON and returns its size', () => {
      expect(assertJsonSafe({ a: [1, 'x', null, true] })).toBe(JSON.stringify({ a: [1, 'x', null, true] }).length);
    });

    it.each([
      [{ a: undefined }, /\$\.a is of type undefined/],
      [{ a: Number.NaN }, /\$\.a is NaN/],
      [[1, Infinity], /\$\[1\] is Infinity/],
      [{ s: new Set([1]) }, /\$\.s is a Set/],
      [{ d: new Date(0) }, /\$\.d is a Date/],
      [{ f: () => 1 }, /function/],
      [{ n: 10n }, /bigint/],
    ])('rejects %p', (value, reason) => {
      expect(() => assertJsonSafe(value)).toThrow(reason);
    });

    it('rejects values over the size limit', () => {
      expect(() => assertJsonSafe({ blob: 'x'.repeat(100) }, 50)).toThrow(/more than the 50 allowed/);
    });
  });
});
