// The project's test command: type-check, then every jest project against the emulator, which is
// started here when none is running and stopped afterwards.
import { spawnSync } from 'node:child_process';
import { ensureEmulator } from '../infra/local/emulator.ts';

const jestArgs = process.argv.slice(2);

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const typecheck = run('npx', ['--no-install', 'tsc', '--noEmit', '-p', '.']);
if (typecheck !== 0) {
  console.error('type-check failed');
  process.exit(typecheck);
}

const emulator = await ensureEmulator({ log: (line) => console.log(line) });
let status = 1;
try {
  status = run('npx', ['--no-install', 'jest', ...jestArgs], {
    ...process.env,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  });
} finally {
  await emulator.stop();
}
process.exit(status);
