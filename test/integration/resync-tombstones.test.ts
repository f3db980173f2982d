import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteItemCommand, DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createAwsClients } from '../../lib/aws/clients.ts';
import {
  createDatasync,
  DynamoDbLedger,
  runResync,
  stateTableDefinition,
  SyncStateStore,
  type Change,
  type FeedbackRecord,
  type TableConfig,
} from '../../lib/index.ts';
import { event } from '../support/changes.ts';
import { streamPut } from '../support/changes.ts';

const clients = createAwsClients();
const suffix = randomBytes(4).toString('hex');
const table: TableConfig = { name: `tomb-items-${suffix}`, prefix: 'config', keyAttributes: ['pk'] };
const stateTable = `tomb-state-${suffix}`;

describe('deletions a resync finds stay deleted', () => {
  beforeAll(async () => {
    await clients.dynamodb.send(new CreateTableCommand({ ...stateTableDefinition(stateTable) }));
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
    await Promise.all(
      [stateTable, table.name].map((name) => clients.dynamodb.send(new DeleteTableCommand({ TableName: name }))),
    );
  });

  it('does not apply a late redelivery of an older put after a resync reported the key deleted', async () => {
    const store = new SyncStateStore({ stateTable, clients });
    const ledger = new DynamoDbLedger({ store });
    const applied: string[] = [];
    const view = new Map<string, unknown>();
    const datasync = createDatasync({
      ledger,
      plugins: [
        {
          name: 'interfaces',
          prefixes: ['config/interfaces'],
          change: (changes: readonly Change[]) => {
            for (const change of changes) {
              applied.push(`${change.op} ${change.key}@${change.revision}`);
              if (change.op === 'put') view.set(change.key, change.value);
              else view.delete(change.key);
            }
          },
          async resync(snapshot) {
            for await (const page of snapshot.pages())
              for (const entry of page) {
                if (entry.op === 'put') view.set(entry.key, entry.value);
                else view.delete(entry.key);
              }
          },
        },
      ],
    });
    const sink = {
      records: [] as FeedbackRecord[],
      async write(records: readonly FeedbackRecord[]) {
        this.records.push(...records);
      },
    };
    const resync = (id: string) =>
      runResync(
        datasync,
        { datasync: 'resync', resyncId: id, reason: 'manual' },
        {
          tables: [table],
          store,
          sink,
          clients,
          continueResync: async () => {},
        },
      );

    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: table.name,
        Item: { pk: { S: 'interfaces/eth0' }, mtu: { N: '1500' }, version: { N: '5' } },
      }),
    );
    await resync(`r1-${suffix}`);
    expect(view.get('config/interfaces/eth0')).toEqual({ mtu: 1500 });

    // The item goes away without the plugin hearing of it; the next resync reports the deletion.
    await clients.dynamodb.send(
      new DeleteItemCommand({ TableName: table.name, Key: { pk: { S: 'interfaces/eth0' } } }),
    );
    await resync(`r2-${suffix}`);
    expect(view.has('config/interfaces/eth0')).toBe(false);
    // A third resync must not forget the deletion either.
    await resync(`r3-${suffix}`);

    // Now the put the plugin already had arrives again (an SQS retry, a replayed stream record).
    // The resync read no stream position, so the item's version says it is the one deleted.
    const [outcome] = await datasync.dispatch(event([streamPut('config/interfaces/eth0', { mtu: 1500 }, 105, 5)]));
    expect(outcome?.feedback.skipped).toEqual([
      expect.objectContaining({ key: 'config/interfaces/eth0', revision: '105', version: '5' }),
    ]);
    expect(view.has('config/interfaces/eth0')).toBe(false);
    expect(applied).toEqual([]);

    // A genuinely newer put is applied.
    await datasync.dispatch(event([streamPut('config/interfaces/eth0', { mtu: 9000 }, 106, 6)]));
    expect(view.get('config/interfaces/eth0')).toEqual({ mtu: 9000 });
  });

  it('does not report a live key deleted when a change committed during the resync erased its mark', async () => {
    const store = new SyncStateStore({ stateTable, clients });
    const ledger = new DynamoDbLedger({ store });
    const view = new Map<string, unknown>();
    const datasync = createDatasync({
      ledger,
      plugins: [
        {
          name: 'routes',
          prefixes: ['config/routes'],
          change: () => {},
          async resync(snapshot) {
            for await (const page of snapshot.pages()) {
              for (const entry of page) {
                if (entry.op === 'put') view.set(entry.key, entry.value);
                else view.delete(entry.key);
              }
              // A delivery that planned before the resync began commits now, after r1's page was
              // recorded: a plain key row, without this resync's mark.
              if (page.some((entry) => entry.key === 'config/routes/r2'))
                await store.writeKeys('routes', [{ key: 'config/routes/r1', present: true, revision: '7' }]);
            }
          },
        },
      ],
    });
    const sink = {
      records: [] as FeedbackRecord[],
      async write(records: readonly FeedbackRecord[]) {
        this.records.push(...records);
      },
    };
    for (const name of ['r1', 'r2']) {
      await clients.dynamodb.send(
        new PutItemCommand({
          TableName: table.name,
          Item: { pk: { S: `routes/${name}` }, via: { S: 'eth0' }, version: { N: '7' } },
        }),
      );
    }

    // One item a page, so r1's page is recorded before r2's is handed over.
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: `r4-${suffix}`, reason: 'manual' },
      {
        tables: [table],
        store,
        sink,
        clients,
        continueResync: async () => {},
        pageSize: 1,
      },
    );

    expect(view.get('config/routes/r1')).toEqual({ via: 'eth0' });
    expect(sink.records).toEqual([
      expect.objectContaining({ event: 'resync', plugin: 'routes', status: 'ok', items: 2, deleted: 0 }),
    ]);
  });
});
