import { describe, expect, it } from '@jest/globals';
import { progressDrawer, progressLine } from '../../lib/cli/state-output.ts';
import { viewOf, type ResyncView } from '../../lib/resync/watch.ts';
import type { PluginState } from '../../lib/state/status.ts';

const base: PluginState = { plugin: 'p', status: 'never-synced', items: 0, deleted: 0, failures: 0 };

describe('reading a plugin state as its part in a resync', () => {
  it('tells waiting, running, ok and failed apart by the resync id and status', () => {
    expect(viewOf(base, 'r')).toEqual({ plugin: 'p', phase: 'waiting', items: 0, deleted: 0 });
    // An earlier resync's result is not this one's.
    expect(viewOf({ ...base, status: 'in-sync', resyncId: 'old', items: 9 }, 'r').phase).toBe('waiting');
    expect(
      viewOf(
        {
          ...base,
          status: 'resyncing',
          resyncId: 'r',
          progress: { resyncId: 'r', part: 2, phase: 'items', items: 4, deleted: 1, estimatedItems: 10 },
        },
        'r',
      ),
    ).toEqual({ plugin: 'p', phase: 'running', items: 4, deleted: 1, estimatedItems: 10, part: 2 });
    expect(viewOf({ ...base, status: 'in-sync', resyncId: 'r', items: 7, deleted: 2 }, 'r')).toEqual({
      plugin: 'p',
      phase: 'ok',
      items: 7,
      deleted: 2,
    });
    const error = { name: 'PluginFailedError', code: 'PLUGIN_FAILED', message: 'x' };
    expect(
      viewOf(
        {
          ...base,
          status: 'out-of-sync',
          resyncId: 'r',
          lastError: error,
          progress: { resyncId: 'r', part: 1, phase: 'items', items: 3, deleted: 0 },
        },
        'r',
      ),
    ).toEqual({ plugin: 'p', phase: 'failed', items: 3, deleted: 0, error });
  });
});

describe('progress output', () => {
  it('fills the bar by items against the estimate, and fully once ended', () => {
    expect(progressLine({ plugin: 'p', phase: 'running', items: 5, deleted: 0, estimatedItems: 10 }, 3)).toBe(
      `p    [${'#'.repeat(12)}${'-'.repeat(12)}]  resyncing: 5 of ~10 items`,
    );
    // More items than DynamoDB estimated: a full bar, and the count is not shown above the total.
    expect(progressLine({ plugin: 'p', phase: 'running', items: 12, deleted: 0, estimatedItems: 10, part: 2 }, 1)).toBe(
      `p  [${'#'.repeat(24)}]  resyncing: 12 of ~12 items (part 2)`,
    );
    expect(progressLine({ plugin: 'p', phase: 'running', items: 3, deleted: 0 }, 1)).toBe(
      `p  [${'-'.repeat(24)}]  resyncing: 3 items`,
    );
    expect(
      progressLine(
        {
          plugin: 'p',
          phase: 'failed',
          items: 3,
          deleted: 0,
          error: { name: 'E', code: 'PLUGIN_TIMEOUT', message: 'slow' },
        },
        1,
      ),
    ).toMatch(/failed after 3 items: PLUGIN_TIMEOUT: slow$/);
  });

  const view = (items: number): ResyncView => ({
    resyncId: 'r',
    started: true,
    done: false,
    plugins: [
      { plugin: 'a', phase: 'running', items, deleted: 0 },
      { plugin: 'b', phase: 'waiting', items: 0, deleted: 0 },
    ],
  });

  it('prints a line only when it changes when stdout is not a terminal', () => {
    const out: string[] = [];
    const draw = progressDrawer((line) => out.push(line), false);
    draw({ resyncId: 'r', started: false, done: false, plugins: [] });
    draw(view(1));
    draw(view(1));
    draw(view(2));
    expect(out).toEqual([
      'resync r: waiting for the resync function to begin',
      expect.stringMatching(/^a .*resyncing: 1 items$/),
      expect.stringMatching(/^b .*waiting$/),
      expect.stringMatching(/^a .*resyncing: 2 items$/),
    ]);
    expect(out.join('')).not.toContain('\x1b');
  });

  it('redraws the block in place on a terminal', () => {
    const out: string[] = [];
    const draw = progressDrawer((line) => out.push(line), true);
    draw({ resyncId: 'r', started: false, done: false, plugins: [] });
    draw(view(1));
    draw(view(2));
    expect(out).toHaveLength(5);
    expect(out[0]).toBe('\r\x1b[2Kresync r: waiting for the resync function to begin');
    // The one-line block is replaced by the two plugin lines, which are then redrawn over themselves.
    expect(out[1]).toMatch(/^\x1b\[1A\r\x1b\[2Ka .*resyncing: 1 items$/);
    expect(out[2]).toMatch(/^\r\x1b\[2Kb .*waiting$/);
    expect(out[3]).toMatch(/^\x1b\[2A\r\x1b\[2Ka .*resyncing: 2 items$/);
  });
});
