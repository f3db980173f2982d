import { formatTable, progressBar } from '../../lib/cli/render.ts';

describe('terminal rendering', () => {
  it('aligns table columns, numbers to the right', () => {
    expect(
      formatTable(
        ['plugin', 'ok'],
        [
          ['interfaces', 12],
          ['routes', 3],
        ],
      ),
    ).toBe(['plugin      ok', '──────────  ──', 'interfaces  12', 'routes       3'].join('\n'));
  });

  it('draws a bar proportional to progress, clamped, and empty while the total is unknown', () => {
    expect(progressBar(5, 10, 10)).toBe('[#####-----]');
    expect(progressBar(15, 10, 4)).toBe('[####]');
    expect(progressBar(7, undefined, 3)).toBe('[---]');
  });
});
