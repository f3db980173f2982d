// Resync throughput and memory against the emulator.
//
//   npm run bench:resync                                # 10k and 100k items, 3 rounds each
//   npx node --expose-gc bench/resync.ts 10000 50000    # other sizes (--expose-gc: live-heap figures)
//   npx node --expose-gc bench/resync.ts --rounds=5 10000
//
// Each size runs in its own child process so its memory is measured alone. In the child a table
// is loaded with BatchWriteItem; then, in each round: a plain sequential Scan (page by page,
// counting items: the floor any resync pays), a resync to a new plugin that only counts entries
// (first: never synced, no previous snapshot), and a second resync of it (steady state: in sync,
// fenced, compared with the previous snapshot). The medians of the rounds are compared. Memory is
// sampled during the resyncs.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { createAwsClients } from '../lib/aws/clients.ts';
import {
  createDatasync,
  runResync,
  stateTableDefinition,
  SyncStateStore,
  type FeedbackRecord,
  type Plugin,
} from '../lib/index.ts';
import { ensureEmulator } from '../infra/local/emulator.ts';
import { emitRows } from './rows.ts';

interface Figures {
  size: number;
  rounds: number;
  loadSeconds: number;
  /** Each round's seconds; the single figures above them are medians. */
  scans: number[];
  firsts: number[];
  steadies: number[];
  /** Per round, the seconds the resync's own Scan calls took (what it adds is the rest). */
  firstScans: number[];
  steadyScans: number[];
  scanSeconds: number;
  resyncSeconds: number;
  steadySeconds: number;
  peakRssMb: number;
  peakHeapMb: number;
  liveHeapMb: number;
  baseRssMb: number;
}

const childSize = process.argv[2] === '--child' ? Number(process.argv[3]) : undefined;
const rounds = Math.max(
  1,
  Number(process.argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length) ?? 3),
);

if (childSize !== undefined) {
  console.log(JSON.stringify(await measure(childSize, rounds)));
} else {
  const sizes = process.argv
    .slice(2)
    .filter((arg) => !arg.startsWith('--'))
    .map(Number)
    .filter((size) => size > 0);
  const emulator = await ensureEmulator({ log: (line) => console.error(line) });
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
  const results: Figures[] = [];
  try {
    for (const size of sizes.length > 0 ? sizes : [10_000, 100_000]) {
      console.error(`measuring ${size} items...`);
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', fileURLToPath(import.meta.url), '--child', String(size), `--rounds=${rounds}`],
        { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      if (child.status !== 0) throw new Error(`child for ${size} items failed with status ${child.status}`);
      results.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Figures);
    }
  } finally {
    await emulator.stop();
  }
  const rate = (items: number, seconds: number) => Math.round(items / seconds);
  const list = (values: readonly number[]) => values.map((value) => value.toFixed(1)).join(' / ');
  console.log(`seconds per round (raw scan; first resync; steady resync), medians compared below:`);
  for (const r of results) console.log(`  ${r.size} items: ${list(r.scans)}; ${list(r.firsts)}; ${list(r.steadies)}`);
  // The emulator's Scan time varies by a quarter from call to call; the time a resync spends
  // besides its own Scan calls is what it adds, free of that noise.
  const added = (total: readonly number[], scan: readonly number[]) =>
    median(total.map((seconds, index) => (seconds - scan[index]!) / scan[index]!));
  for (const r of results) {
    console.log(
      `  ${r.size} items: time added over the resync's own Scan calls (median): first ${(100 * added(r.firsts, r.firstScans)).toFixed(0)}%, steady ${(100 * added(r.steadies, r.steadyScans)).toFixed(0)}%`,
    );
  }
  console.log('');
  console.log(
    '| items | load s | raw scan items/s | resync (first) items/s | first / scan | resync (steady) items/s | steady / scan | peak RSS MB (base) | peak heap MB | peak live heap MB |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.size} | ${r.loadSeconds.toFixed(1)} | ${rate(r.size, r.scanSeconds)} | ${rate(r.size, r.resyncSeconds)} | ${(r.resyncSeconds / r.scanSeconds).toFixed(2)} | ${rate(r.size, r.steadySeconds)} | ${(r.steadySeconds / r.scanSeconds).toFixed(2)} | ${r.peakRssMb.toFixed(0)} (${r.baseRssMb.toFixed(0)}) | ${r.peakHeapMb.toFixed(0)} | ${r.liveHeapMb.toFixed(1)} |`,
    );
  }
  emitRows(
    results.flatMap((r) => [
      {
        benchmark: `resync ${r.size} items`,
        metric: 'first resync time vs raw scan',
        value: r.resyncSeconds,
        unit: 's',
        baseline: r.scanSeconds,
        target: { op: '<=', ratio: 1.2 },
      },
      {
        benchmark: `resync ${r.size} items`,
        metric: 'steady resync time vs raw scan',
        value: r.steadySeconds,
        unit: 's',
        baseline: r.scanSeconds,
        target: { op: '<=', ratio: 1.2 },
      },
    ]),
  );
  if (results.length >= 2) {
    const [small, large] = [results[0]!, results.at(-1)!];
    console.log(
      `\npeak RSS ${large.size} / ${small.size}: ${(large.peakRssMb / small.peakRssMb).toFixed(2)}; peak heap: ${(large.peakHeapMb / small.peakHeapMb).toFixed(2)}; peak live heap: ${(large.liveHeapMb / small.liveHeapMb).toFixed(2)}`,
    );
  }
}

