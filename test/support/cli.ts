import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** What one run of the CLI did. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `datasync` CLI (bin/datasync.ts on Node 24) as a child process, with the target
 * and queue variables of the test's own environment cleared unless given in `env`.
 */
export function runDatasync(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      resolve(root, 'node_modules/.bin/node'),
      [resolve(root, 'bin/datasync.ts'), ...args],
      {
        cwd: root,
        env: {
          ...process.env,
          DATASYNC_TABLES: '',
          DATASYNC_TABLE: '',
          DATASYNC_CHANGES_QUEUE_URL: '',
          DATASYNC_BUS: '',
          DATASYNC_STATE_TABLE: '',
          DATASYNC_RESYNC_QUEUE_URL: '',
          DATASYNC_FEEDBACK_QUEUE_URL: '',
          ...env,
        },
      },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
