import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  createDatasync,
  DynamoDbLedger,
  readPluginStates,
  runResync,
  SyncStateStore,
  type ResyncFeedback,
  type ResyncOptions,
  type TableConfig,
} from '../../lib/index.ts';
import {
  createQueue,
  createStateTable,
  createTable,
  deleteItem,
  drainQueue,
  putItems,
  Resources,
  testClients,
} from '../support/emulator.ts';
import { MemorySink, SqsTestSink } from '../support/sinks.ts';
import { event } from '../support/changes.ts';
import { streamDel, streamPut } from '../support/changes.ts';
import { recordingPlugin } from '../support/plugins.ts';

const clients = testClients({ maxAttempts: 2 });
const resources = new Resources(clients);
afterAll(() => resources.dispose());

function item(path: string, value: Record<string, AttributeValue>, version?: number): Record<string, AttributeValue> {
  return { pk: { S: path }, ...value, ...(version === undefined ? {} : { ver: { N: String(version) } }) };
}

async function setup(items: Array<Record<string, AttributeValue>>, table: Partial<TableConfig> = {}) {
  const [stateTable, { name: itemTable }, { url: feedbackQueue }] = await Promise.all([
    createStateTable(resources),
    createTable(resources, { stream: false }),
    createQueue(resources, { prefix: 'ds-feedback' }),
  ]);
  await putItems(clients, itemTable, items);
  const store = new SyncStateStore({ stateTable, clients });
  const sink = new SqsTestSink(clients, feedbackQueue);
  const config: TableConfig = {
    name: itemTable,
    prefix: 'config',
    keyAttributes: ['pk'],
    versionAttribute: 'ver',
    ...table,
  };
  const options: ResyncOptions = { tables: [config], store, sink, clients, continueResync: async () => {} };
  return { stateTable, itemTable, store, sink, config, options };
}

let counter = 0;
const request = (plugins?: string[]) => ({
  datasync: 'resync' as const,
  resyncId: `r-${Date.now()}-${counter++}`,
  reason: 'manual' as const,
  ...(plugins ? { plugins } : {}),
});

