import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Change } from '../../lib/model/change.ts';
import { TableStore } from '../../lib/sources/store.ts';
import { keyRowKey } from '../../lib/state/table.ts';
import { createStateTable, createTable, Resources, testClients } from '../support/emulator.ts';

const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());

function busChange(
  op: 'put' | 'delete',
  revision: string | undefined,
  value?: object,
  key = 'config/interfaces/eth0',
): Change {
  return {
    key,
    op,
    ...(revision === undefined ? {} : { revision }),
    source: { type: 'sqs', name: 'q', id: `m-${op}-${revision}` },
    time: new Date().toISOString(),
    ...(value ? { value: value as Change['value'] } : {}),
  };
}

async function setup() {
  const [stateTable, data] = await Promise.all([
    createStateTable(resources),
    createTable(resources, { stream: false }),
  ]);
  const store = new TableStore({ tables: [data.table], stateTable, clients });
  const item = async () =>
    (
      await clients.dynamodb.send(
        new GetItemCommand({ TableName: data.name, Key: { pk: { S: 'interfaces/eth0' } }, ConsistentRead: true }),
      )
    ).Item;
  const results = async (...changes: Change[]) =>
    (await store.write(changes)).map((outcome) =>
      'error' in outcome ? `error: ${outcome.error.message}` : outcome.result,
    );
  return { data, stateTable, store, item, results };
}

describe('the store: bus changes written to the table that holds their keys', () => {
  it('writes a change with its revision as the version, and never lets an older or repeated one win', async () => {
    const { item, results } = await setup();
    expect(await results(busChange('put', '10', { mtu: 9000 }))).toEqual(['stored']);
    expect(await item()).toEqual({ pk: { S: 'interfaces/eth0' }, mtu: { N: '9000' }, version: { N: '10' } });
    expect(
      await results(busChange('put', '5', { mtu: 1 }), busChange('put', '10', { mtu: 2 }), busChange('delete', '7')),
    ).toEqual(['superseded', 'superseded', 'superseded']);
    expect((await item())?.mtu).toEqual({ N: '9000' });
    expect(await results(busChange('delete', '11'))).toEqual(['stored']);
    expect(await item()).toBeUndefined();
  });

  it("writes one key's changes in revision order whatever order they came in", async () => {
    const { item, results } = await setup();
    // The older one is written first, then the newer over it; neither is lost.
    expect(await results(busChange('put', '30', { mtu: 3 }), busChange('put', '20', { mtu: 2 }))).toEqual([
      'stored',
      'stored',
    ]);
    expect((await item())?.mtu).toEqual({ N: '3' });
  });

  it('settles a delete made straight in the table: a redelivered older put is deleted again, then refused', async () => {
    const { data, item, results, store } = await setup();
    const key = { pk: { S: 'interfaces/eth0' } };
    expect(await results(busChange('put', '40', { mtu: 4 }))).toEqual(['stored']);
    // Someone deletes the item in the table; the put's message comes back before the stream tells.
    await clients.dynamodb.send(new DeleteItemCommand({ TableName: data.name, Key: key }));
    expect(await results(busChange('put', '40', { mtu: 4 }))).toEqual(['stored']);
    expect((await item())?.version).toEqual({ N: '40' });

    // The stream's REMOVE of version 40 is settled: the copy goes, and the put is refused from now on.
    expect(await store.settleDeletes([{ key: 'config/interfaces/eth0', version: '40' }])).toEqual(new Map());
    expect(await item()).toBeUndefined();
    expect(await results(busChange('put', '40', { mtu: 4 }), busChange('put', '39', { mtu: 3 }))).toEqual([
      'superseded',
      'superseded',
    ]);
    // A newer write is never touched by settling an older delete again.
    expect(await results(busChange('put', '41', { mtu: 5 }))).toEqual(['stored']);
    expect(await store.settleDeletes([{ key: 'config/interfaces/eth0', version: '40' }])).toEqual(new Map());
    expect((await item())?.mtu).toEqual({ N: '5' });
  });

  it('remembers a deletion, so an older put that arrives late does not bring the key back', async () => {
    const { item, results, stateTable } = await setup();
    await results(busChange('put', '20', { mtu: 1500 }));
    expect(await results(busChange('delete', '25'))).toEqual(['stored']);
    expect(await results(busChange('put', '22', { mtu: 1 }))).toEqual(['superseded']);
    expect(await item()).toBeUndefined();
    // The tombstone is the deletion's revision in the key's row of the state table.
    const { pk, sk } = keyRowKey('config/interfaces/eth0');
    const row = await clients.dynamodb.send(
      new GetItemCommand({ TableName: stateTable, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
    );
    expect(row.Item?.tomb).toEqual({ N: '25' });
    // A newer put is written.
    expect(await results(busChange('put', '26', { mtu: 9000 }))).toEqual(['stored']);
    expect((await item())?.version).toEqual({ N: '26' });
  });

  it('forgets a deletion once no redelivery can be older (14 days)', async () => {
    const { item, results, stateTable } = await setup();
    await results(busChange('delete', '40'));
    const { pk, sk } = keyRowKey('config/interfaces/eth0');
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: stateTable,
        Item: { pk: { S: pk }, sk: { S: sk }, tomb: { N: '40' }, tombUntil: { N: String(Date.now() - 1) } },
      }),
    );
    expect(await results(busChange('put', '30', { mtu: 1 }))).toEqual(['stored']);
    expect((await item())?.version).toEqual({ N: '30' });
  });

  it('writes over an item a tool wrote without a version, and gives an unrevisioned change a clock version', async () => {
    const { data, item, results } = await setup();
    await clients.dynamodb.send(
      new PutItemCommand({ TableName: data.name, Item: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1000' } } }),
    );
    expect(await results(busChange('put', undefined, { mtu: 2000 }))).toEqual(['stored']);
    const written = await item();
    expect(written?.mtu).toEqual({ N: '2000' });
    expect(BigInt(written!.version!.N!)).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
    // A delete of an item a tool removed meanwhile changes nothing in the table but is remembered.
    await clients.dynamodb.send(new DeleteItemCommand({ TableName: data.name, Key: { pk: { S: 'interfaces/eth0' } } }));
    // No plugin will hear of it (no stream record), so it is reported as superseded.
    expect(await results(busChange('delete', '99'))).toEqual(['superseded']);
    expect(await results(busChange('put', '98', { mtu: 1 }))).toEqual(['superseded']);
    expect(await item()).toBeUndefined();
  });
});
