import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  createDatasync, readPluginStates, ResyncBusyError, runResync, SyncStateStore,
  type ResyncFeedback, type ResyncOptions, type ResyncRequest, type TableConfig,
} from '../../lib/index.ts';
import { resyncRows } from '../../lib/resync/state-rows.ts';
import { rowKey } from '../../lib/state/store.ts';
import { pluginPartition, SORT } from '../../lib/state/table.ts';
import { createQueue, createStateTable, createTable, putItems, Resources, testClients } from '../support/emulator.ts';
import { SqsTestSink } from '../support/sinks.ts';
import { recordingPlugin } from '../support/plugins.ts';

const clients = testClients({ maxAttempts: 2 });
const resources = new Resources(clients);
afterAll(() => resources.dispose());
jest.setTimeout(30_000);

function item(path: string, version: number): Record<string, AttributeValue> {
  return { pk: { S: path }, n: { N: String(version) }, ver: { N: String(version) } };
}

/** The continuations a resync asked for, as the resync queue would receive them. */
type Continuation = { request: ResyncRequest; delaySeconds?: number };

async function setup(items: Array<Record<string, AttributeValue>>) {
  const [stateTable, { name: itemTable }, { url: feedbackQueue }] = await Promise.all([
    createStateTable(resources), createTable(resources, { stream: false }), createQueue(resources, { prefix: 'ds-feedback' }),
  ]);
  await putItems(clients, itemTable, items);
  const store = new SyncStateStore({ stateTable, clients });
  const sink = new SqsTestSink(clients, feedbackQueue);
  const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'ver' };
  const continuations: Continuation[] = [];
  const options: ResyncOptions = {
    tables: [table], store, sink, clients, pageSize: 1,
    continueResync: async (request, { delaySeconds }) => void continuations.push({ request, ...(delaySeconds ? { delaySeconds } : {}) }),
  };
  /** Lets a plugin's lease run out, as if its holder had stalled past it. */
  const expireLease = (plugin: string) => clients.dynamodb.send(new UpdateItemCommand({
    TableName: stateTable, Key: rowKey(pluginPartition(plugin), SORT.status),
    UpdateExpression: 'SET leaseUntil = :past', ExpressionAttributeValues: { ':past': { N: '0' } },
  }));
  return { store, sink, options, continuations, expireLease };
}

/** A gate a plugin's page waits on: `opened` resolves once the page is reached, `open()` lets it go on. */
function gate() {
  let reached!: () => void;
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { opened, open: release, wait: () => (reached(), released) };
}

const request = (resyncId: string, plugins?: string[]): ResyncRequest => ({ datasync: 'resync', resyncId, reason: 'manual', ...(plugins ? { plugins } : {}) });

