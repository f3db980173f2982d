// `datasync init` through the real CLI: what it writes and how it refuses.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDatasync } from '../support/cli.ts';

describe('datasync init', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'datasync-cli-init-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the service and lists what it wrote', async () => {
    const run = await runDatasync(['init', join(dir, 'inventory'), '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { ok: boolean; name: string; files: string[] };
    expect(result).toMatchObject({ ok: true, name: 'inventory' });
    expect(result.files).toEqual(expect.arrayContaining(['serverless.yml', 'package.json', 'functions/app.ts']));
    expect(readdirSync(join(dir, 'inventory')).sort()).toEqual(
      [
        '.gitignore',
        'README.md',
        'functions',
        'package.json',
        'plugins',
        'serverless.yml',
        'test',
        'tsconfig.json',
      ].sort(),
    );
  });

  it('exits 2 with the reason for a folder in use or a missing argument', async () => {
    await runDatasync(['init', join(dir, 'a')]);
    const again = await runDatasync(['init', join(dir, 'a')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not empty');
    const missing = await runDatasync(['init']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('give the folder to create the service in');
  });
});
