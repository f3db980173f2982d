import { itemKeyOf, itemOf, keyOfItem, valueOfItem, versionOfItem, type TableConfig } from '../../lib/index.ts';

const single: TableConfig = { name: 'config', prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'version' };
const composite: TableConfig = { name: 'config2', prefix: 'net/config', keyAttributes: ['kind', 'name'] };

describe('item <-> key mapping', () => {
  it('maps a one-attribute key to the whole remainder and back', () => {
    const item = itemOf(single, 'config/interfaces/eth0', { mtu: 9000 }, '4');
    expect(item).toEqual({ pk: { S: 'interfaces/eth0' }, mtu: { N: '9000' }, version: { N: '4' } });
    expect(keyOfItem(single, item)).toBe('config/interfaces/eth0');
    expect(valueOfItem(single, item)).toEqual({ mtu: 9000 });
    expect(versionOfItem(single, item)).toBe('4');
  });

  it('maps a two-attribute key to partition segment and sort remainder', () => {
    expect(itemKeyOf(composite, 'net/config/interfaces/eth0/vlan10')).toEqual({
      kind: { S: 'interfaces' },
      name: { S: 'eth0/vlan10' },
    });
    expect(keyOfItem(composite, { kind: { S: 'interfaces' }, name: { S: 'eth0/vlan10' } })).toBe(
      'net/config/interfaces/eth0/vlan10',
    );
    expect(() => itemKeyOf(composite, 'net/config/interfaces')).toThrow(/needs a partition and a sort part/);
  });

  it('refuses keys outside the table prefix and values that collide with key attributes', () => {
    expect(() => itemKeyOf(single, 'other/x')).toThrow(/not under the prefix/);
    expect(() => itemKeyOf(single, 'config')).toThrow(/not under the prefix/);
    expect(() => itemOf(single, 'config/x', { pk: 'sneaky' })).toThrow(/collides/);
  });

  it('rejects an item whose key attributes make a hostile or missing key', () => {
    expect(() => keyOfItem(single, { pk: { S: '__proto__/x' } })).toThrow(/invalid key/);
    expect(() => keyOfItem(single, { pk: { N: '1' } })).toThrow(/no string key attribute "pk"/);
  });

  it('has no revision without a version attribute', () => {
    expect(versionOfItem(composite, { kind: { S: 'a' } })).toBeUndefined();
    expect(versionOfItem(single, { pk: { S: 'a' } })).toBeUndefined();
  });
});
