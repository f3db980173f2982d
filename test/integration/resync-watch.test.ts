import { afterAll, describe, expect, test } from '@jest/globals';
import {
  createDatasync,
  listPluginStates,
  ResyncTimeoutError,
  runResync,
  SyncStateStore,
  watchResync,
  type TableConfig,
} from '../../lib/index.ts';
import { recordingPlugin } from '../support/plugins.ts';
import { createStateTable, createTable, putItems, Resources, testClients } from '../support/emulator.ts';
import { MemorySink } from '../support/sinks.ts';

const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());

async function setup() {
  const [stateTable, { name: itemTable }] = await Promise.all([
    createStateTable(resources),
    createTable(resources, { stream: false }),
  ]);
  await putItems(
    clients,
    itemTable,
    Array.from({ length: 3 }, (_, index) => ({ pk: { S: `k/${index}` } })),
  );
  const table: TableConfig = { name: itemTable, prefix: 'config', keyAttributes: ['pk'] };
  const store = new SyncStateStore({ stateTable, clients });
  return { store, options: { store, sink: new MemorySink(), tables: [table], clients } };
}

describe('following a resync and listing plugins in the state table', () => {
  test('a run that began and ended between two reads is found by its id, with every plugin it covered', async () => {
    const { store, options } = await setup();
    const datasync = createDatasync({
      plugins: [
        recordingPlugin('zeta', ['config/k']),
        recordingPlugin('alpha', ['config/k']),
        recordingPlugin('other', ['config/x']),
      ],
    });
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: 'earlier', reason: 'manual', plugins: ['other'] },
      options,
    );
    await runResync(
      datasync,
      { datasync: 'resync', resyncId: 'done-1', reason: 'manual', plugins: ['zeta', 'alpha'] },
      options,
    );

    // No plugins given and the run row already removed: a scan finds the run's plugins.
    const view = await watchResync({ store, resyncId: 'done-1', timeoutMs: 5_000, intervalMs: 50 });
    expect(view).toMatchObject({ resyncId: 'done-1', started: true, done: true });
    expect(view.plugins).toEqual([
      { plugin: 'alpha', phase: 'ok', items: 3, deleted: 0 },
      { plugin: 'zeta', phase: 'ok', items: 3, deleted: 0 },
    ]);

    expect((await listPluginStates({ store })).map((state) => [state.plugin, state.resyncId])).toEqual([
      ['alpha', 'done-1'],
      ['other', 'earlier'],
      ['zeta', 'done-1'],
    ]);
    expect((await listPluginStates({ store, resyncId: 'earlier' })).map((state) => state.plugin)).toEqual(['other']);
  });

  test('a wait for a run that never begins ends in a timeout error, never in success', async () => {
    const { store } = await setup();
    const updates: boolean[] = [];
    const waiting = watchResync({
      store,
      resyncId: 'never',
      plugins: ['alpha'],
      timeoutMs: 300,
      intervalMs: 50,
      onUpdate: (view) => updates.push(view.done),
    });
    await expect(waiting).rejects.toBeInstanceOf(ResyncTimeoutError);
    await expect(waiting).rejects.toMatchObject({
      code: 'RESYNC_TIMEOUT',
      view: { started: false, done: false, plugins: [{ plugin: 'alpha', phase: 'waiting', items: 0, deleted: 0 }] },
    });
    expect(updates.length).toBeGreaterThan(1);
    expect(updates.every((done) => !done)).toBe(true);
  });
});
