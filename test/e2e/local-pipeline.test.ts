import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startLocalService, type RunningService } from '../../infra/local/local-service.ts';
import { runScenario, SOURCES, type ScenarioReport } from '../../examples/demo/scenario.ts';

// The main job end to end: the local runner with the real handlers and the example plugins,
// 1,000 changes across every source, against the emulator.
describe('local pipeline', () => {
  let service: RunningService;
  let report: ScenarioReport;
  const stage = `e2e${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    service = await startLocalService({ stage, httpPort: 0 });
    const app = await import('../../functions/app.ts');
    app.setPluginLog(() => {});
    report = await runScenario(service, {
      changes: 1_000,
      say: () => {},
      plugins: app.plugins,
      watchProgress: (listener) => app.resyncProgress.subscribe(listener),
      timeoutMs: 300_000,
    });
  }, 600_000);

  afterAll(async () => {
    await service?.stop();
  });

  it('publishes through every source and every change reaches every plugin watching it', () => {
    expect(report.published.length).toBeGreaterThan(900);
    expect(new Set(report.published.map((change) => change.source))).toEqual(new Set(SOURCES));
    expect(report.missing).toEqual([]);
    for (const source of report.sources) expect(source.accounted).toBe(source.published);
  });

  it('leaves each plugin with a view equal to the table', () => {
    expect(report.views.map((view) => view.plugin)).toEqual(['interfaces', 'routes']);
    for (const view of report.views) {
      expect(view.differing).toEqual([]);
      expect(view.keys).toBeGreaterThan(0);
    }
  });

  it('resyncs in registration order, at start and when asked over HTTP', () => {
    expect(report.resyncs.map((run) => run.plugins.map((p) => `${p.plugin}:${p.status}`))).toEqual([
      ['interfaces:ok', 'routes:ok'],
      ['interfaces:ok', 'routes:ok'],
    ]);
  });

  it('refuses bad input with a reason and dead-letters it', () => {
    expect(report.rejected).toHaveLength(4);
    for (const rejection of report.rejected) {
      expect(rejection.deadLettered).toBe(true);
      expect(rejection.reason.length).toBeGreaterThan(10);
    }
    expect(report.rejected.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/not JSON/),
        expect.stringMatching(/__proto__/),
        expect.stringMatching(/"upsert"/),
        expect.stringMatching(/event detail-type/),
      ]),
    );
  });

  it('stops cleanly: pollers end and the HTTP API closes', async () => {
    const url = service.runner.httpUrl!;
    await service.runner.stop();
    await expect(fetch(`${url}/resync`, { method: 'POST' })).rejects.toThrow();
  });
});

describe('npm start --once', () => {
  it('runs the demo to a summary and exits 0, leaving no process behind', async () => {
    const child = spawn(
      'node',
      ['bin/local.ts', '--once', '--changes', '15', '--stage', `once${randomBytes(3).toString('hex')}`, '--port', '0'],
      {
        env: { ...process.env, PATH: `${process.cwd()}/node_modules/.bin:${process.env.PATH}` },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, tail: output.split('\n').slice(-6) }).toMatchObject({ code: 0 });
    expect(output).toContain('Summary');
    expect(output).toContain('every view equals the table');
    // Nothing of the child's process group is left running.
    expect(() => process.kill(-child.pid!, 0)).toThrow();
  }, 300_000);
});
