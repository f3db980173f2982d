import { logResyncProgress, type ResyncProgress } from '../../lib/index.ts';

const step = (phase: ResyncProgress['phase'], items: number, plugin = 'interfaces'): ResyncProgress => ({
  resyncId: 'r1',
  plugin,
  phase,
  part: 1,
  items,
  deleted: 0,
});

describe('resync progress in the logs', () => {
  it('logs start, checkpoints and end, a page line only every so many items, and a failure as an error', () => {
    const lines: Array<[string, string, number]> = [];
    const logger = {
      debug: () => {},
      info: (message: string, attributes: { items: number }) => void lines.push(['info', message, attributes.items]),
      warn: () => {},
      error: (message: string, attributes: { items: number }) => void lines.push(['error', message, attributes.items]),
    };
    const log = logResyncProgress(logger as never, 1_000);
    for (const progress of [
      step('started', 0),
      step('page', 400),
      step('page', 999),
      step('page', 1_000),
      step('page', 1_600),
      step('checkpoint', 1_700),
      step('page', 2_200),
      step('page', 2_700),
      step('finished', 2_900),
      step('started', 0, 'routes'),
      step('failed', 10, 'routes'),
    ]) {
      log(progress);
    }
    expect(lines).toEqual([
      ['info', 'resync started', 0],
      ['info', 'resync page', 1_000],
      ['info', 'resync checkpoint', 1_700],
      ['info', 'resync page', 2_700],
      ['info', 'resync finished', 2_900],
      ['info', 'resync started', 0],
      ['error', 'resync failed', 10],
    ]);
  });
});
