// jest's global set-up for the projects that talk to AWS: use the emulator in AWS_ENDPOINT_URL, or
// one already answering on 127.0.0.1:4566, or start moto_server there. The matching teardown
// (emulator-teardown.ts) stops only what this started. Running one file with `npx jest <file>`
// goes through the same set-up.
import { ensureEmulator, isAnswering, type Emulator } from '../../infra/local/emulator.ts';

declare global {
  // Shared with the teardown: both run in jest's own process.
  var datasyncEmulator: { emulator: Emulator; watchdog: NodeJS.Timeout } | undefined;
}

// An emulator that stops answering turns every remaining test into a timeout; rather than let the
// run crawl on for an hour, stop it and say why.
const CHECK_MS = 20_000;
const MISSES_ALLOWED = 3;

export default async function setUpEmulator(): Promise<void> {
  if (globalThis.datasyncEmulator) return;
  const emulator = await ensureEmulator({ log: (line) => console.log(`\n${line}`) });
  process.env.AWS_ENDPOINT_URL = emulator.endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  let misses = 0;
  let checking = false;
  const watchdog = setInterval(async () => {
    if (checking) return;
    checking = true;
    misses = (await isAnswering(emulator.endpoint, 10_000)) ? 0 : misses + 1;
    checking = false;
    if (misses >= MISSES_ALLOWED) {
      console.error(
        `\nthe emulator at ${emulator.endpoint} stopped answering (${misses} checks in a row); stopping the tests`,
      );
      await emulator.stop();
      process.exit(1);
    }
  }, CHECK_MS);
  watchdog.unref();
  globalThis.datasyncEmulator = { emulator, watchdog };
}
