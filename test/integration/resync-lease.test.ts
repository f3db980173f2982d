import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  createDatasync,
  readPluginStates,
  ResyncBusyError,
  runResync,
  SyncStateStore,
  type ResyncFeedback,
  type ResyncOptions,
  type ResyncRequest,
  type TableConfig,
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
    createStateTable(resources),
    createTable(resources, { stream: false }),
    createQueue(resources, { prefix: 'ds-feedback' }),
  ]);
  await putItems(clients, itemTable, items);
  const store = new SyncStateStore({ stateTable, clients });
  const sink = new SqsTestSink(clients, feedbackQueue);
  const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'ver' };
  const continuations: Continuation[] = [];
  const options: ResyncOptions = {
    tables: [table],
    store,
    sink,
    clients,
    pageSize: 1,
    continueResync: async (request, { delaySeconds }) =>
      void continuations.push({ request, ...(delaySeconds ? { delaySeconds } : {}) }),
  };
  /** Lets a plugin's lease run out, as if its holder had stalled past it. */
  const expireLease = (plugin: string) =>
    clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: stateTable,
        Key: rowKey(pluginPartition(plugin), SORT.status),
        UpdateExpression: 'SET leaseUntil = :past',
        ExpressionAttributeValues: { ':past': { N: '0' } },
      }),
    );
  return { store, sink, options, continuations, expireLease };
}

/** A gate a plugin's page waits on: `opened` resolves once the page is reached, `open()` lets it go on. */
function gate() {
  let reached!: () => void;
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    opened,
    open: release,
    wait: () => {
      reached();
      return released;
    },
  };
}

const request = (resyncId: string, plugins?: string[]): ResyncRequest => ({
  datasync: 'resync',
  resyncId,
  reason: 'manual',
  ...(plugins ? { plugins } : {}),
});