/** Time spent in each DynamoDB command, summed (calls in flight at once each count in full). */
type CallProfile = Map<string, { calls: number; ms: number }>;

function profileCalls(clients: ReturnType<typeof createAwsClients>): { take(): CallProfile } {
  let profile: CallProfile = new Map();
  clients.dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        const entry = profile.get(context.commandName!) ?? { calls: 0, ms: 0 };
        entry.calls += 1;
        entry.ms += performance.now() - started;
        profile.set(context.commandName!, entry);
      }
    },
    { step: 'initialize', name: 'benchProfile' },
  );
  return {
    take: () => {
      const taken = profile;
      profile = new Map();
      return taken;
    },
  };
}

function showProfile(phase: string, profile: CallProfile, seconds: number): void {
  const rows = [...profile].sort((a, b) => b[1].ms - a[1].ms);
  console.error(
    `  ${phase} (${seconds.toFixed(1)} s): ${rows.map(([name, { calls, ms }]) => `${name.replace(/Command$/, '')} ${calls}x ${(ms / 1000).toFixed(1)} s`).join(', ')}`,
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function measure(size: number, rounds: number): Promise<Figures> {
  const clients = createAwsClients();
  const profiler = profileCalls(clients);
  const itemTable = `bench-items-${randomUUID().slice(0, 8)}`;
  // One state table per round: the emulator's Query slows with the size of the whole table (on
  // DynamoDB it depends on the partition read), so rounds sharing one would slow each other.
  const stateTables = Array.from({ length: rounds }, () => `bench-state-${randomUUID().slice(0, 8)}`);
  await clients.dynamodb.send(
    new CreateTableCommand({
      TableName: itemTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  for (const stateTable of stateTables)
    await clients.dynamodb.send(new CreateTableCommand(stateTableDefinition(stateTable)));
  try {
    const loadStart = performance.now();
    // Items are made chunk by chunk so loading does not inflate the child's memory.
    let next = 0;
    const chunks = Math.ceil(size / 25);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < chunks) {
          const chunk = next++;
          let pending: WriteRequest[] | undefined = Array.from(
            { length: Math.min(25, size - chunk * 25) },
            (_, index) => {
              const n = chunk * 25 + index;
              return {
                PutRequest: {
                  Item: {
                    pk: { S: `item/${n}` },
                    name: { S: `interface ${n}` },
                    mtu: { N: String(1500 + (n % 8000)) },
                    up: { BOOL: n % 2 === 0 },
                  },
                },
              };
            },
          );
          while (pending && pending.length > 0) {
            const request: WriteRequest[] = pending;
            const result = await clients.dynamodb.send(
              new BatchWriteItemCommand({ RequestItems: { [itemTable]: request } }),
            );
            pending = result.UnprocessedItems?.[itemTable];
          }
        }
      }),
    );
    const loadSeconds = (performance.now() - loadStart) / 1000;

    // A plain sequential scan, page by page, counting items: the floor any resync pays.
    const rawScan = async (): Promise<number> => {
      const started = performance.now();
      let scanned = 0;
      let startKey: Record<string, never> | undefined;
      do {
        const page = await clients.dynamodb.send(
          new ScanCommand({ TableName: itemTable, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
        );
        scanned += page.Items?.length ?? 0;
        startKey = page.LastEvaluatedKey as typeof startKey;
      } while (startKey);
      if (scanned !== size) throw new Error(`scan saw ${scanned} items, expected ${size}`);
      return (performance.now() - started) / 1000;
    };

    // One plugin per round, so each round's first resync is of a plugin that never synced.
    let entries = 0;
    const plugins: Plugin[] = Array.from({ length: rounds }, (_, round) => ({
      name: `bench-${round + 1}`,
      prefixes: ['bench'],
      async resync(snapshot) {
        for await (const page of snapshot.pages()) entries += page.length;
      },
      change() {},
    }));
    const datasync = createDatasync({ plugins });
    const sink = {
      records: [] as FeedbackRecord[],
      async write(records: readonly FeedbackRecord[]) {
        this.records.push(...records);
      },
    };
    // Live memory: the heap right after a full collection, taken at every page boundary (what the
    // resync keeps, as opposed to garbage the collector has not reclaimed yet).
    // The collections are the benchmark's, not the resync's: their time is taken off the resync's.
    let liveHeap = 0;
    let gcSeconds = 0;
    const onProgress = () => {
      if (!global.gc) return;
      const started = performance.now();
      global.gc();
      liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed);
      gcSeconds += (performance.now() - started) / 1000;
    };
    const options = (round: number) => ({
      tables: [{ name: itemTable, prefix: 'bench', keyAttributes: ['pk'] }],
      store: new SyncStateStore({ stateTable: stateTables[round - 1]!, clients }),
      sink,
      clients,
      timeoutMs: 3_600_000,
      onProgress,
    });
    const ownScans = { first: [] as number[], steady: [] as number[] };
    const resync = async (
      phase: 'first' | 'steady',
      round: number,
      plugin: string,
      resyncId: string,
    ): Promise<number> => {
      profiler.take();
      gcSeconds = 0;
      const started = performance.now();
      const result = await runResync(
        datasync,
        { datasync: 'resync', resyncId, reason: 'manual', plugins: [plugin] },
        options(round),
      );
      const seconds = (performance.now() - started) / 1000 - gcSeconds;
      if (result.plugins[0]?.status !== 'ok' || result.plugins[0].items !== size)
        throw new Error(`resync did not hand over ${size} items: ${JSON.stringify(result.plugins[0])}`);
      const profile = profiler.take();
      showProfile(`${phase} resync, round ${round}`, profile, seconds);
      ownScans[phase].push((profile.get('ScanCommand')?.ms ?? 0) / 1000);
      return seconds;
    };

    global.gc?.();
    const baseRss = process.memoryUsage().rss;
    let peakRss = baseRss;
    let peakHeap = process.memoryUsage().heapUsed;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
    }, 20);
    // Rounds interleave the three measurements, so a slow spell of the emulator touches all of
    // them; the medians are compared.
    const scans: number[] = [];
    const firsts: number[] = [];
    const steadies: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      scans.push(await rawScan());
      console.error(`  ${size} items, round ${round}: raw scan ${scans.at(-1)!.toFixed(1)} s`);
      firsts.push(await resync('first', round, `bench-${round}`, `bench-${round}-a`));
      steadies.push(await resync('steady', round, `bench-${round}`, `bench-${round}-b`));
    }
    clearInterval(sampler);
    if (entries !== 2 * rounds * size) throw new Error(`plugins saw ${entries} entries, expected ${2 * rounds * size}`);
    const [scanSeconds, resyncSeconds, steadySeconds] = [median(scans), median(firsts), median(steadies)];
    const mb = (bytes: number) => bytes / 1024 / 1024;
    return {
      size,
      rounds,
      loadSeconds,
      scanSeconds,
      resyncSeconds,
      steadySeconds,
      scans,
      firsts,
      steadies,
      firstScans: ownScans.first,
      steadyScans: ownScans.steady,
      peakRssMb: mb(peakRss),
      peakHeapMb: mb(peakHeap),
      liveHeapMb: mb(liveHeap),
      baseRssMb: mb(baseRss),
    };
  } finally {
    await Promise.all(
      [itemTable, ...stateTables].map((name) => clients.dynamodb.send(new DeleteTableCommand({ TableName: name }))),
    );
  }
}
