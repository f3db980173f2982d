import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteItemCommand, DeleteTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createStorePlugin } from '../../examples/plugins/store.ts';
import { createAwsClients } from '../../lib/aws/clients.ts';
import type { Change, TableConfig } from '../../lib/index.ts';

const clients = createAwsClients();
const context = { plugin: 'store', signal: new AbortController().signal };

function change(
  op: 'put' | 'delete',
  revision: string,
  type: Change['source']['type'] = 'sqs',
  value?: object,
): Change {
  return {
    key: 'config/interfaces/eth0',
    op,
    revision,
    source: { type, name: 'q' },
    time: new Date().toISOString(),
    ...(value ? { value: value as Change['value'] } : {}),
  };
}

describe('store example plugin', () => {
  const table: TableConfig = {
    name: `store-${randomBytes(4).toString('hex')}`,
    prefix: 'config',
    keyAttributes: ['pk'],
  };
  beforeAll(async () => {
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: table.name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  });
  afterAll(async () => {
    await clients.dynamodb.send(new DeleteTableCommand({ TableName: table.name }));
  });
  const item = async () =>
    (
      await clients.dynamodb.send(
        new GetItemCommand({ TableName: table.name, Key: { pk: { S: 'interfaces/eth0' } }, ConsistentRead: true }),
      )
    ).Item;

  it('stores bus changes with their revision as the version, never letting an older one win', async () => {
    const plugin = createStorePlugin([table], { clients });
    await plugin.change([change('put', '10', 'sqs', { mtu: 9000 })], context);
    expect(await item()).toEqual({ pk: { S: 'interfaces/eth0' }, mtu: { N: '9000' }, version: { N: '10' } });

    // Older and repeated revisions change nothing.
    await plugin.change(
      [change('put', '5', 'eventbridge', { mtu: 1 }), change('put', '10', 'sqs', { mtu: 2 }), change('delete', '7')],
      context,
    );
    expect((await item())?.mtu).toEqual({ N: '9000' });

    // Changes that came from the table's own stream are already stored.
    await plugin.change([change('put', '50', 'dynamodb', { mtu: 3 })], context);
    expect((await item())?.version).toEqual({ N: '10' });

    await plugin.change([change('delete', '11', 'eventbridge')], context);
    expect(await item()).toBeUndefined();
  });

  it('removes an older bus put that recreated an item deleted straight in the table, when the delete comes over the stream', async () => {
    const plugin = createStorePlugin([table], { clients });
    await plugin.change([change('put', '20', 'sqs', { mtu: 1500 })], context);
    // The item is deleted in the table directly (not over a bus); a deleted item keeps no version,
    // so a delayed bus put older than the delete is written again.
    await clients.dynamodb.send(
      new DeleteItemCommand({ TableName: table.name, Key: { pk: { S: 'interfaces/eth0' } } }),
    );
    await plugin.change([change('put', '15', 'sqs', { mtu: 1 })], context);
    expect((await item())?.version).toEqual({ N: '15' });
    // The stream's delete (the removed version plus one) removes it again.
    await plugin.change([change('delete', '21', 'dynamodb')], context);
    expect(await item()).toBeUndefined();
    // It never removes a newer item, nor acts on a delete ordered by a stream sequence number.
    await plugin.change([change('put', '30', 'sqs', { mtu: 9000 })], context);
    await plugin.change(
      [change('delete', '21', 'dynamodb'), change('delete', '1100000000017454423009', 'dynamodb')],
      context,
    );
    expect((await item())?.version).toEqual({ N: '30' });
  });

  it('refuses a value that is not an object, which a table item cannot hold', async () => {
    const plugin = createStorePlugin([table], { clients });
    await expect(plugin.change([{ ...change('put', '99'), value: 'text' }], context)).rejects.toThrow(
      /must be a JSON object/,
    );
  });
});
