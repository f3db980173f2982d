// Runs `serverless package` once per set of inputs and shares the output between test files and
// runs: the output directory is keyed on a hash of every file that shapes the package, so a
// second test file (or a second `npm test` with nothing changed) reuses it instead of packaging
// again. Packaging runs with no AWS credentials and no AWS configuration at all, as in CI.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/** The stage and region the CI package is built for. */
export const PACKAGE_STAGE = 'ci';
export const PACKAGE_REGION = 'eu-west-1';
/** The prefix of every name in the packaged stack: service and stage. */
export const NAME_PREFIX = `serverless-datasync-${PACKAGE_STAGE}`;

/** A CloudFormation template as JSON. */
export interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
  readonly Conditions?: Record<string, unknown>;
}

/** One template resource. */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly DependsOn?: string | string[];
}

/** The output of `serverless package`. */
export interface PackagedService {
  /** The directory holding the templates and one zip per function. */
  readonly dir: string;
  /** The template `serverless deploy` creates the stack with (the deployment bucket only). */
  readonly createTemplate: Template;
  /** The template of the whole service. */
  readonly template: Template;
  readonly updateTemplatePath: string;
  /** How long packaging took, or 0 when the output was reused. */
  readonly packagingMs: number;
}

/** The repository root (where serverless.yml is). */
export function repoRoot(): string {
  let dir = process.cwd();
  while (!existsSync(join(dir, 'serverless.yml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no serverless.yml above ${process.cwd()}`);
    dir = parent;
  }
  return dir;
}

const INPUTS = ['serverless.yml', 'package.json', 'package-lock.json', 'infra', 'functions', 'lib'];

function filesUnder(root: string, path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full)
    .sort()
    .flatMap((name) => filesUnder(root, join(path, name)));
}

/** A hash of every file that shapes the package. */
export function inputsHash(root = repoRoot()): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(root, input))) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** The environment packaging runs in: no AWS variables, an empty home (no ~/.aws), no telemetry. */
export function offlineEnvironment(home: string): NodeJS.ProcessEnv {
  return {
    // The Node running the tests (the Lambda runtime's major) first, for anything serverless spawns.
    PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(':'),
    HOME: home,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    CI: '1',
  };
}

/** Runs the serverless CLI with the given arguments; resolves with its output or rejects with it. */
export function runServerless(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  const cli = join(options.cwd, 'node_modules', 'osls', 'bin', 'serverless.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`serverless ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

function readOutput(dir: string, packagingMs: number): PackagedService {
  const updateTemplatePath = join(dir, 'cloudformation-template-update-stack.json');
  return {
    dir,
    updateTemplatePath,
    createTemplate: JSON.parse(
      readFileSync(join(dir, 'cloudformation-template-create-stack.json'), 'utf8'),
    ) as Template,
    template: JSON.parse(readFileSync(updateTemplatePath, 'utf8')) as Template,
    packagingMs,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const STALE_LOCK_MS = 180_000;

/**
 * The packaged service for the current sources: packaged now (offline) or reused from an earlier
 * run with the same inputs. Concurrent callers wait for one packaging run; `serverless package`
 * works in the service directory (`.esbuild/`), so two must never run at once.
 */
export async function packagedService(): Promise<PackagedService> {
  const root = repoRoot();
  const cache = join(process.env.DATASYNC_PACKAGE_CACHE ?? join(tmpdir(), 'serverless-datasync-package'));
  const dir = join(cache, inputsHash(root));
  const lock = join(cache, 'lock');
  mkdirSync(cache, { recursive: true });
  for (;;) {
    if (existsSync(join(dir, 'cloudformation-template-update-stack.json'))) return readOutput(dir, 0);
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another test process is packaging; a lock left by a killed run is taken over after a while.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > STALE_LOCK_MS)
        rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    if (existsSync(join(dir, 'cloudformation-template-update-stack.json'))) return readOutput(dir, 0);
    const work = `${dir}.partial-${process.pid}`;
    const home = join(cache, `home-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(home, { recursive: true });
    const started = Date.now();
    await runServerless(['package', '--stage', PACKAGE_STAGE, '--region', PACKAGE_REGION, '--package', work], {
      cwd: root,
      env: offlineEnvironment(home),
    });
    const packagingMs = Date.now() - started;
    rmSync(home, { recursive: true, force: true });
    renameSync(work, dir);
    return readOutput(dir, packagingMs);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The file names inside a zip (read from its central directory). */
interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly localHeader: number;
}

function centralDirectory(path: string): { zip: Buffer; entries: ZipEntry[] } {
  const zip = readFileSync(path);
  // End of central directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error(`${relative(process.cwd(), path)} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      localHeader: zip.readUInt32LE(offset + 42),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return { zip, entries };
}

/** The names of the files in a zip archive. */
export function zipEntries(path: string): string[] {
  return centralDirectory(path).entries.map((entry) => entry.name);
}

/** The contents of one file of a zip archive. */
export function zipFile(path: string, name: string): Buffer {
  const { zip, entries } = centralDirectory(path);
  const entry = entries.find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`${relative(process.cwd(), path)} has no ${name}`);
  // The data follows the local header, whose name and extra field lengths may differ from the central ones.
  const start =
    entry.localHeader + 30 + zip.readUInt16LE(entry.localHeader + 26) + zip.readUInt16LE(entry.localHeader + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${name} in ${relative(process.cwd(), path)} uses compression method ${entry.method}`);
}
