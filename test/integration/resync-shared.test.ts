// One scan per resync run: the plugins of a run that read the same table share the first one's
// scan and snapshot (rule 3 still holds: a later plugin is handed the pages after the earlier ones
// finished).
import {
  DeleteItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { StateLayoutError } from '../../lib/errors.ts';
import {
  createDatasync,
  DynamoDbLedger,
  runResync,
  SyncStateStore,
  type ResyncOptions,
  type TableConfig,
} from '../../lib/index.ts';
import { bucketOf, groupOf } from '../../lib/state/table.ts';
import { streamPut } from '../support/changes.ts';
import { createStateTable, createTable, putItems, Resources, testClients } from '../support/emulator.ts';
import { planFor } from '../support/ledger.ts';
import { recordingPlugin } from '../support/plugins.ts';
import { recordCalls } from '../support/sdk-calls.ts';
import { MemorySink } from '../support/sinks.ts';

const clients = testClients({ maxAttempts: 2 });
const resources = new Resources(clients);
afterAll(() => resources.dispose());
const scans = recordCalls(clients.dynamodb, 'ScanCommand');

const item = (path: string, version: number): Record<string, AttributeValue> => ({
  pk: { S: path },
  n: { S: `${path} v${version}` },
  ver: { N: String(version) },
});

async function setup(paths: string[]) {
  const [stateTable, { name: itemTable }] = await Promise.all([
    createStateTable(resources),
    createTable(resources, { stream: false }),
  ]);
  await putItems(
    clients,
    itemTable,
    paths.map((path) => item(path, 1)),
  );
  const store = new SyncStateStore({ stateTable, clients });
  const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'ver' };
  const sink = new MemorySink();
  const options: ResyncOptions = { tables: [table], store, sink, clients, continueResync: async () => {} };
  const snapshotPartitions = async () => {
    const rows = (await clients.dynamodb.send(new ScanCommand({ TableName: stateTable }))).Items ?? [];
    return [...new Set(rows.map((row) => row.pk!.S!).filter((pk) => pk.startsWith('snapshot#')))].sort();
  };
  return { stateTable, itemTable, store, options, snapshotPartitions };
}

let counter = 0;
const newId = () => `r-${Date.now()}-${counter++}`;

