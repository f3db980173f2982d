import {
  createDatasync,
  FEEDBACK_VERSION,
  MemoryLedger,
  PluginFailedError,
  PluginTimeoutError,
  type Change,
} from '../../lib/index.ts';
import { del, event, put } from '../support/changes.ts';

const noResync = () => {};

describe('dispatcher', () => {
  it('gives each plugin one ok feedback with the changes it covered', async () => {
    const datasync = createDatasync();
    datasync.watch('p', { change: () => {}, resync: noResync }, 'config');
    const [outcome] = await datasync.dispatch(event([put('config/a', { v: 1 }, 3), del('config/b', 9)], 'corr-1'));
    expect(outcome?.error).toBeUndefined();
    expect(outcome?.feedback).toEqual({
      version: FEEDBACK_VERSION,
      event: 'change',
      plugin: 'p',
      status: 'ok',
      source: { type: 'local', name: 'test' },
      changes: [
        { key: 'config/a', op: 'put', revision: '3' },
        { key: 'config/b', op: 'delete', revision: '9' },
      ],
      correlationId: 'corr-1',
      time: expect.any(String),
      durationMs: expect.any(Number),
    });
  });

  it('reports a throwing plugin as error and still delivers to the others', async () => {
    const datasync = createDatasync();
    const seen: string[] = [];
    datasync.watch(
      'broken',
      {
        change: () => {
          throw new TypeError('bad mtu');
        },
        resync: noResync,
      },
      'config',
    );
    datasync.watch('fine', { change: (c) => void seen.push(...c.map((x) => x.key)), resync: noResync }, 'config');
    const outcomes = await datasync.dispatch(event([put('config/a', 1, 1)]));
    const broken = outcomes.find((o) => o.feedback.plugin === 'broken')!;
    expect(broken.feedback.status).toBe('error');
    expect(broken.error).toBeInstanceOf(PluginFailedError);
    expect(broken.feedback.error).toEqual({
      name: 'PluginFailedError',
      code: 'PLUGIN_FAILED',
      message: 'plugin "broken" failed: bad mtu',
      causes: [{ name: 'TypeError', message: 'bad mtu' }],
    });
    expect(broken.feedback.changes).toEqual([{ key: 'config/a', op: 'put', revision: '1' }]);
    expect(outcomes.find((o) => o.feedback.plugin === 'fine')!.feedback.status).toBe('ok');
    expect(seen).toEqual(['config/a']);
  });

  it('reports a rejection with a non-Error value instead of losing it', async () => {
    const datasync = createDatasync();
    datasync.watch('p', { change: () => Promise.reject({ reason: 'nope' }), resync: noResync }, 'k');
    const [outcome] = await datasync.dispatch(event([put('k/1', 1)]));
    expect(outcome?.feedback.status).toBe('error');
    expect(outcome?.feedback.error?.causes).toEqual([{ name: 'NonError', message: '{"reason":"nope"}' }]);
  });

  it('reports a plugin that hangs past its timeout as timeout, aborts its signal, and does not wait for it', async () => {
    const datasync = createDatasync();
    let signal: AbortSignal | undefined;
    datasync.watch(
      'hangs',
      {
        change: (_c, ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
        resync: noResync,
        timeoutMs: 50,
      },
      'k',
    );
    datasync.watch('quick', { change: () => {}, resync: noResync }, 'k');
    const started = Date.now();
    const outcomes = await datasync.dispatch(event([put('k/1', 1, 1)]));
    expect(Date.now() - started).toBeLessThan(2_000);
    const hangs = outcomes.find((o) => o.feedback.plugin === 'hangs')!;
    expect(hangs.feedback.status).toBe('timeout');
    expect(hangs.error).toBeInstanceOf(PluginTimeoutError);
    expect(hangs.feedback.error?.code).toBe('PLUGIN_TIMEOUT');
    expect(signal?.aborted).toBe(true);
    expect(outcomes.find((o) => o.feedback.plugin === 'quick')!.feedback.status).toBe('ok');
  });

  it('never gives a plugin more than the remaining invocation time', async () => {
    const datasync = createDatasync({ defaultTimeoutMs: 60_000 });
    datasync.watch(
      'slow',
      {
        change: (_c, ctx) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 5_000);
            ctx.signal.addEventListener('abort', () => clearTimeout(timer));
          }),
        resync: noResync,
      },
      'k',
    );
    const [outcome] = await datasync.dispatch(event([put('k/1', 1)]), { remainingTimeMs: () => 30 });
    expect(outcome?.feedback.status).toBe('timeout');
  });

  it('runs plugins concurrently', async () => {
    const datasync = createDatasync();
    // Counted, not timed: how many plugins are inside change() at once.
    let running = 0;
    let mostAtOnce = 0;
    const slow = {
      change: async () => {
        mostAtOnce = Math.max(mostAtOnce, ++running);
        await new Promise<void>((resolve) => setTimeout(resolve, 50));
        running -= 1;
      },
      resync: noResync,
    };
    for (const name of ['a', 'b', 'c', 'd', 'e']) datasync.watch(name, slow, 'k');
    await datasync.dispatch(event([put('k/1', 1)]));
    expect(mostAtOnce).toBe(5);
  });

  it('delivers each key in revision order, keeping other keys in place', async () => {
    const datasync = createDatasync();
    let received: readonly Change[] = [];
    datasync.watch(
      'p',
      {
        change: (c) => {
          received = c;
        },
        resync: noResync,
      },
      'k',
    );
    await datasync.dispatch(
      event([put('k/a', 'a3', 3), put('k/b', 'b1', 1), put('k/a', 'a1', 1), put('k/a', 'a2', 2)]),
    );
    expect(received.map((c) => `${c.key}@${c.revision}`)).toEqual(['k/a@1', 'k/b@1', 'k/a@2', 'k/a@3']);
  });

  it('does not apply a change at or below the revision the plugin holds, and reports it skipped', async () => {
    const ledger = new MemoryLedger();
    const datasync = createDatasync({ ledger });
    const applied: string[] = [];
    datasync.watch(
      'p',
      { change: (c) => void applied.push(...c.map((x) => `${x.key}@${x.revision}`)), resync: noResync },
      'k',
    );
    await datasync.dispatch(event([put('k/a', 1, '1100000000017454423010')]));
    const [outcome] = await datasync.dispatch(
      event([
        put('k/a', 0, '1100000000017454423009'), // late, older
        put('k/a', 1, '1100000000017454423010'), // duplicate
        put('k/a', 2, '1100000000017454423011'), // newer
      ]),
    );
    expect(applied).toEqual(['k/a@1100000000017454423010', 'k/a@1100000000017454423011']);
    expect(outcome?.feedback.skipped?.map((c) => c.revision)).toEqual([
      '1100000000017454423009',
      '1100000000017454423010',
    ]);
    expect(ledger.revision('p', 'k/a')).toBe('1100000000017454423011');
  });

  it('does not record revisions of a failed delivery, so a retry applies them', async () => {
    const datasync = createDatasync();
    let fail = true;
    const applied: string[] = [];
    datasync.watch(
      'p',
      {
        change: (c) => {
          if (fail) throw new Error('down');
          applied.push(...c.map((x) => x.revision!));
        },
        resync: noResync,
      },
      'k',
    );
    await datasync.dispatch(event([put('k/a', 1, 5)]));
    fail = false;
    await datasync.dispatch(event([put('k/a', 1, 5)]));
    expect(applied).toEqual(['5']);
  });

  it('applies unrevisioned changes every time, in arrival order', async () => {
    const datasync = createDatasync();
    const applied: unknown[] = [];
    datasync.watch('p', { change: (c) => void applied.push(...c.map((x) => x.value)), resync: noResync }, 'k');
    await datasync.dispatch(event([put('k/a', 'second'), put('k/a', 'first')]));
    await datasync.dispatch(event([put('k/a', 'second')]));
    expect(applied).toEqual(['second', 'first', 'second']);
  });

  it('does not call a plugin whose whole share was already applied, and reports ok with skipped', async () => {
    const datasync = createDatasync();
    let calls = 0;
    datasync.watch(
      'p',
      {
        change: () => {
          calls += 1;
        },
        resync: noResync,
      },
      'k',
    );
    await datasync.dispatch(event([put('k/a', 1, 1)]));
    const [outcome] = await datasync.dispatch(event([put('k/a', 1, 1)]));
    expect(calls).toBe(1);
    expect(outcome?.feedback).toMatchObject({ status: 'ok', changes: [], skipped: [{ key: 'k/a', revision: '1' }] });
  });

  it("reports a ledger failure as the plugin's error with its cause", async () => {
    const datasync = createDatasync({
      ledger: {
        plan: async () => {
          throw new Error('state table unreachable');
        },
        commit: async () => new Map(),
      },
    });
    datasync.watch('p', { change: () => {}, resync: noResync }, 'k');
    const [outcome] = await datasync.dispatch(event([put('k/a', 1, 1)]));
    expect(outcome?.feedback.status).toBe('error');
    expect(outcome?.feedback.error?.message).toBe('state table unreachable');
    expect(outcome?.feedback.changes).toEqual([{ key: 'k/a', op: 'put', revision: '1' }]);
  });
});