describe('resync against the emulator', () => {
  test('three plugins with dependent data resync one after another in registration order', async () => {
    const { options, sink, store } = await setup([
      item('interfaces/eth0', { mtu: { N: '9000' } }, 1),
      item('interfaces/eth1', { mtu: { N: '1500' } }, 1),
      item('routes/r1', { via: { S: 'eth0' } }, 1),
      item('acl/a1', { route: { S: 'r1' } }, 1),
      item('other/x', { ignored: { BOOL: true } }, 1),
    ]);
    const log: string[] = [];
    const interfaces = recordingPlugin('interfaces', ['config/interfaces'], log);
    const routes = recordingPlugin('routes', ['config/routes'], log, {
      // A route is usable only when its interface is already there: the plugins depend on order.
      onPage: (page) => {
        for (const entry of page)
          if (entry.op === 'put')
            expect(interfaces.recorded.view.has(`config/interfaces/${(entry.value as { via: string }).via}`)).toBe(
              true,
            );
      },
    });
    const acl = recordingPlugin('acl', ['config/acl'], log, {
      onPage: (page) => {
        for (const entry of page)
          if (entry.op === 'put')
            expect(routes.recorded.view.has(`config/routes/${(entry.value as { route: string }).route}`)).toBe(true);
      },
    });
    const datasync = createDatasync({ plugins: [interfaces, routes, acl] });

    const result = await runResync(datasync, request(), options);

    expect(log).toEqual([
      'interfaces:resync:start',
      'interfaces:resync:end',
      'routes:resync:start',
      'routes:resync:end',
      'acl:resync:start',
      'acl:resync:end',
    ]);
    expect([...interfaces.recorded.view.keys()].sort()).toEqual(['config/interfaces/eth0', 'config/interfaces/eth1']);
    expect(interfaces.recorded.entries.find((entry) => entry.key === 'config/interfaces/eth0')).toEqual({
      op: 'put',
      key: 'config/interfaces/eth0',
      value: { mtu: 9000 },
      version: '1',
    });
    expect(result.plugins.map((plugin) => [plugin.plugin, plugin.status, plugin.items])).toEqual([
      ['interfaces', 'ok', 2],
      ['routes', 'ok', 1],
      ['acl', 'ok', 1],
    ]);
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(
      feedback.map((record) => [
        record.event,
        record.plugin,
        record.status,
        record.items,
        record.deleted,
        record.resyncId,
      ]),
    ).toEqual([
      ['resync', 'interfaces', 'ok', 2, 0, result.resyncId],
      ['resync', 'routes', 'ok', 1, 0, result.resyncId],
      ['resync', 'acl', 'ok', 1, 0, result.resyncId],
    ]);
    const states = await readPluginStates(datasync, { store });
    expect(states.map((state) => [state.plugin, state.status, state.items, state.resyncId])).toEqual([
      ['interfaces', 'in-sync', 2, result.resyncId],
      ['routes', 'in-sync', 1, result.resyncId],
      ['acl', 'in-sync', 1, result.resyncId],
    ]);
  });

  test('a plugin whose resync throws gets error feedback, is out of sync, and the next plugin still runs', async () => {
    const { options, sink, store } = await setup([
      item('a/1', { n: { N: '1' } }, 1),
      item('b/1', { n: { N: '2' } }, 1),
    ]);
    const log: string[] = [];
    const broken = recordingPlugin('broken', ['config/a'], log, {
      onPage: () => {
        throw new Error('disk full');
      },
    });
    const healthy = recordingPlugin('healthy', ['config/b'], log);
    const datasync = createDatasync({ plugins: [broken, healthy] });

    const result = await runResync(datasync, request(), options);

    expect(log).toEqual(['broken:resync:start', 'healthy:resync:start', 'healthy:resync:end']);
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.plugin, record.status])).toEqual([
      ['broken', 'error'],
      ['healthy', 'ok'],
    ]);
    expect(feedback[0]!.error).toMatchObject({ code: 'PLUGIN_FAILED', causes: [{ message: 'disk full' }] });
    expect(result.plugins[0]!.error?.message).toContain('disk full');
    const [brokenState, healthyState] = await readPluginStates(['broken', 'healthy'], { store });
    expect(brokenState).toMatchObject({ status: 'out-of-sync', lastError: { code: 'PLUGIN_FAILED' } });
    expect(healthyState).toMatchObject({ status: 'in-sync', items: 1 });
  });

  test('a resync that times out is reported as timeout, never as success', async () => {
    const { options, sink } = await setup([item('a/1', { n: { N: '1' } }, 1)]);
    const slow = recordingPlugin('slow', ['config/a'], [], {
      onPage: () => new Promise((resolve) => setTimeout(resolve, 500)),
    });
    await runResync(createDatasync({ plugins: [slow] }), request(), { ...options, timeoutMs: 100 });
    const [feedback] = (await sink.read()) as ResyncFeedback[];
    expect(feedback).toMatchObject({ plugin: 'slow', status: 'timeout', error: { code: 'PLUGIN_TIMEOUT' } });
  });

  test('a missing table fails the plugin with TABLE_NOT_FOUND and leaves the others running', async () => {
    const { options, sink, config } = await setup([item('b/1', { n: { N: '2' } }, 1)]);
    const missing: TableConfig = { name: `${config.name}-missing`, prefix: 'gone', keyAttributes: ['pk'] };
    const orphan = recordingPlugin('orphan', ['gone'], []);
    const healthy = recordingPlugin('healthy', ['config/b'], []);
    await runResync(createDatasync({ plugins: [orphan, healthy] }), request(), {
      ...options,
      tables: [config, missing],
    });
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.plugin, record.status, record.error?.code])).toEqual([
      ['orphan', 'error', 'TABLE_NOT_FOUND'],
      ['healthy', 'ok', undefined],
    ]);
  });

  test('changes dispatched before and during a resync reach the plugin after it, in revision order, without what the snapshot had', async () => {
    const { options, store, itemTable } = await setup(
      [item('if/a', { v: { N: '1' } }, 1), item('if/b', { v: { N: '1' } }, 1)],
      {},
    );
    const log: string[] = [];
    const ledger = new DynamoDbLedger({ store });
    let datasync: ReturnType<typeof createDatasync>;
    const plugin = recordingPlugin('interfaces', ['config/if'], log, {
      onPage: async () => {
        // While the plugin is resyncing: a newer change of a, an older one of b (already in the
        // snapshot), and two changes of a new key c, delivered out of order.
        const outcomes = await datasync.dispatch(
          event([
            streamPut('config/if/a', { v: 3 }, 3, 3),
            streamPut('config/if/b', { v: 0 }, 1, 1),
            streamPut('config/if/c', { v: 2 }, 2, 2),
            streamPut('config/if/c', { v: 1 }, 1, 1),
          ]),
        );
        expect(outcomes[0]!.feedback.held?.length).toBe(4);
        expect(outcomes[0]!.feedback.changes).toEqual([]);
      },
    });
    datasync = createDatasync({ plugins: [plugin], ledger });
    // Before the first resync the plugin receives nothing: the change is held.
    const before = await datasync.dispatch(event([streamPut('config/if/a', { v: 2 }, 2, 2)]));
    expect(before[0]!.feedback).toMatchObject({
      status: 'ok',
      changes: [],
      held: [{ key: 'config/if/a', revision: '2', version: '2' }],
    });
    expect(log).toEqual([]);

    const result = await runResync(datasync, request(), options);

    expect(result.plugins[0]).toMatchObject({ status: 'ok', items: 2, applied: 4 });
    expect(log).toEqual(['interfaces:resync:start', 'interfaces:resync:end', 'interfaces:change']);
    expect(plugin.recorded.changes.map((change) => `${change.key}@${change.revision}`)).toEqual([
      'config/if/a@2',
      'config/if/a@3',
      'config/if/c@1',
      'config/if/c@2',
    ]);
    expect(plugin.recorded.view.get('config/if/a')).toEqual({ v: 3 });
    expect(plugin.recorded.view.get('config/if/b')).toEqual({ v: 1 });

    // In sync now: a change is delivered at once, a redelivery of an applied revision is skipped.
    const after = await datasync.dispatch(
      event([streamPut('config/if/b', { v: 5 }, 5, 5), streamPut('config/if/a', { v: 3 }, 3, 3)]),
    );
    expect(after[0]!.feedback).toMatchObject({
      status: 'ok',
      changes: [{ key: 'config/if/b', revision: '5', version: '5' }],
      skipped: [{ key: 'config/if/a', revision: '3', version: '3' }],
    });
    expect(plugin.recorded.view.get('config/if/b')).toEqual({ v: 5 });
    expect(itemTable).toBeTruthy();
  });

  test('a key deleted while the plugin was out of sync is reported deleted by the next resync, and only once', async () => {
    const { options, store, itemTable, sink } = await setup([
      item('if/a', {}, 1),
      item('if/b', {}, 1),
      item('if/c', {}, 1),
    ]);
    const ledger = new DynamoDbLedger({ store });
    const plugin = recordingPlugin('interfaces', ['config/if'], []);
    const datasync = createDatasync({ plugins: [plugin], ledger });
    await runResync(datasync, request(), options);
    expect(plugin.recorded.view.size).toBe(3);

    await store.markOutOfSync('interfaces');
    await deleteItem(clients, itemTable, { pk: { S: 'if/b' } });
    // The stream's delete arrives while the plugin is out of sync: it is held.
    const held = await datasync.dispatch(event([streamDel('config/if/b', 2, 1)]));
    expect(held[0]!.feedback.held).toEqual([{ key: 'config/if/b', op: 'delete', revision: '2', version: '1' }]);
    plugin.recorded.entries.length = 0;

    const second = await runResync(datasync, request(), options);

    expect(plugin.recorded.entries.filter((entry) => entry.op === 'delete')).toEqual([
      { op: 'delete', key: 'config/if/b', version: '1' },
    ]);
    expect([...plugin.recorded.view.keys()].sort()).toEqual(['config/if/a', 'config/if/c']);
    // The held delete of the same key is not applied a second time.
    expect(plugin.recorded.changes).toEqual([]);
    expect(second.plugins[0]).toMatchObject({ status: 'ok', items: 2, deleted: 1, applied: 0 });
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.at(-1)).toMatchObject({ plugin: 'interfaces', status: 'ok', items: 2, deleted: 1 });

    // A third resync has nothing more to report.
    plugin.recorded.entries.length = 0;
    await runResync(datasync, request(), options);
    expect(plugin.recorded.entries.filter((entry) => entry.op === 'delete')).toEqual([]);
  });

  test('a failed resync retried with the same id resumes after the last page done, without handing anything over twice', async () => {
    const items = Array.from({ length: 12 }, (_, index) => item(`k/${String(index).padStart(2, '0')}`, {}, 1));
    const { options, sink } = await setup(items);
    let fail = true;
    const plugin = recordingPlugin('p', ['config/k'], [], {
      onPage: (_page, index) => {
        if (fail && index === 1) throw new Error('crash on the second page');
      },
    });
    const datasync = createDatasync({ plugins: [plugin] });
    const first = request();
    const failed = await runResync(datasync, first, { ...options, pageSize: 4 });
    expect(failed.plugins[0]!.status).toBe('error');
    expect(plugin.recorded.entries).toHaveLength(8);

    fail = false;
    plugin.recorded.entries.length = 0;
    const retried = await runResync(datasync, first, { ...options, pageSize: 4 });

    expect(retried.plugins[0]).toMatchObject({ status: 'ok', items: 12 });
    // The second page (handed over, not finished) comes again; the first does not.
    expect(plugin.recorded.entries).toHaveLength(8);
    expect(plugin.recorded.contexts.map((context) => context.part)).toEqual([1, 2]);
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.status, record.items])).toEqual([
      ['error', 4],
      ['ok', 12],
    ]);
  });

  test('a resync slower than its time limit goes on in parts instead of timing out', async () => {
    const items = Array.from({ length: 10 }, (_, index) => item(`t/${index}`, {}, 1));
    const { options, sink } = await setup(items);
    const plugin = recordingPlugin('slowish', ['config/t'], [], {
      onPage: () => new Promise((resolve) => setTimeout(resolve, 400)),
    });
    const datasync = createDatasync({ plugins: [plugin] });
    const continuations: string[] = [];
    const slow = {
      ...options,
      pageSize: 2,
      timeoutMs: 1_500,
      continueResync: async (next: { resyncId: string }) => {
        continuations.push(next.resyncId);
      },
    };
    const first = request();
    let result = await runResync(datasync, first, slow);
    while (result.continued) result = await runResync(datasync, { ...first, reason: 'continuation' }, slow);

    expect(result.plugins[0]).toMatchObject({ status: 'ok', items: 10 });
    expect(continuations.length).toBeGreaterThan(0);
    expect(continuations.every((id) => id === first.resyncId)).toBe(true);
    expect(new Set(plugin.recorded.entries.map((entry) => entry.key)).size).toBe(10);
    expect(plugin.recorded.entries).toHaveLength(10);
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback).toEqual([expect.objectContaining({ status: 'ok', items: 10, parts: continuations.length + 1 })]);
  });

  test('parallel scan segments hand over every item once', async () => {
    const items = Array.from({ length: 60 }, (_, index) => item(`s/${index}`, { i: { N: String(index) } }, 1));
    const { options } = await setup(items);
    const plugin = recordingPlugin('p', ['config/s'], []);
    const result = await runResync(createDatasync({ plugins: [plugin] }), request(), {
      ...options,
      segments: 4,
      pageSize: 7,
    });
    expect(result.plugins[0]).toMatchObject({ status: 'ok', items: 60 });
    const keys = plugin.recorded.entries.map((entry) => entry.key);
    expect(new Set(keys).size).toBe(60);
    expect(keys).toHaveLength(60);
  });

  test('unknown plugin names are refused before anything runs', async () => {
    const { options } = await setup([]);
    const sink = new MemorySink();
    const plugin = recordingPlugin('p', ['config/s'], []);
    await expect(
      runResync(createDatasync({ plugins: [plugin] }), request(['p', 'nope']), { ...options, sink }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_PLUGIN' });
    expect(plugin.recorded.calls).toEqual([]);
    expect(await drainQueue(clients, (options.sink as SqsTestSink).queueUrl)).toEqual([]);
  });
});