describe('a resync run shares one scan among the plugins that read the same table', () => {
  test('each plugin is handed its own keys and its own deletions, in registration order, from one scan', async () => {
    const paths = ['a/1', 'a/2', 'b/1', 'b/2', 'c/1'];
    const { itemTable, options, snapshotPartitions } = await setup(paths);
    const log: string[] = [];
    const a = recordingPlugin('a', ['config/a'], log);
    const b = recordingPlugin('b', ['config/b'], log);
    const both = recordingPlugin('both', ['config/a', 'config/b'], log);
    const datasync = createDatasync({ plugins: [a, b, both] });

    scans.length = 0;
    const first = await runResync(datasync, { datasync: 'resync', resyncId: newId(), reason: 'manual' }, options);
    expect(first.plugins.map((plugin) => [plugin.plugin, plugin.status, plugin.items])).toEqual([
      ['a', 'ok', 2],
      ['b', 'ok', 2],
      ['both', 'ok', 4],
    ]);
    expect(scans.filter((call) => call.TableName === itemTable)).toHaveLength(1);
    expect(log).toEqual([
      'a:resync:start',
      'a:resync:end',
      'b:resync:start',
      'b:resync:end',
      'both:resync:start',
      'both:resync:end',
    ]);
    expect([...a.recorded.view.keys()].sort()).toEqual(['config/a/1', 'config/a/2']);
    expect([...b.recorded.view.keys()].sort()).toEqual(['config/b/1', 'config/b/2']);
    expect([...both.recorded.view.keys()].sort()).toEqual(['config/a/1', 'config/a/2', 'config/b/1', 'config/b/2']);
    expect(await snapshotPartitions()).toEqual([expect.stringMatching(/^snapshot#r-.*\*0$/)]);

    await clients.dynamodb.send(new DeleteItemCommand({ TableName: itemTable, Key: { pk: { S: 'a/1' } } }));
    await clients.dynamodb.send(new DeleteItemCommand({ TableName: itemTable, Key: { pk: { S: 'b/2' } } }));
    for (const plugin of [a, b, both]) plugin.recorded.entries.length = 0;
    scans.length = 0;
    await runResync(datasync, { datasync: 'resync', resyncId: newId(), reason: 'manual' }, options);
    expect(scans.filter((call) => call.TableName === itemTable)).toHaveLength(1);
    const deletes = (plugin: typeof a) =>
      plugin.recorded.entries.filter((entry) => entry.op === 'delete').map((entry) => entry.key);
    expect(deletes(a)).toEqual(['config/a/1']);
    expect(deletes(b)).toEqual(['config/b/2']);
    expect(deletes(both).sort()).toEqual(['config/a/1', 'config/b/2']);
    expect([...both.recorded.view.keys()].sort()).toEqual(['config/a/2', 'config/b/1']);
    // The previous run's snapshot stays until the plugins' next resync begins; a third run drops it.
    expect(await snapshotPartitions()).toHaveLength(2);
    await runResync(datasync, { datasync: 'resync', resyncId: newId(), reason: 'manual' }, options);
    expect(await snapshotPartitions()).toHaveLength(2);
  });

  test('a plugin that later watches more keys than it was handed is not taken to hold them', async () => {
    const { options, store } = await setup(['a/1', 'b/1']);
    const datasync = createDatasync({
      plugins: [recordingPlugin('a', ['config/a']), recordingPlugin('b', ['config/b'])],
    });
    await runResync(datasync, { datasync: 'resync', resyncId: newId(), reason: 'manual' }, options);
    // The shared snapshot records b/1 for plugin b; plugin a, now watching config/b too, never
    // had it, so the change that wrote it is delivered to a and skipped for b.
    const ledger = new DynamoDbLedger({ store: new SyncStateStore({ stateTable: store.tableName, clients }) });
    const change = streamPut('config/b/1', 1, 101, 1);
    expect((await planFor(ledger, 'a', [change])).deliver).toHaveLength(1);
    expect((await planFor(ledger, 'b', [change])).deliver).toHaveLength(0);
  });

  test('a change a later plugin was given after the scan, before its turn, is not taken back by the scanned page', async () => {
    const { itemTable, store, options } = await setup(['a/1', 'a/2']);
    const ledger = new DynamoDbLedger({ store });
    let deliver: (() => Promise<void>) | undefined;
    const scanner = recordingPlugin('scanner', ['config/a'], [], {
      onPage: async () => {
        await deliver?.();
        deliver = undefined;
      },
    });
    const reader = recordingPlugin('reader', ['config/a']);
    const datasync = createDatasync({ plugins: [scanner, reader] });
    await runResync(datasync, { datasync: 'resync', resyncId: newId(), reason: 'manual' }, options);
    // While the scanner reads the second run's scan, a/1 is written again and the change reaches
    // the reader, which is in sync until its own turn.
    deliver = async () => {
      await clients.dynamodb.send(new PutItemCommand({ TableName: itemTable, Item: item('a/1', 2) }));
      const change = streamPut('config/a/1', { n: 'a/1 v2' }, 200, 2);
      const plan = await planFor(ledger, 'reader', [change]);
      expect(plan.deliver).toHaveLength(1);
      expect(await ledger.commit([{ plugin: 'reader', changes: plan.deliver, plan }])).toEqual(new Map());
    };
    reader.recorded.entries.length = 0;
    await runResync(datasync, { datasync: 'resync', resyncId: newId(), reason: 'manual' }, options);
    expect(deliver).toBeUndefined();
    expect(reader.recorded.entries.find((entry) => entry.key === 'config/a/1')).toMatchObject({ version: '2' });
    expect(scanner.recorded.entries.filter((entry) => entry.key === 'config/a/1').at(-1)).toMatchObject({
      version: '1',
    });
    const fresh = new DynamoDbLedger({ store: new SyncStateStore({ stateTable: store.tableName, clients }) });
    expect((await planFor(fresh, 'reader', [streamPut('config/a/1', 1, 200, 2)])).deliver).toEqual([]);
  });

  test('a later plugin whose part continues in another invocation reads the rest again from the snapshot rows', async () => {
    const paths = Array.from({ length: 60 }, (_, n) => `a/${n}`);
    const { itemTable, store, options } = await setup(paths);
    const firstGroup = Math.min(...paths.map((path) => groupOf(bucketOf(`config/${path}`))));
    const later = paths.filter((path) => groupOf(bucketOf(`config/${path}`)) > firstGroup);
    const [changed, gone] = [later[0]!, later[1]!];
    let short = false;
    const reader = recordingPlugin('reader', ['config/a'], [], {
      // The time runs low once the reader has its first page: the part ends there.
      onPage: () => {
        short = true;
      },
    });
    const datasync = createDatasync({ plugins: [recordingPlugin('scanner', ['config/a']), reader] });
    const resyncId = newId();
    const continued: string[] = [];
    const partOptions = {
      ...options,
      continueResync: async (request: { resyncId: string }) => {
        continued.push(request.resyncId);
      },
    };
    const part1 = await runResync(
      datasync,
      { datasync: 'resync', resyncId, reason: 'manual' },
      {
        ...partOptions,
        marginMs: 1_000,
        remainingTimeMs: () => (short ? 500 : 600_000),
      },
    );
    expect(part1.plugins.map((plugin) => [plugin.plugin, plugin.status])).toEqual([
      ['scanner', 'ok'],
      ['reader', 'continued'],
    ]);
    expect(continued).toEqual([resyncId]);
    const handedFirst = reader.recorded.entries.length;
    expect(handedFirst).toBeGreaterThan(0);
    expect(handedFirst).toBeLessThan(paths.length);

    // Between the parts one item changes and one is deleted; the spool is gone with part 1.
    await clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: itemTable,
        Key: { pk: { S: changed } },
        UpdateExpression: 'SET n = :n, ver = :v',
        ExpressionAttributeValues: { ':n': { S: 'changed' }, ':v': { N: '2' } },
      }),
    );
    await clients.dynamodb.send(new DeleteItemCommand({ TableName: itemTable, Key: { pk: { S: gone } } }));
    scans.length = 0;
    const part2 = await runResync(datasync, { datasync: 'resync', resyncId, reason: 'continuation' }, partOptions);
    expect(part2.plugins.map((plugin) => [plugin.plugin, plugin.status])).toEqual([['reader', 'ok']]);
    expect(scans.filter((call) => call.TableName === itemTable)).toHaveLength(0);

    // Every key handed over once; the changed item as it is now; the deleted one as a deletion.
    const puts = reader.recorded.entries.filter((entry) => entry.op === 'put').map((entry) => entry.key);
    expect(new Set(puts).size).toBe(puts.length);
    expect([...reader.recorded.view.keys()].sort()).toEqual(
      paths
        .filter((path) => path !== gone)
        .map((path) => `config/${path}`)
        .sort(),
    );
    expect(reader.recorded.view.get(`config/${changed}`)).toEqual({ n: 'changed' });
    expect(reader.recorded.entries.filter((entry) => entry.op === 'delete')).toEqual([
      { op: 'delete', key: `config/${gone}`, version: '1' },
    ]);
    // The ledger agrees with what the reader holds: the change it was handed is not applied again.
    const ledger = new DynamoDbLedger({ store: new SyncStateStore({ stateTable: store.tableName, clients }) });
    expect((await planFor(ledger, 'reader', [streamPut(`config/${changed}`, 1, 500, 2)])).deliver).toEqual([]);
    expect((await planFor(ledger, 'reader', [streamPut(`config/${changed}`, 1, 501, 3)])).deliver).toHaveLength(1);
  });
});

