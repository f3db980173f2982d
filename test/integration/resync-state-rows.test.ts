import { DeleteItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  createDatasync,
  DynamoDbLedger,
  runResync,
  SyncStateStore,
  type Plugin,
  type TableConfig,
} from '../../lib/index.ts';
import { createStateTable, createTable, putItems, Resources, testClients } from '../support/emulator.ts';
import { streamDel, streamPut } from '../support/changes.ts';
import { commitFor, planFor } from '../support/ledger.ts';
import type { SnapshotEntry } from '../../lib/plugins/plugin.ts';

const clients = testClients({ maxAttempts: 2 });
const resources = new Resources(clients);
afterAll(() => resources.dispose());

const ITEMS = 2_000;

async function setup() {
  const [stateTable, { name: itemTable }] = await Promise.all([
    createStateTable(resources),
    createTable(resources, { stream: false }),
  ]);
  await putItems(
    clients,
    itemTable,
    Array.from({ length: ITEMS }, (_, n) => ({ pk: { S: `if/${n}` }, mtu: { N: String(1500 + n) }, ver: { N: '5' } })),
  );
  const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'ver' };
  let entries = 0;
  const plugin: Plugin = {
    name: 'interfaces',
    prefixes: ['config/if'],
    change() {},
    async resync(snapshot) {
      for await (const page of snapshot.pages()) entries += page.length;
    },
  };
  const store = new SyncStateStore({ stateTable, clients });
  const datasync = createDatasync({ plugins: [plugin] });
  const resync = (resyncId: string) =>
    runResync(
      datasync,
      { datasync: 'resync', resyncId, reason: 'manual' },
      {
        tables: [table],
        store,
        clients,
        sink: { write: async () => {} },
        continueResync: async () => {},
      },
    );
  return { stateTable, store, resync, entries: () => entries };
}

