// The project's test command: type-check, then every jest project against the emulator, which is
// started here when none is running and stopped afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureEmulator, isAnswering } from '../infra/local/emulator.ts';

const jestArgs = process.argv.slice(2);

// Children run asynchronously so this process keeps serving its own event loop (signals, the
// emulator it started) while they work.
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  watch?: (child: ChildProcess) => () => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const unwatch = watch?.(child) ?? (() => {});
    child.once('error', (error) => {
      unwatch();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      unwatch();
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

// An emulator that stops answering turns every remaining test into a timeout; rather than let the
// run crawl on for an hour, stop it and say why.
const EMULATOR_CHECK_MS = 20_000;
const EMULATOR_MISSES_ALLOWED = 3;
function emulatorWatchdog(endpoint: string): (child: ChildProcess) => () => void {
  return (child) => {
    let misses = 0;
    let checking = false;
    const timer = setInterval(async () => {
      if (checking) return;
      checking = true;
      misses = (await isAnswering(endpoint, 10_000)) ? 0 : misses + 1;
      checking = false;
      if (misses >= EMULATOR_MISSES_ALLOWED) {
        console.error(
          `\nthe emulator at ${endpoint} stopped answering (${misses} checks in a row); stopping the tests`,
        );
        child.kill('SIGTERM');
        clearInterval(timer);
      }
    }, EMULATOR_CHECK_MS);
    return () => clearInterval(timer);
  };
}

const typecheck = await run('npx', ['--no-install', 'tsc', '--noEmit', '-p', '.']);
if (typecheck !== 0) {
  console.error('type-check failed');
  process.exit(typecheck);
}
const lint = await run('npx', ['--no-install', 'biome', 'check', '.']);
if (lint !== 0) {
  console.error('formatting or lint check failed (npx biome check --write . fixes what it can)');
  process.exit(lint);
}

const emulator = await ensureEmulator({ log: (line) => console.log(line) });
let status = 1;
try {
  status = await run(
    'npx',
    ['--no-install', 'jest', ...jestArgs],
    {
      ...process.env,
      AWS_ENDPOINT_URL: emulator.endpoint,
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
    emulatorWatchdog(emulator.endpoint),
  );
} finally {
  await emulator.stop();
}
process.exit(status);