describe('resync lease: one resync of a plugin at a time', () => {
  it('a resync of a plugin another resync is running waits, keeps registration order, and runs once the first is done', async () => {
    const { store, sink, options, continuations } = await setup([item('a/1', 1), item('a/2', 1), item('b/1', 1)]);
    const log: string[] = [];
    const first = gate();
    let holdFirstPage = true;
    const a = recordingPlugin('a', ['config/a'], log, {
      onPage: async () => {
        if (holdFirstPage) {
          holdFirstPage = false;
          await first.wait();
        }
      },
    });
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
    expect(continuations).toEqual([
      { request: { datasync: 'resync', resyncId: 'r-second', reason: 'continuation' }, delaySeconds: 60 },
    ]);

    first.open();
    expect((await running).plugins).toMatchObject([{ plugin: 'a', status: 'ok', items: 2 }]);
    const resumed = await runResync(datasync, continuations[0]!.request, options);
    expect(resumed.plugins.map((plugin) => [plugin.plugin, plugin.status, plugin.items])).toEqual([
      ['a', 'ok', 2],
      ['b', 'ok', 1],
    ]);
    expect(log).toEqual([
      'a:resync:start',
      'a:resync:end',
      'a:resync:start',
      'a:resync:end',
      'b:resync:start',
      'b:resync:end',
    ]);
    // Every plugin callback has its one feedback; the wait itself called no plugin and has none.
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.resyncId, record.plugin, record.status])).toEqual([
      ['r-first', 'a', 'ok'],
      ['r-second', 'a', 'ok'],
      ['r-second', 'b', 'ok'],
    ]);
    expect((await readPluginStates(['a', 'b'], { store })).map((state) => [state.status, state.resyncId])).toEqual([
      ['in-sync', 'r-second'],
      ['in-sync', 'r-second'],
    ]);
  });

  it('the lease of a resync that crashed runs out, and the next resync takes the plugin', async () => {
    const { store, options, continuations, expireLease } = await setup([item('a/1', 1)]);
    const a = recordingPlugin('a', ['config/a']);
    const datasync = createDatasync({ plugins: [a] });
    // What a resync that crashed after its first checkpoint leaves behind: a running lease.
    const crashed = { resyncId: 'r-crashed', token: 'invocation-1', ms: 60_000 };
    await resyncRows(store).takeLease('a', crashed);
    await resyncRows(store).saveCursor(
      'a',
      {
        resyncId: 'r-crashed',
        part: 1,
        startedAt: Date.now(),
        items: 0,
        deleted: 0,
        invalid: 0,
        phase: 'items',
        table: 0,
        segments: [],
        snapshot: 'r-crashed.1',
        pages: 0,
      },
      crashed,
    );

    expect((await runResync(datasync, request('r-next'), options)).plugins).toMatchObject([
      { plugin: 'a', status: 'waiting' },
    ]);
    expect(a.recorded.calls).toEqual([]);
    await expireLease('a');
    expect((await runResync(datasync, continuations[0]!.request, options)).plugins).toMatchObject([
      { plugin: 'a', status: 'ok', items: 1 },
    ]);
    expect(await readPluginStates(['a'], { store })).toMatchObject([{ status: 'in-sync', resyncId: 'r-next' }]);
  });

  it('a resync whose lease ran out and was taken over stops, and leaves the row to the resync that took it', async () => {
    const { store, sink, options, expireLease } = await setup([item('a/1', 1), item('a/2', 1)]);
    const first = gate();
    let holdFirstPage = true;
    const a = recordingPlugin('a', ['config/a'], [], {
      onPage: async () => {
        if (holdFirstPage) {
          holdFirstPage = false;
          await first.wait();
        }
      },
    });
    const datasync = createDatasync({ plugins: [a] });

    const stalled = runResync(datasync, request('r-stalled'), options);
    await first.opened;
    await expireLease('a');
    expect((await runResync(datasync, request('r-takeover'), options)).plugins).toMatchObject([
      { plugin: 'a', status: 'ok', items: 2 },
    ]);
    first.open();

    const [stopped] = (await stalled).plugins;
    expect(stopped).toMatchObject({ plugin: 'a', status: 'error' });
    expect(stopped!.error?.cause).toBeInstanceOf(ResyncBusyError);
    expect(stopped!.error?.message).toContain('resync r-stalled lost plugin "a": another resync took its lease over');
    // The stalled resync reported its failure but did not mark the plugin out of sync.
    expect(await readPluginStates(['a'], { store })).toMatchObject([
      { status: 'in-sync', resyncId: 'r-takeover', items: 2 },
    ]);
    const feedback = (await sink.read()) as ResyncFeedback[];
    expect(feedback.map((record) => [record.resyncId, record.status, record.error?.code])).toEqual([
      ['r-takeover', 'ok', undefined],
      ['r-stalled', 'error', 'PLUGIN_FAILED'],
    ]);
  });

  it('a resync part that continues keeps the plugin for its continuation; a copy of it running at the same time waits', async () => {
    const { options, continuations } = await setup([item('a/1', 1), item('a/2', 1), item('a/3', 1)]);
    const first = gate();
    let holdFirstPage = true;
    const a = recordingPlugin('a', ['config/a'], [], {
      onPage: async () => {
        if (holdFirstPage) {
          holdFirstPage = false;
          await first.wait();
        }
      },
    });
    const datasync = createDatasync({ plugins: [a] });
    // Less time left than the margin: the part ends after its first page and continues in a new
    // invocation (the plugin still has 5 s for that page).
    const short = { ...options, remainingTimeMs: () => 15_000, marginMs: 20_000 };

    const running = runResync(datasync, request('r-parts'), short);
    await first.opened;
    // The same request delivered twice: the copy does not run beside the first; it looks again
    // once the first's lease would have run out (10 minutes by default), in case that one crashed.
    expect(await runResync(datasync, request('r-parts'), options)).toMatchObject({
      continued: true,
      plugins: [{ plugin: 'a', status: 'waiting' }],
    });
    const copy = continuations.shift()!;
    expect(copy.request).toEqual({ datasync: 'resync', resyncId: 'r-parts', reason: 'continuation' });
    expect(copy.delaySeconds).toBeGreaterThanOrEqual(595);
    expect(copy.delaySeconds).toBeLessThanOrEqual(601);
    first.open();
    expect(await running).toMatchObject({ continued: true, plugins: [{ plugin: 'a', status: 'continued', items: 1 }] });

    // Between the parts another resync still waits; the continuation takes the plugin back.
    expect((await runResync(datasync, request('r-other'), options)).plugins).toMatchObject([
      { plugin: 'a', status: 'waiting' },
    ]);
    const resumed = await runResync(
      datasync,
      { datasync: 'resync', resyncId: 'r-parts', reason: 'continuation' },
      options,
    );
    expect(resumed.plugins).toMatchObject([{ plugin: 'a', status: 'ok', items: 3 }]);
    expect(a.recorded.contexts.map((context) => [context.resyncId, context.part])).toEqual([
      ['r-parts', 1],
      ['r-parts', 2],
    ]);
    expect(continuations.map(({ request: next, delaySeconds }) => [next.resyncId, delaySeconds])).toEqual([
      ['r-parts', undefined],
      ['r-other', 60],
    ]);
    // A continuation that comes again after the resync ended (such as the copy's) does nothing.
    expect(await runResync(datasync, copy.request, options)).toMatchObject({ continued: false, plugins: [] });
    expect(a.recorded.contexts).toHaveLength(2);
  });

  it('a copy of a resync whose invocation crashed holding a plugin resumes the run once that lease runs out', async () => {
    const { store, sink, options, continuations, expireLease } = await setup([item('a/1', 1), item('b/1', 1)]);
    const log: string[] = [];
    const datasync = createDatasync({
      plugins: [recordingPlugin('a', ['config/a'], log), recordingPlugin('b', ['config/b'], log)],
    });
    // What an invocation of r-crash that died inside plugin a leaves: its run row and a running lease.
    await resyncRows(store).saveRun({
      resyncId: 'r-crash',
      reason: 'manual',
      plugins: ['a', 'b'],
      index: 0,
      startedAt: new Date().toISOString(),
    });
    await resyncRows(store).takeLease('a', { resyncId: 'r-crash', token: 'dead-invocation', ms: 60_000 });

    // The request delivered again: it must not be lost while the lease runs.
    expect(await runResync(datasync, request('r-crash'), options)).toMatchObject({
      continued: true,
      plugins: [{ plugin: 'a', status: 'waiting' }],
    });
    expect(log).toEqual([]);
    expect(continuations).toHaveLength(1);
    expect(continuations[0]!.delaySeconds).toBeGreaterThanOrEqual(55);
    expect(continuations[0]!.delaySeconds).toBeLessThanOrEqual(61);

    await expireLease('a');
    const resumed = await runResync(datasync, continuations[0]!.request, options);
    expect(resumed).toMatchObject({
      continued: false,
      plugins: [
        { plugin: 'a', status: 'ok' },
        { plugin: 'b', status: 'ok' },
      ],
    });
    expect(log).toEqual(['a:resync:start', 'a:resync:end', 'b:resync:start', 'b:resync:end']);
    expect(
      ((await sink.read()) as ResyncFeedback[]).map((record) => [record.resyncId, record.plugin, record.status]),
    ).toEqual([
      ['r-crash', 'a', 'ok'],
      ['r-crash', 'b', 'ok'],
    ]);
    expect(await resyncRows(store).run('r-crash')).toBeUndefined();
  });

  it('a copy that takes a plugin after another invocation of the same resync finished it does not resync it again', async () => {
    const { store, sink, options } = await setup([item('a/1', 1), item('b/1', 1)]);
    const log: string[] = [];
    const inA = gate();
    const inB = gate();
    const datasync = createDatasync({
      plugins: [
        recordingPlugin('a', ['config/a'], log, { onPage: () => inA.wait() }),
        recordingPlugin('b', ['config/b'], log, { onPage: () => inB.wait() }),
      ],
    });
    // The copy's client holds its first lease take until the first invocation has finished plugin
    // a: the copy read the run while a was still to do, and reaches a's lease after it was freed.
    const copyClients = testClients({ maxAttempts: 2 });
    const takeHeld = gate();
    (copyClients.dynamodb.middlewareStack as any).add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: { input: { ConditionExpression?: string } }) => {
          if (
            context.commandName === 'UpdateItemCommand' &&
            args.input.ConditionExpression?.startsWith('attribute_not_exists(#leaseHolder)')
          )
            await takeHeld.wait();
          return next(args);
        },
      { step: 'initialize', name: 'holdLeaseTake' },
    );
    const copyStore = new SyncStateStore({ stateTable: store.tableName, clients: copyClients });

    const running = runResync(datasync, request('r-twice'), options);
    await inA.opened;
    const copy = runResync(datasync, request('r-twice'), { ...options, store: copyStore, clients: copyClients });
    await takeHeld.opened;
    inA.open();
    await inB.opened;
    takeHeld.open();
    // The run had moved past a before a's lease was released: the copy stops, leaving the run to
    // the first invocation (which is still in b).
    expect(await copy).toEqual({ resyncId: 'r-twice', reason: 'manual', plugins: [], continued: false });
    inB.open();
    expect((await running).plugins.map((plugin) => [plugin.plugin, plugin.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ]);
    expect(log).toEqual(['a:resync:start', 'a:resync:end', 'b:resync:start', 'b:resync:end']);
    expect(((await sink.read()) as ResyncFeedback[]).map((record) => [record.plugin, record.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ]);
    expect(await readPluginStates(['a'], { store })).toMatchObject([{ status: 'in-sync', resyncId: 'r-twice' }]);
  });

  it('a resync id is started once: a copy of the request that comes second follows the stored run', async () => {
    const { store, options } = await setup([item('a/1', 1), item('b/1', 1)]);
    const log: string[] = [];
    const datasync = createDatasync({
      plugins: [recordingPlugin('a', ['config/a'], log), recordingPlugin('b', ['config/b'], log)],
    });
    const rows = resyncRows(store);
    const first = {
      resyncId: 'r-once',
      reason: 'manual',
      plugins: ['b'],
      index: 0,
      startedAt: new Date().toISOString(),
    };
    expect(await rows.createRun(first)).toEqual(first);
    // The second start names other plugins; the stored run wins, for createRun and for a resync.
    expect(await rows.createRun({ ...first, plugins: ['a', 'b'] })).toEqual(first);
    expect(
      (await runResync(datasync, request('r-once', ['a', 'b']), options)).plugins.map((plugin) => plugin.plugin),
    ).toEqual(['b']);
    expect(log).toEqual(['b:resync:start', 'b:resync:end']);
  });

  it("refuses a lease shorter than the resync or a plugin's change time limit, before anything runs", async () => {
    const { options } = await setup([item('a/1', 1)]);
    const a = recordingPlugin('a', ['config/a']);
    await expect(
      runResync(createDatasync({ plugins: [a] }), request('r-short'), { ...options, timeoutMs: 5_000, leaseMs: 5_000 }),
    ).rejects.toMatchObject({
      code: 'CONFIGURATION',
      message: expect.stringContaining('leaseMs (5000) must be longer than the resync time limit'),
    });
    // Held changes are applied a page at a time between two renewals, so a change callback's limit counts too.
    const slow = recordingPlugin('slow', ['config/a'], [], { timeoutMs: 20_000 });
    await expect(
      runResync(createDatasync({ plugins: [a, slow] }), request('r-slow'), {
        ...options,
        timeoutMs: 5_000,
        leaseMs: 10_000,
      }),
    ).rejects.toMatchObject({
      code: 'CONFIGURATION',
      message: expect.stringContaining('change time limit of plugin "slow" (20000)'),
    });
    expect(a.recorded.calls).toEqual([]);
    expect(slow.recorded.calls).toEqual([]);
  });
});