describe('resync lease: one resync of a plugin at a time', () => {
  it('a resync of a plugin another resync is running waits, keeps registration order, and runs once the first is done', async () => {
    const { store, sink, options, continuations } = await setup([item('a/1', 1), item('a/2', 1), item('b/1', 1)]);
    const log: string[] = [];
    const first = gate();
    let holdFirstPage = true;
    const a = recordingPlugin('a', ['config/a'], log, { onPage: async () => { if (holdFirstPage) { holdFirstPage = false; await first.wait(); } } });
    const b = recordingPlugin('b', ['config/b'], log);
    const datasync = createDatasync({ plugins: [a, b] });

    const running = runResync(datasync, request('r-first', ['a']), options);
    await first.opened;
    const second = await runResync(datasync, request('r-second'), options);

    // Plugin a is held: the second resync did not call it, nor b after it (registration order).
    expect(second).toMatchObject({ continued: true, plugins: [{ plugin: 'a', status: 'waiting' }] });
    expect(second.plugins[0]!.error).toBeInstanceOf(ResyncBusyError);
    expect(second.plugins[0]!.error).toMatchObject({ code: 'RESYNC_BUSY', holder: 'r-first' });
    expect(log).toEqual(['a:resync:start']);
    expect(continuations).toEqual([{ request: { datasync: 'resync', resyncId: 'r-second', reason: 'continuation' }, delaySeconds: 60 }]);

    first.open();
    expect((await running).plugins).toMatchObject([{ plugin: 'a', status: 'ok', items: 2 }]);
    const resumed = await runResync(datasync, continuations[0]!.request, options);
    expect(resumed.plugins.map((plugin) => [plugin.plugin, plugin.status, plugin.items])).toEqual([['a', 'ok', 2], ['b', 'ok', 1]]);
    expect(log).toEqual(['a:resync:start', 'a:resync:end', 'a:resync:start', 'a:resync:end', 'b:resync:start', 'b:resync:end']);
    // Every plugin callback has its one feedback; the wait itself called no plugin and has none.
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.resyncId, record.plugin, record.status])).toEqual([['r-first', 'a', 'ok'], ['r-second', 'a', 'ok'], ['r-second', 'b', 'ok']]);
    expect((await readPluginStates(['a', 'b'], { store })).map((state) => [state.status, state.resyncId])).toEqual([['in-sync', 'r-second'], ['in-sync', 'r-second']]);
  });

  it('the lease of a resync that crashed runs out, and the next resync takes the plugin', async () => {
    const { store, options, continuations, expireLease } = await setup([item('a/1', 1)]);
    const a = recordingPlugin('a', ['config/a']);
    const datasync = createDatasync({ plugins: [a] });
    // What a resync that crashed after its first checkpoint leaves behind: a running lease.
    const crashed = { resyncId: 'r-crashed', token: 'invocation-1', ms: 60_000 };
    await resyncRows(store).takeLease('a', crashed);
    await resyncRows(store).saveCursor('a', {
      resyncId: 'r-crashed', part: 1, startedAt: Date.now(), items: 0, deleted: 0, invalid: 0, phase: 'items', table: 0, segments: [], snapshot: 'r-crashed.1', pages: 0,
    }, crashed);

    expect((await runResync(datasync, request('r-next'), options)).plugins).toMatchObject([{ plugin: 'a', status: 'waiting' }]);
    expect(a.recorded.calls).toEqual([]);
    await expireLease('a');
    expect((await runResync(datasync, continuations[0]!.request, options)).plugins).toMatchObject([{ plugin: 'a', status: 'ok', items: 1 }]);
    expect(await readPluginStates(['a'], { store })).toMatchObject([{ status: 'in-sync', resyncId: 'r-next' }]);
  });

  it('a resync whose lease ran out and was taken over stops, and leaves the row to the resync that took it', async () => {
    const { store, sink, options, expireLease } = await setup([item('a/1', 1), item('a/2', 1)]);
    const first = gate();
    let holdFirstPage = true;
    const a = recordingPlugin('a', ['config/a'], [], { onPage: async () => { if (holdFirstPage) { holdFirstPage = false; await first.wait(); } } });
    const datasync = createDatasync({ plugins: [a] });

    const stalled = runResync(datasync, request('r-stalled'), options);
    await first.opened;
    await expireLease('a');
    expect((await runResync(datasync, request('r-takeover'), options)).plugins).toMatchObject([{ plugin: 'a', status: 'ok', items: 2 }]);
    first.open();

    const [stopped] = (await stalled).plugins;
    expect(stopped).toMatchObject({ plugin: 'a', status: 'error' });
    expect(stopped!.error?.cause).toBeInstanceOf(ResyncBusyError);
    expect(stopped!.error?.message).toContain('resync r-stalled lost plugin "a": another resync took its lease over');
    // The stalled resync reported its failure but did not mark the plugin out of sync.
    expect(await readPluginStates(['a'], { store })).toMatchObject([{ status: 'in-sync', resyncId: 'r-takeover', items: 2 }]);
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.resyncId, record.status, record.error?.code])).toEqual([['r-takeover', 'ok', undefined], ['r-stalled', 'error', 'PLUGIN_FAILED']]);
  });

  it('a resync part that continues keeps the plugin for its continuation; a copy of it running at the same time waits', async () => {
    const { options, continuations } = await setup([item('a/1', 1), item('a/2', 1), item('a/3', 1)]);
    const first = gate();
    let holdFirstPage = true;
    const a = recordingPlugin('a', ['config/a'], [], { onPage: async () => { if (holdFirstPage) { holdFirstPage = false; await first.wait(); } } });
    const datasync = createDatasync({ plugins: [a] });
    // Less time left than the margin: the part ends after its first page and continues in a new
    // invocation (the plugin still has 5 s for that page).
    const short = { ...options, remainingTimeMs: () => 15_000, marginMs: 20_000 };

    const running = runResync(datasync, request('r-parts'), short);
    await first.opened;
    // The same request delivered twice: the copy does not run beside the first, and leaves the
    // run to it (no continuation of its own).
    expect(await runResync(datasync, request('r-parts'), options)).toMatchObject({ continued: false, plugins: [{ plugin: 'a', status: 'waiting' }] });
    first.open();
    expect(await running).toMatchObject({ continued: true, plugins: [{ plugin: 'a', status: 'continued', items: 1 }] });

    // Between the parts another resync still waits; the continuation takes the plugin back.
    expect((await runResync(datasync, request('r-other'), options)).plugins).toMatchObject([{ plugin: 'a', status: 'waiting' }]);
    const resumed = await runResync(datasync, { datasync: 'resync', resyncId: 'r-parts', reason: 'continuation' }, options);
    expect(resumed.plugins).toMatchObject([{ plugin: 'a', status: 'ok', items: 3 }]);
    expect(a.recorded.contexts.map((context) => [context.resyncId, context.part])).toEqual([['r-parts', 1], ['r-parts', 2]]);
    expect(continuations.map(({ request: next, delaySeconds }) => [next.resyncId, delaySeconds])).toEqual([['r-parts', undefined], ['r-other', 60]]);
    // A continuation that comes again after the resync ended does nothing.
    expect(await runResync(datasync, { datasync: 'resync', resyncId: 'r-parts', reason: 'continuation' }, options)).toMatchObject({ continued: false, plugins: [] });
    expect(a.recorded.contexts).toHaveLength(2);
  });

  it('refuses a lease shorter than the resync time limit, before anything runs', async () => {
    const { options } = await setup([item('a/1', 1)]);
    const a = recordingPlugin('a', ['config/a']);
    await expect(runResync(createDatasync({ plugins: [a] }), request('r-short'), { ...options, timeoutMs: 5_000, leaseMs: 5_000 }))
      .rejects.toMatchObject({ code: 'CONFIGURATION', message: expect.stringContaining('leaseMs (5000) must be longer than') });
    expect(a.recorded.calls).toEqual([]);
  });
});
