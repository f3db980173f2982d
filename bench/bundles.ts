// Bundle size and cold module-load time of every function in serverless.yml, built with esbuild
// the way serverless-esbuild builds it (infra/esbuild.config.cjs), compared with a minimal
// middy handler that creates one SDK client (bench/baseline-handler.ts). Target: within 1.2x.
//
// The baseline is built with the same options except the aliases: it is the minimal handler as
// anyone would ship it, with the SDK as it comes. The functions carry a Lambda-only credential chain
// (lib/aws/clients/lambda-credentials.ts) and stand-ins for two SDK parts they never use (the event
// stream codec, mnemonist's LRU cache) instead. Two references are built exactly like the
// functions, aliases included ("trimmed SDK"), to show where a function's bytes go: the baseline
// handler, and bench/two-client-handler.ts with the SQS and DynamoDB clients every function needs
// and no library code. The "vs trimmed SDK" columns compare each row with the first of them;
// they carry no target, since the two clients alone are above 1.2x of one. Two more references, built
// like the baseline, are the baseline with the Powertools Logger middleware and with Powertools
// Metrics: what each of those libraries costs on its own.
//
//   npm run bench:bundles            # or: npx node bench/bundles.ts [runs]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { functionBuilds } from '../infra/function-builds.ts';
import { emitRows } from './rows.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.bench-out', 'bundles');
const runs = Number(process.argv[2] ?? 15);
const TARGET_RATIO = 1.2;

const { options: esbuildOptions, extension, functions } = functionBuilds(root);

interface Measured {
  name: string;
  bytes: number;
  gzipBytes: number;
  importMs: number;
  /** CPU time (user + system) the import took: less moved by other work on the machine than wall time. */
  importCpuMs: number;
  initMs: number | undefined;
}

// The functions' options without the aliases: how the baseline handler is built.
const { alias: _alias, ...withSdkDefaultChain } = esbuildOptions;

async function bundle(name: string, entry: string, options = esbuildOptions): Promise<string> {
  const outfile = join(out, `${name.replace(/[^\w-]+/g, '-')}${extension}`);
  await build({ ...options, entryPoints: [entry], outfile, logLevel: 'error' });
  return outfile;
}

// One fresh Node process per sample: the time to import the bundle, then to run the handler once
// on an empty batch (module-scope work such as client creation is in the import).
const PROBE = `
const cpu = process.cpuUsage();
const started = performance.now();
const module = await import(process.argv[1]);
const imported = performance.now();
const used = process.cpuUsage(cpu);
let invoked = -1;
try {
  await module.handler({ Records: [] }, { getRemainingTimeInMillis: () => 30000, functionName: 'bench', awsRequestId: 'bench' });
  invoked = performance.now();
} catch {}
console.log(JSON.stringify({ importMs: imported - started, importCpuMs: (used.user + used.system) / 1000, initMs: invoked < 0 ? null : invoked - started }));
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// The variables serverless.yml gives every function, with placeholder resources: loading a
// function reads them, and an empty batch never reaches AWS.
const queueUrl = (name: string) => `https://sqs.us-east-1.amazonaws.com/000000000000/bench-${name}`;
const SERVICE_ENV = {
  DATASYNC_TABLES: JSON.stringify([
    { name: 'bench-config', prefix: 'config', keyAttributes: ['pk'], versionAttribute: 'version' },
  ]),
  DATASYNC_FEEDBACK_QUEUE_URL: queueUrl('feedback'),
  DATASYNC_STATE_TABLE: 'bench-state',
  DATASYNC_DEAD_LETTER_QUEUE_URL: queueUrl('rejected'),
  DATASYNC_RESYNC_QUEUE_URL: queueUrl('resync'),
};

