import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { parseEnvelope, type FeedbackRecord } from '../../lib/index.ts';
import { runDatasync } from '../support/cli.ts';
import { createQueue, createTable, receiveAll, Resources, sendJson, testClients } from '../support/emulator.ts';

// Each run starts Node and loads the SDK, about a second on a small machine.
jest.setTimeout(30_000);
const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());

const datasync = runDatasync;

function feedback(plugin: string, correlationId: string, status: 'ok' | 'error'): FeedbackRecord {
  return {
    version: 1,
    event: 'change',
    plugin,
    status,
    correlationId,
    source: { type: 'sqs', name: 'changes' },
    changes: [{ key: 'config/a', op: 'put', revision: '1', correlationId }],
    ...(status === 'error' ? { error: { name: 'PluginFailedError', code: 'PLUGIN_FAILED', message: 'boom' } } : {}),
    time: '2026-11-26T04:00:00.000Z',
    durationMs: 2,
  };
}

describe('datasync CLI', () => {
  it('prints help, and exits 2 on wrong usage', async () => {
    const help = await datasync(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/put .*\n.*delete|delete[\s\S]*put/);
    const putHelp = await datasync(['put', '--help']);
    expect(putHelp.code).toBe(0);
    expect(putHelp.stdout).toContain('--expected-version');
    // `help <command>` is the same help, generated from the same option table.
    expect(await datasync(['help', 'put'])).toEqual(putHelp);
    expect(putHelp.stdout).toMatch(/--timeout <seconds> +how long to wait \(default 30\)/);
    expect((await datasync(['help', 'frobnicate'])).code).toBe(2);
    const version = await datasync(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `datasync ${require('../../package.json').version}\n` });

    expect((await datasync([])).code).toBe(2);
    expect((await datasync(['frobnicate'])).code).toBe(2);
    const noTarget = await datasync(['put', 'config/a', '{}']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('no target');
    expect((await datasync(['put', 'config/a', '{not json', '--changes-queue-url', 'http://x'])).code).toBe(2);
    expect((await datasync(['put', 'config/../a', '1', '--changes-queue-url', 'http://x', '--json'])).stdout).toContain(
      'INVALID_KEY',
    );
    expect((await datasync(['put', '--bogus'])).code).toBe(2);
    // Options that only mean something with --wait are refused without it, before anything is sent.
    const stray = await datasync(['put', 'config/a', '1', '--changes-queue-url', 'http://x', '--timeout', '5']);
    expect(stray).toMatchObject({ code: 2, stderr: expect.stringContaining('--timeout only applies with --wait') });
  });

  it('prints a failure as its message and code, without an error class name', async () => {
    const q = await createQueue(resources);
    const missing = `${q.url}-missing`;
    const result = await datasync(['delete', 'config/a', '--changes-queue-url', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^datasync delete: /);
    expect(result.stderr).not.toMatch(/\b[A-Z][A-Za-z]*(Error|Exception):/);
  });

  it('puts and deletes through a table, with versions and a conflict exit code', async () => {
    const t = await createTable(resources);
    const env = { DATASYNC_TABLES: JSON.stringify([{ name: t.table.name, prefix: 'config' }]) };

    const put = await datasync(['put', 'config/a', '{"mtu":9000}', '--json'], env);
    expect(put.code).toBe(0);
    const created = JSON.parse(put.stdout) as { ok: boolean; change: { key: string; op: string; version: string } };
    expect(created).toMatchObject({
      ok: true,
      change: { key: 'config/a', op: 'put', version: expect.stringMatching(/^\d+$/) },
    });

    const text = await datasync(
      ['put', 'config/a', '{"mtu":1500}', '--table', t.table.name, '--expected-version', created.change.version],
      env,
    );
    expect(text.code).toBe(0);
    const next = /published put config\/a at version (\d+)/.exec(text.stdout)?.[1];
    expect(BigInt(next ?? '0')).toBeGreaterThan(BigInt(created.change.version));

    const conflict = await datasync(
      ['delete', 'config/a', '--expected-version', created.change.version, '--json'],
      env,
    );
    expect(conflict.code).toBe(1);
    expect(JSON.parse(conflict.stdout).error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { actualVersion: next },
    });
    expect((await t.getItem({ pk: { S: 'a' } }))?.mtu).toEqual({ N: '1500' });
  });

  it('publishes to a queue with a correlation id', async () => {
    const q = await createQueue(resources);
    const result = await datasync(['delete', 'config/b', '--changes-queue-url', q.url, '--correlation-id', 'cli-1']);
    expect(result.code).toBe(0);
    const [message] = await receiveAll(q.url, { clients, count: 1, deadlineMs: 5_000, remove: true });
    expect(parseEnvelope(JSON.parse(message!.Body!))).toMatchObject({
      key: 'config/b',
      op: 'delete',
      correlationId: 'cli-1',
    });
  });

  it('drains the feedback queue as a table or as JSON lines', async () => {
    const q = await createQueue(resources, { prefix: 'feedback' });
    await sendJson(clients, q.url, [feedback('routes', 'c-1', 'ok'), feedback('interfaces', 'c-1', 'error')]);

    const table = await datasync(['feedback', '--once'], { DATASYNC_FEEDBACK_QUEUE_URL: q.url });
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+EVENT\s+PLUGIN\s+STATUS\s+CORRELATION\s+DETAIL$/);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/change\s+interfaces\s+error\s+c-1\s+put config\/a@1 — PLUGIN_FAILED: boom/),
      expect.stringMatching(/change\s+routes\s+ok\s+c-1\s+put config\/a@1$/),
    ]);

    await sendJson(clients, q.url, [feedback('routes', 'c-2', 'ok')]);
    const json = await datasync(['feedback', '--once', '--json', '--feedback-queue-url', q.url]);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([feedback('routes', 'c-2', 'ok')]);
  });

  it('waits for the feedback of a put and fails when a plugin reported an error', async () => {
    const q = await createQueue(resources);
    const fb = await createQueue(resources, { prefix: 'feedback' });
    await sendJson(clients, fb.url, [feedback('routes', 'w-1', 'ok'), feedback('interfaces', 'w-1', 'error')]);

    const result = await datasync([
      'put',
      'config/a',
      '1',
      '--changes-queue-url',
      q.url,
      '--correlation-id',
      'w-1',
      '--wait',
      '--plugin',
      'routes',
      '--plugin',
      'interfaces',
      '--timeout',
      '5',
      '--feedback-queue-url',
      fb.url,
      '--json',
    ]);
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout);
    expect(output.ok).toBe(false);
    expect(output.feedback.map((record: FeedbackRecord) => record.status).sort()).toEqual(['error', 'ok']);

    const timeout = await datasync([
      'put',
      'config/a',
      '1',
      '--changes-queue-url',
      q.url,
      '--wait',
      '--timeout',
      '1',
      '--feedback-queue-url',
      fb.url,
    ]);
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain('FEEDBACK_TIMEOUT');
  });
});
