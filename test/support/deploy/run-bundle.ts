// Runs a packaged function bundle as Lambda would: a fresh Node process whose environment holds
// only what the test gives it (no profile, no ~/.aws), one invocation, and what came back or was
// thrown, with the error's chain of causes.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipFile, type PackagedService } from './packaged-service.ts';

const PROBE = `
const [bundle, event, name] = process.argv.slice(1);
const { handler } = await import(bundle);
try {
  const response = await handler(JSON.parse(event), { getRemainingTimeInMillis: () => 30000, functionName: name, awsRequestId: 'probe' });
  console.log(JSON.stringify({ response }));
} catch (error) {
  const causes = [];
  for (let cause = error.cause; cause; cause = cause.cause) causes.push(cause.message);
  console.log(JSON.stringify({ thrown: { name: error.name, code: error.code, message: error.message, causes } }));
}
`;

/** What one invocation returned, or the error it threw. */
export interface InvocationResult<T = unknown> {
  readonly response?: T;
  readonly thrown?: { name: string; code?: string; message: string; causes: string[] };
}

/** Writes the bundle of function `name` (as in serverless.yml) from its zip into `dir`; returns its path. */
export function extractBundle(service: PackagedService, name: string, dir: string, entry: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, zipFile(join(service.dir, `${name}.zip`), `${entry}.mjs`));
  return path;
}

/** Invokes the bundle's handler once with `event`; `env` is the whole environment besides PATH and HOME. */
export async function invokeBundle<T = unknown>(
  bundle: string,
  event: unknown,
  env: Record<string, string | undefined>,
  home: string,
): Promise<InvocationResult<T>> {
  return (await invokeBundleWithOutput<T>(bundle, event, env, home)).result;
}

/** {@link invokeBundle}, with the lines the function wrote to standard output (its logs and metrics). */
export function invokeBundleWithOutput<T = unknown>(
  bundle: string,
  event: unknown,
  env: Record<string, string | undefined>,
  home: string,
): Promise<{ result: InvocationResult<T>; output: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', PROBE, bundle, JSON.stringify(event), 'probe'],
      {
        env: { PATH: process.env.PATH, HOME: home, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        // A bundle that hangs is killed rather than left running after the test gives up.
        timeout: 45_000,
        killSignal: 'SIGKILL',
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      const output = stdout.trim().split('\n');
      const last = output.pop();
      if (status !== 0 || !last) reject(new Error(`the bundle exited with ${status ?? child.signalCode}: ${stderr}`));
      else resolve({ result: JSON.parse(last) as InvocationResult<T>, output });
    });
  });
}
