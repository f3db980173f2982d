import { createDatasync, DatasyncError, type Change, type PluginCallbacks } from '../../lib/index.ts';
import { event, put } from '../support/changes.ts';

function recorder(): PluginCallbacks & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    change: (changes: readonly Change[]) => void seen.push(...changes.map((c) => c.key)),
    resync: () => {},
  };
}

describe('plugin registry and watch API', () => {
  it('keeps registration order and exposes it as the resync order', () => {
    const datasync = createDatasync();
    datasync.watch('interfaces', recorder(), 'config/interfaces');
    datasync.watch('routes', recorder(), 'config/routes');
    datasync.watch('acls', recorder(), 'config/acls');
    expect(datasync.plugins().map((p) => p.name)).toEqual(['interfaces', 'routes', 'acls']);
  });

  it('rejects a duplicate name with a typed error', () => {
    const datasync = createDatasync();
    datasync.watch('interfaces', recorder(), 'config');
    expect(() => datasync.watch('interfaces', recorder(), 'other')).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_PLUGIN' }),
    );
    expect(() => datasync.watch('interfaces', recorder(), 'other')).toThrow(DatasyncError);
  });

  it('rejects bad prefixes and missing callbacks', () => {
    const datasync = createDatasync();
    expect(() => datasync.watch('p', recorder(), 'config/')).toThrow(
      expect.objectContaining({ code: 'INVALID_PREFIX' }),
    );
    expect(() => datasync.watch('q', { change: () => {} } as never, 'config')).toThrow(
      /needs change and resync callbacks/,
    );
    expect(() => datasync.watch('', recorder(), 'config')).toThrow(/non-empty name/);
    expect(datasync.plugins()).toEqual([]);
  });

  it('delivers a change once to a plugin whose own prefixes overlap', async () => {
    const datasync = createDatasync();
    const plugin = recorder();
    datasync.watch('all', plugin, 'config', 'config/interfaces', 'config/interfaces');
    await datasync.dispatch(event([put('config/interfaces/eth0', 1, 1)]));
    expect(plugin.seen).toEqual(['config/interfaces/eth0']);
  });

  it('delivers a change to every plugin whose prefixes match, and only those', async () => {
    const datasync = createDatasync();
    const broad = recorder();
    const narrow = recorder();
    const other = recorder();
    datasync.watch('broad', broad, 'config');
    datasync.watch('narrow', narrow, 'config/interfaces');
    datasync.watch('other', other, 'config/if');
    const outcomes = await datasync.dispatch(event([put('config/interfaces/eth0', 1), put('config/routes/r1', 2)]));
    expect(broad.seen).toEqual(['config/interfaces/eth0', 'config/routes/r1']);
    expect(narrow.seen).toEqual(['config/interfaces/eth0']);
    expect(other.seen).toEqual([]);
    expect(outcomes.map((o) => o.feedback.plugin)).toEqual(['broad', 'narrow']);
  });

  it('register and unregister change what a live registration receives', async () => {
    const datasync = createDatasync();
    const plugin = recorder();
    const registration = datasync.watch('p', plugin, 'a');
    registration.register('b');
    registration.register('b');
    expect(registration.prefixes).toEqual(['a', 'b']);
    await datasync.dispatch(event([put('a/1', 1), put('b/1', 1)]));
    registration.unregister('a');
    await datasync.dispatch(event([put('a/2', 1), put('b/2', 1)]));
    expect(plugin.seen).toEqual(['a/1', 'b/1', 'b/2']);
  });

  it('close stops delivery, frees the name and refuses further changes to the registration', async () => {
    const datasync = createDatasync();
    const plugin = recorder();
    const registration = datasync.watch('p', plugin, 'a');
    registration.close();
    registration.close();
    expect(registration.closed).toBe(true);
    expect(await datasync.dispatch(event([put('a/1', 1)]))).toEqual([]);
    expect(plugin.seen).toEqual([]);
    expect(() => registration.register('b')).toThrow(expect.objectContaining({ code: 'PLUGIN_CLOSED' }));
    expect(() => datasync.watch('p', recorder(), 'a')).not.toThrow();
  });

  it('closing one plugin leaves the others and their order intact', () => {
    const datasync = createDatasync();
    datasync.watch('a', recorder(), 'x');
    const b = datasync.watch('b', recorder(), 'x');
    datasync.watch('c', recorder(), 'x');
    b.close();
    expect(datasync.plugins().map((p) => p.name)).toEqual(['a', 'c']);
  });

  it('registers plugin objects given at creation, in order', () => {
    const make = (name: string) => ({ name, prefixes: ['config'], ...recorder() });
    const datasync = createDatasync({ plugins: [make('one'), make('two')] });
    expect(datasync.plugins().map((p) => p.name)).toEqual(['one', 'two']);
    expect(() => createDatasync({ plugins: [make('one'), make('one')] })).toThrow(/already registered/);
  });
});