/** One cold load of a bundle in a fresh process. */
function sample(file: string): { importMs: number; importCpuMs: number; initMs: number | null } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, file], {
    encoding: 'utf8',
    // As on Lambda: a region, credentials and the service's variables in the environment, source maps enabled.
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      NODE_OPTIONS: '--enable-source-maps',
      ...SERVICE_ENV,
    },
  });
  if (result.status !== 0) throw new Error(`loading ${file} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as {
    importMs: number;
    importCpuMs: number;
    initMs: number | null;
  };
}

interface Built {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
}

async function built(name: string, entry: string, options = esbuildOptions): Promise<Built> {
  const file = await bundle(name, entry, options);
  return { name, file, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length };
}

/**
 * Load times of every bundle, sampled round-robin (baseline, then each function, repeated) so
 * that background load on the machine affects all of them alike; medians.
 */
function measureLoads(bundles: Built[]): Measured[] {
  const samples = bundles.map(() => ({ imports: [] as number[], cpus: [] as number[], inits: [] as number[] }));
  for (let run = 0; run < runs; run += 1) {
    bundles.forEach((b, index) => {
      const { importMs, importCpuMs, initMs } = sample(b.file);
      samples[index]!.imports.push(importMs);
      samples[index]!.cpus.push(importCpuMs);
      if (initMs !== null) samples[index]!.inits.push(initMs);
    });
  }
  return bundles.map((b, index) => ({
    name: b.name,
    bytes: b.bytes,
    gzipBytes: b.gzipBytes,
    importMs: median(samples[index]!.imports),
    importCpuMs: median(samples[index]!.cpus),
    initMs: samples[index]!.inits.length === runs ? median(samples[index]!.inits) : undefined,
  }));
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const bundles = [
  await built('baseline', join(root, 'bench/baseline-handler.ts'), withSdkDefaultChain),
  await built('baseline, trimmed SDK', join(root, 'bench/baseline-handler.ts')),
  await built('two clients, trimmed SDK', join(root, 'bench/two-client-handler.ts')),
  // What each Powertools library costs: the baseline plus its middleware, built as the baseline is.
  await built('baseline + Powertools Logger', join(root, 'bench/logger-handler.ts'), withSdkDefaultChain),
  await built('baseline + Powertools Metrics', join(root, 'bench/metrics-handler.ts'), withSdkDefaultChain),
];
for (const { name, entry } of functions) bundles.push(await built(name, entry));
const [baseline, sameBuild, twoClients, withLogger, withMetrics, ...rows] = measureLoads(bundles) as [
  Measured,
  Measured,
  Measured,
  Measured,
  Measured,
  ...Measured[],
];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(1)} ms`);
const ratio = (value: number | undefined, base: number | undefined) =>
  value === undefined || base === undefined ? 'n/a' : `${(value / base).toFixed(2)}x`;
const verdict = (row: Measured, base: Measured) => {
  const misses = [
    ...(row.bytes / base.bytes > TARGET_RATIO ? ['size'] : []),
    ...(row.importMs / base.importMs > TARGET_RATIO ? ['load'] : []),
  ];
  return misses.length ? `NO (${misses.join(', ')})` : 'yes';
};

const cells = (row: Measured, judged: string) => [
  row.name,
  kb(row.bytes),
  kb(row.gzipBytes),
  ratio(row.bytes, baseline.bytes),
  ms(row.importMs),
  ratio(row.importMs, baseline.importMs),
  ms(row.importCpuMs),
  ratio(row.importCpuMs, baseline.importCpuMs),
  ms(row.initMs),
  judged,
  ratio(row.bytes, sameBuild.bytes),
  ratio(row.importMs, sameBuild.importMs),
];
const table = [
  [
    'function',
    'bundle',
    'gzip',
    'size ratio',
    'import',
    'import ratio',
    'import CPU',
    'CPU ratio',
    'import+1st call',
    `within ${TARGET_RATIO}x`,
    'size vs trimmed SDK',
    'import vs trimmed SDK',
  ],
  cells(baseline, '-'),
  // Not functions: references (the first two built like the functions, aliases included).
  ...[sameBuild, twoClients, withLogger, withMetrics].map((row) => cells({ ...row, name: `(${row.name})` }, '-')),
  ...rows.map((row) => cells(row, verdict(row, baseline))),
];
const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
console.log(
  `esbuild ${JSON.stringify({ format: esbuildOptions.format, target: esbuildOptions.target, minify: esbuildOptions.minify })}, Node ${process.version}, median of ${runs} fresh processes per bundle, sampled round-robin`,
);
console.log(line(table[0]!));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const cells of table.slice(1)) console.log(line(cells));

emitRows(
  rows.flatMap((row) => [
    {
      benchmark: `bundle ${row.name}`,
      metric: 'size vs one-client middy',
      value: row.bytes / 1024,
      unit: 'KiB',
      baseline: baseline.bytes / 1024,
      target: { op: '<=' as const, ratio: TARGET_RATIO },
    },
    {
      benchmark: `bundle ${row.name}`,
      metric: 'cold import vs one-client middy',
      value: row.importMs,
      unit: 'ms',
      baseline: baseline.importMs,
      target: { op: '<=' as const, ratio: TARGET_RATIO },
    },
    // Context, no target: what the second client and the library add over one client.
    {
      benchmark: `bundle ${row.name}`,
      metric: 'size vs one client, trimmed SDK',
      value: row.bytes / 1024,
      unit: 'KiB',
      baseline: sameBuild.bytes / 1024,
    },
    {
      benchmark: `bundle ${row.name}`,
      metric: 'cold import vs one client, trimmed SDK',
      value: row.importMs,
      unit: 'ms',
      baseline: sameBuild.importMs,
    },
  ]),
);
