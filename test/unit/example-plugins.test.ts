import { createExamplePlugins } from '../../examples/plugins/index.ts';
import { createDatasync, type Snapshot, type SnapshotEntry } from '../../lib/index.ts';
import { del, event, put } from '../support/changes.ts';

function snapshot<V>(prefix: string, entries: SnapshotEntry<V>[]): Snapshot<V> {
  return {
    resyncId: 'r-1',
    prefixes: [prefix],
    pages: async function* pages() {
      yield entries;
    },
  };
}

describe('example plugins', () => {
  it('keep an in-memory view, log a line per change, and notice routes through unknown interfaces', async () => {
    const lines: string[] = [];
    const [interfaces, routes] = createExamplePlugins((line) => lines.push(line));
    const datasync = createDatasync({ plugins: [interfaces, routes] });
    expect(datasync.plugins().map((plugin) => plugin.name)).toEqual(['interfaces', 'routes']);

    await interfaces.resync(
      snapshot('config/interfaces', [{ op: 'put', key: 'config/interfaces/eth0', value: { mtu: 1500 } }]),
      { plugin: 'interfaces', resyncId: 'r-1', signal: new AbortController().signal },
    );
    const outcomes = await datasync.dispatch(
      event([
        put('config/interfaces/eth1', { mtu: 9000 }, 1),
        put('config/routes/default', { interface: 'eth0' }, 1),
        put('config/routes/lab', { interface: 'eth7' }, 1),
      ]),
    );
    expect(outcomes.map((outcome) => outcome.feedback.status)).toEqual(['ok', 'ok']);
    expect(routes.unresolved()).toEqual(['lab']);
    await datasync.dispatch(event([del('config/interfaces/eth0', 2)]));
    expect(interfaces.names()).toEqual(['eth1']);
    expect(routes.get('default')).toEqual({ interface: 'eth0' });
    expect(routes.unresolved().sort()).toEqual(['default', 'lab']);
    expect(lines).toEqual([
      'interfaces: put eth0',
      'interfaces: put eth1',
      'routes: put default',
      'routes: put lab (interface eth7 unknown)',
      'interfaces: delete eth0',
    ]);
  });
});
