import { createTablesPublisher, InvalidChangeError } from '../../lib/index.ts';
import { createTable, Resources, testClients } from '../support/emulator.ts';

describe('publishing by key across tables', () => {
  const clients = testClients();
  const resources = new Resources(clients);
  afterAll(() => resources.dispose());

  it('writes each key to the table whose prefix holds it, the longest prefix first', async () => {
    const config = await createTable(resources, { prefix: 'config' });
    const routes = await createTable(resources, { prefix: 'config/routes' });
    const publisher = createTablesPublisher([config.table, routes.table], { clients });

    await publisher.put('config/interfaces/eth0', { mtu: 9000 });
    await publisher.put('config/routes/default', { via: 'eth0' });
    await publisher.publish([
      { key: 'config/interfaces/eth1', op: 'put', value: { mtu: 1500 } },
      { key: 'config/routes/r2', op: 'put', value: { via: 'eth1' } },
    ]);

    expect(await config.getItem({ pk: { S: 'interfaces/eth0' } })).toMatchObject({ mtu: { N: '9000' } });
    expect(await config.getItem({ pk: { S: 'interfaces/eth1' } })).toMatchObject({ mtu: { N: '1500' } });
    expect(await routes.getItem({ pk: { S: 'default' } })).toMatchObject({ via: { S: 'eth0' } });
    expect(await routes.getItem({ pk: { S: 'r2' } })).toMatchObject({ via: { S: 'eth1' } });
    expect(await config.getItem({ pk: { S: 'routes/default' } })).toBeUndefined();

    await publisher.delete('config/routes/default');
    expect(await routes.getItem({ pk: { S: 'default' } })).toBeUndefined();
  });

  it('refuses a key no table holds, before writing anything', async () => {
    const config = await createTable(resources, { prefix: 'config' });
    const publisher = createTablesPublisher([config.table], { clients });
    await expect(publisher.put('other/x', { a: 1 })).rejects.toThrow(InvalidChangeError);
    await expect(
      publisher.publish([
        { key: 'config/ok', op: 'put', value: { a: 1 } },
        { key: 'other/x', op: 'put', value: { a: 1 } },
      ]),
    ).rejects.toThrow(/no table holds other\/x/);
    expect(await config.getItem({ pk: { S: 'ok' } })).toBeUndefined();
  });

  it("checks every table's own rules before writing to any table", async () => {
    const config = await createTable(resources, { prefix: 'config' });
    const routes = await createTable(resources, { prefix: 'config/routes' });
    const publisher = createTablesPublisher([config.table, routes.table], { clients });
    // The second change breaks a rule of its table (a value must be an object there).
    await expect(
      publisher.publish([
        { key: 'config/interfaces/eth0', op: 'put', value: { mtu: 9000 } },
        { key: 'config/routes/r1', op: 'put', value: 5 },
      ]),
    ).rejects.toThrow(/must be a JSON object/);
    expect(await config.getItem({ pk: { S: 'interfaces/eth0' } })).toBeUndefined();
  });
});
