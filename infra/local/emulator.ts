import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The emulator endpoint used when `AWS_ENDPOINT_URL` is not set: LocalStack's usual port. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';

/** A running emulator, and how to stop it if this process started it. */
export interface Emulator {
  readonly endpoint: string;
  /** True when this process started the emulator (and `stop` will end it). */
  readonly started: boolean;
  stop(): Promise<void>;
}

const MOTO_LAUNCHER = new URL('./moto-server.py', import.meta.url).pathname;
let launcher: { command: string; prefix: string[] } | undefined;

/**
 * The command that runs moto on `hostname:port`: moto_server with atomic DynamoDB transactions
 * (moto-server.py, whose comment says what it corrects) when `python3` has moto, and
 * `moto_server` as installed otherwise (e.g. installed by pipx, in a Python of its own).
 */
export function emulatorCommand(hostname: string, port: string | number): { command: string; args: string[] } {
  launcher ??=
    spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0
      ? { command: 'python3', prefix: [MOTO_LAUNCHER] }
      : { command: 'moto_server', prefix: [] };
  return { command: launcher.command, args: [...launcher.prefix, '-H', hostname, '-p', String(port)] };
}

/** Whether anything answers HTTP at `endpoint`. */
export async function isAnswering(endpoint: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Uses the endpoint in `AWS_ENDPOINT_URL` when set; otherwise uses a server already answering on
 * 127.0.0.1:4566, or starts `moto_server` there and waits until it answers.
 * @throws Error saying what is missing when no emulator can be reached or started.
 */
export async function ensureEmulator(
  options: { endpoint?: string; log?: (line: string) => void } = {},
): Promise<Emulator> {
  const configured = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  if (configured) {
    if (!(await isAnswering(configured, 3_000))) {
      throw new Error(`AWS_ENDPOINT_URL is ${configured} but nothing answers there; start the emulator or unset it`);
    }
    return { endpoint: configured, started: false, stop: async () => {} };
  }
  if (await isAnswering(DEFAULT_ENDPOINT)) return { endpoint: DEFAULT_ENDPOINT, started: false, stop: async () => {} };

  const { port, hostname } = new URL(DEFAULT_ENDPOINT);
  // moto logs every request. Its output goes to a file, never to a pipe: a parent that blocks
  // (a synchronous child run, a busy loop) would stop draining the pipe, and once the pipe is
  // full moto stops answering.
  const logPath = join(tmpdir(), `moto-server-${process.pid}.log`);
  const logFd = openSync(logPath, 'w');
  const { command, args } = emulatorCommand(hostname, port);
  const child = spawn(command, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const deadline = Date.now() + 30_000;
  while (!(await isAnswering(DEFAULT_ENDPOINT, 500))) {
    if (spawnError || child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const reason =
        spawnError && (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'moto_server is not installed (pip install "moto[server]"), and AWS_ENDPOINT_URL is not set (point it at LocalStack or another emulator)'
          : `moto_server did not start on ${DEFAULT_ENDPOINT}: ${spawnError?.message ?? lastLines(logPath)}`;
      throw new Error(reason);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  options.log?.(`started moto_server on ${DEFAULT_ENDPOINT} (pid ${child.pid}, log ${logPath})`);
  return {
    endpoint: DEFAULT_ENDPOINT,
    started: true,
    stop: async () => {
      await stopProcess(child);
      rmSync(logPath, { force: true });
    },
  };
}

function lastLines(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch (error) {
    return `no log at ${path} (${(error as Error).message})`;
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
