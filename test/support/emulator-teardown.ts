// Stops the emulator the global set-up started (one it found running is left alone).
export default async function tearDownEmulator(): Promise<void> {
  const running = globalThis.datasyncEmulator;
  if (!running) return;
  globalThis.datasyncEmulator = undefined;
  clearInterval(running.watchdog);
  await running.emulator.stop();
}
