// `datasync local` on this repository's own service, as a new service's `npm start` runs it: the
// real CLI in a child process, on the emulator, with a stage of its own so its tables and queues
// are fresh.
import { randomUUID } from 'node:crypto';
import { runDatasync } from '../support/cli.ts';

jest.setTimeout(120_000);

describe('datasync local --once', () => {
  it('resyncs every plugin and gets every plugin ok feedback for a change through each source', async () => {
    const stage = `chk${randomUUID().slice(0, 6)}`;
    const run = await runDatasync(['local', '--once', '--json', '--stage', stage, '--port', '0'], {
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
    });
    expect(run.stderr).toContain('Resync every plugin');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      ok: boolean;
      resyncs: Array<{ plugin: string; status: string }>;
      changes: Array<{ source: string; key: string; plugin: string; status: string }>;
    };
    expect(report.ok).toBe(true);
    const plugins = report.resyncs.map((row) => row.plugin);
    expect(plugins).toEqual(expect.arrayContaining(['interfaces', 'routes']));
    expect(report.resyncs.every((row) => row.status === 'ok')).toBe(true);
    // Each source carried a change to each plugin under that plugin's prefix.
    for (const source of ['dynamodb', 'sqs', 'sqs-fifo', 'eventbridge', 'http']) {
      expect(report.changes).toContainEqual({
        source,
        key: `config/routes/local-check/${source}`,
        plugin: 'routes',
        status: 'ok',
      });
    }
    expect(report.changes.every((row) => row.status === 'ok')).toBe(true);
  });

  it('exits 2 on an argument it does not take', async () => {
    const run = await runDatasync(['local', '--once', 'extra']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unexpected argument "extra"');
  });
});