describe('a state table of an earlier layout', () => {
  test('is refused with a clear error by deliveries and resyncs, and left as it is', async () => {
    const { stateTable, options, store } = await setup(['a/1']);
    // A status row as an earlier version wrote it: no layout version.
    const old = { pk: { S: 'plugin#old' }, sk: { S: 'status' }, status: { S: 'in-sync' }, snapshotId: { S: 'r-0' } };
    await clients.dynamodb.send(new PutItemCommand({ TableName: stateTable, Item: old }));
    const ledger = new DynamoDbLedger({ store });
    const refused = planFor(ledger, 'old', [streamPut('config/a/1', 1, 100, 1)]);
    await expect(refused).rejects.toBeInstanceOf(StateLayoutError);
    await expect(refused).rejects.toThrow(/in an earlier layout.*new, empty table.*Earlier layouts/);
    const result = await runResync(
      createDatasync({ plugins: [recordingPlugin('old', ['config/a'])] }),
      { datasync: 'resync', resyncId: newId(), reason: 'manual' },
      options,
    );
    expect(result.plugins[0]).toMatchObject({ status: 'error', error: expect.any(StateLayoutError) });
    const rows = (await clients.dynamodb.send(new ScanCommand({ TableName: stateTable }))).Items ?? [];
    expect(rows).toEqual([old]);
  });
});
