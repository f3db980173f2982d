// A moto_server of a test's own, for what the shared one on 4566 must not see: a restart that
// loses every resource, or IAM enforcement that would refuse the other tests' calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { emulatorCommand, isAnswering } from '../../infra/local/emulator.ts';

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server on `port` and waits until it answers. */
export async function startPrivateEmulator(port: number): Promise<ChildProcess> {
  const { command, args } = emulatorCommand('127.0.0.1', port);
  const child = spawn(command, args, { stdio: 'ignore' });
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const deadline = Date.now() + 30_000;
  while (!(await isAnswering(`http://127.0.0.1:${port}`, 500))) {
    if (spawnError || child.exitCode !== null || Date.now() > deadline)
      throw new Error(`moto_server did not start on port ${port}`, { cause: spawnError });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return child;
}

/** Stops a server `startPrivateEmulator` started, and waits until it has exited. */
export async function stopPrivateEmulator(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