async function stateRows(stateTable: string): Promise<Array<Record<string, AttributeValue>>> {
  const rows: Array<Record<string, AttributeValue>> = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await clients.dynamodb.send(
      new ScanCommand({ TableName: stateTable, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    rows.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return rows;
}

describe('the state a resync keeps', () => {
  it('stays a fraction of the table, and does not grow from one resync to the next', async () => {
    const { stateTable, resync, entries } = await setup();
    await resync('r-1');
    const afterFirst = await stateRows(stateTable);
    // A resync records the keys it handed over a page at a time, at most one row per group of key
    // buckets (16) per page, instead of a row per item.
    expect(entries()).toBe(ITEMS);
    expect(afterFirst.length).toBeLessThan(ITEMS / 4);
    await resync('r-2');
    await resync('r-3');
    const afterThird = await stateRows(stateTable);
    // The current snapshot and the one before it are kept; older ones are dropped.
    const snapshots = [
      ...new Set(afterThird.map((row) => row.pk!.S!).filter((pk) => pk.startsWith('snapshot#'))),
    ].sort();
    expect(snapshots).toEqual([
      expect.stringMatching(/^snapshot#r-2\.\d+@interfaces$/),
      expect.stringMatching(/^snapshot#r-3\.\d+@interfaces$/),
    ]);
    expect(afterThird.length).toBeLessThanOrEqual(2 * afterFirst.length);
    expect(entries()).toBe(3 * ITEMS);
  });

  it("fences deliveries after the resync by the snapshot's revisions, in a process that never saw the resync", async () => {
    const { store, resync, stateTable } = await setup();
    await resync('r-fence');
    // A fresh store and ledger, as in another Lambda container.
    const ledger = new DynamoDbLedger({ store: new SyncStateStore({ stateTable, clients }) });
    // Stream records of the snapshot's items (version 5) and of writes before and after them: the
    // snapshot read no sequence numbers, so its items' versions decide.
    const changes = [
      streamPut('config/if/7', 1, 104, 4),
      streamPut('config/if/8', 1, 105, 5),
      streamPut('config/if/9', 1, 106, 6),
    ];
    const plan = await planFor(ledger, 'interfaces', changes);
    expect(plan.deliver.map((change) => change.key)).toEqual(['config/if/9']);
    expect(plan.skipped.map((change) => change.key).sort()).toEqual(['config/if/7', 'config/if/8']);
    // A delivered change is newer than the snapshot: its redelivery is skipped, a newer one is not.
    await commitFor(ledger, 'interfaces', plan);
    const again = await planFor(ledger, 'interfaces', [
      streamPut('config/if/9', 1, 106, 6),
      streamPut('config/if/9', 1, 107, 7),
    ]);
    expect(again.deliver.map((change) => change.revision)).toEqual(['107']);
    const { keys } = await store.heldKeys('interfaces', ['config/if/9', 'config/if/10', 'config/if/none']);
    expect(keys.get('config/if/9')).toMatchObject({ revision: '106', version: '6', present: true });
    expect(keys.get('config/if/10')).toMatchObject({ version: '5', present: true, fromSnapshot: true });
    expect(keys.has('config/if/none')).toBe(false);
  });

  it('lets a delivery after the resync win over the snapshot even from a host whose clock is behind', async () => {
    const { store, resync } = await setup();
    await resync('r-clock');
    const ledger = new DynamoDbLedger({ store });
    const plan = await planFor(ledger, 'interfaces', [streamDel('config/if/3', 106, 5)]);
    expect(plan.deliver).toHaveLength(1);
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now - 3_600_000);
    try {
      await commitFor(ledger, 'interfaces', plan);
    } finally {
      clock.mockRestore();
    }
    const { keys } = await store.heldKeys('interfaces', ['config/if/3']);
    expect(keys.get('config/if/3')).toMatchObject({ present: false, revision: '106' });
  });

  describe('deletions found by a later resync', () => {
    async function small() {
      const [stateTable, { name: itemTable }] = await Promise.all([
        createStateTable(resources),
        createTable(resources, { stream: false }),
      ]);
      const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'ver' };
      const store = new SyncStateStore({ stateTable, clients });
      const entries: SnapshotEntry[] = [];
      let failAfterSnapshot = false;
      const plugin: Plugin = {
        name: 'interfaces',
        prefixes: ['config/if'],
        change() {},
        async resync(snapshot) {
          for await (const page of snapshot.pages()) entries.push(...page);
          if (failAfterSnapshot) throw new Error('disk full');
        },
      };
      const datasync = createDatasync({ plugins: [plugin] });
      const resync = async (resyncId: string, fail = false) => {
        failAfterSnapshot = fail;
        entries.length = 0;
        return runResync(
          datasync,
          { datasync: 'resync', resyncId, reason: 'manual' },
          {
            tables: [table],
            store,
            clients,
            sink: { write: async () => {} },
            continueResync: async () => {},
          },
        );
      };
      const putItem = (id: string, ver: number) =>
        clients.dynamodb.send(
          new PutItemCommand({ TableName: itemTable, Item: { pk: { S: id }, ver: { N: String(ver) } } }),
        );
      const deleteItem = (id: string) =>
        clients.dynamodb.send(new DeleteItemCommand({ TableName: itemTable, Key: { pk: { S: id } } }));
      return { store, resync, entries, putItem, deleteItem };
    }

    it('a resync id run again after it finished still reports what was deleted in between', async () => {
      const { resync, entries, putItem, deleteItem } = await small();
      await putItem('if/a', 1);
      await putItem('if/b', 1);
      expect((await resync('r-again')).plugins[0]).toMatchObject({ status: 'ok', items: 2 });
      await deleteItem('if/b');
      expect((await resync('r-again')).plugins[0]).toMatchObject({ status: 'ok', items: 1, deleted: 1 });
      expect(entries.filter((entry) => entry.op === 'delete')).toEqual([
        { op: 'delete', key: 'config/if/b', version: '1' },
      ]);
    });

    it('a resync that fails keeps what deliveries recorded, so a later one reports the deletion at the delivered revision', async () => {
      const { store, resync, entries, putItem, deleteItem } = await small();
      await putItem('if/k', 3);
      await resync('r-first');
      // A delivery gives the plugin revision 5, newer than its snapshot.
      await putItem('if/k', 5);
      const ledger = new DynamoDbLedger({ store });
      const plan = await planFor(ledger, 'interfaces', [streamPut('config/if/k', 1, 105, 5)]);
      await commitFor(ledger, 'interfaces', plan);
      // A resync reads revision 5 too, then fails: its snapshot never becomes the plugin's.
      expect((await resync('r-failed', true)).plugins[0]).toMatchObject({ status: 'error' });
      await deleteItem('if/k');
      expect((await resync('r-after')).plugins[0]).toMatchObject({ status: 'ok', deleted: 1 });
      expect(entries.filter((entry) => entry.op === 'delete')).toEqual([
        { op: 'delete', key: 'config/if/k', revision: '105', version: '5' },
      ]);
      // The tombstone carries what the plugin held: a late redelivery of an older record is not applied.
      const late = await planFor(
        new DynamoDbLedger({ store: new SyncStateStore({ stateTable: store.tableName, clients }) }),
        'interfaces',
        [streamPut('config/if/k', 1, 104, 4)],
      );
      expect(late.deliver).toEqual([]);
    });
  });
});
