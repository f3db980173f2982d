// Throughput of the DynamoDB stream handler on 100-record batches of ~2 KB items, side by side
// with the floor every handler pays (JSON.parse of the event) and with Powertools' BatchProcessor
// + util-dynamodb unmarshall + a trivial record handler; and the CPU time per batch the handler
// spends with the example plugins' value schemas against without. Run: npm run bench:stream
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as LambdaAttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  createDatasync,
  createDynamoDbStreamHandler,
  SqsDeadLetterWriter,
  SqsFeedbackWriter,
  type DeliveryLedger,
  type SqsBatchClient,
} from '../lib/index.ts';
import { interfaceSchema, routeSchema } from '../examples/plugins/index.ts';
import type { ValueSchema } from '../lib/index.ts';
import { emitRows } from './rows.ts';

const RECORDS = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1_000);
// Long enough for V8 to finish optimizing the handler: until then its compiler threads' CPU time
// is counted in the batches'. With 300 ms both datasync handlers read 9% to 11% more CPU per
// batch than after 3 s.
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/config/stream/2026-01-01T00:00:00.000';

/** Counts SendMessageBatch calls and answers each entry as stored: the network send replaced by a counter. */
class CountingSqs implements SqsBatchClient {
  calls = 0;
  entries = 0;
  async send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> {
    this.calls += 1;
    const entries = command.input.Entries ?? [];
    this.entries += entries.length;
    return {
      $metadata: {},
      Successful: entries.map((entry) => ({ Id: entry.Id!, MessageId: entry.Id!, MD5OfMessageBody: '' })),
      Failed: [],
    };
  }
}

function image(pk: string, version: number): Record<string, LambdaAttributeValue> {
  return {
    pk: { S: pk },
    // A route names the interface it leaves through (the example routes schema requires it).
    ...(pk.startsWith('routes/') ? { interface: { S: 'eth0' } } : {}),
    name: { S: pk.split('/').pop()! },
    mtu: { N: String(1500 + version) },
    enabled: { BOOL: version % 2 === 0 },
    description: { S: `interface ${pk} `.padEnd(900, 'lorem ipsum dolor sit amet ') },
    tags: { SS: ['core', 'edge', 'lab', `v${version}`] },
    counters: { NS: ['1', '22', '333', '4444', String(version)] },
    addresses: {
      L: Array.from({ length: 8 }, (_, i) => ({
        M: { ip: { S: `10.${i}.${version % 250}.1/24` }, primary: { BOOL: i === 0 }, scope: { S: 'global' } },
      })),
    },
    owner: {
      M: {
        team: { S: 'network' },
        contact: { S: 'noc@example.com' },
        escalation: { L: [{ S: 'l1' }, { S: 'l2' }, { S: 'l3' }] },
      },
    },
  };
}

function streamEvent(): DynamoDBStreamEvent {
  const records: DynamoDBRecord[] = Array.from({ length: RECORDS }, (_, i) => {
    const pk = `${i % 2 === 0 ? 'interfaces' : 'routes'}/item-${i}`;
    return {
      eventID: String(i),
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: ARN,
      dynamodb: {
        ApproximateCreationDateTime: 1764129600,
        Keys: { pk: { S: pk } },
        NewImage: image(pk, 2),
        OldImage: image(pk, 1),
        SequenceNumber: (1100000000017454423009n + BigInt(i)).toString(),
        SizeBytes: 3300,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
  });
  return { Records: records };
}

const context = {
  getRemainingTimeInMillis: () => 60_000,
  functionName: 'bench',
  awsRequestId: 'bench',
} as unknown as Context;
const text = JSON.stringify(streamEvent());
const event = JSON.parse(text) as DynamoDBStreamEvent;
const itemBytes = Buffer.byteLength(JSON.stringify(event.Records[0]!.dynamodb!.NewImage));

// The datasync handler: three plugins (two per record), feedback through the real SQS writer over a counter.
// The ledger delivers everything, so every iteration does the full work instead of skipping held revisions.
const passThrough: DeliveryLedger = {
  plan: async (shares) =>
    new Map(shares.map(({ plugin, changes }) => [plugin, { deliver: [...changes], skipped: [], held: [] }])),
  commit: async () => new Map(),
};
let applied = 0;
/**
 * The datasync handler with three plugins; with `schemas`, `interfaces` and `routes` declare the
 * example plugins' schemas (every record's new value is checked against one, and its plugin gets
 * the schema's output for the value and the previous value).
 */
function datasyncHandlerWith(schemas: boolean) {
  const datasync = createDatasync({ ledger: passThrough });
  for (const [name, prefix, schema] of [
    ['interfaces', 'config/interfaces', interfaceSchema],
    ['routes', 'config/routes', routeSchema],
    ['audit', 'config', undefined],
  ] as const) {
    datasync.watch<ValueSchema | undefined>(
      name,
      {
        ...(schemas && schema ? { schema } : {}),
        resync: () => {},
        change: (changes) => {
          applied += changes.length;
        },
      },
      prefix,
    );
  }
  return createDynamoDbStreamHandler(datasync, {
    tables: [{ name: 'config', prefix: 'config', keyAttributes: ['pk'] }],
    feedback: new SqsFeedbackWriter({ sqs: feedbackSqs, queueUrl: 'bench' }),
    deadLetter: new SqsDeadLetterWriter({ sqs: deadLetterSqs, queueUrl: 'bench' }),
    // Logs and metrics stay on, as deployed: a summary line and the EMF lines on stdout per batch.
  });
}
const feedbackSqs = new CountingSqs();
const deadLetterSqs = new CountingSqs();
const datasyncHandler = datasyncHandlerWith(false);
const typedHandler = datasyncHandlerWith(true);

// Powertools: BatchProcessor, unmarshall of both images, a trivial record handler.
const processor = new BatchProcessor(EventType.DynamoDBStreams);
let unmarshalled = 0;
const recordHandler = async (record: DynamoDBRecord) => {
  const next = unmarshall(record.dynamodb!.NewImage as never);
  const prev = unmarshall(record.dynamodb!.OldImage as never);
  if (next && prev) unmarshalled += 1;
};

const contenders: Array<{ name: string; run: () => unknown }> = [
  { name: 'JSON.parse of the event (floor)', run: () => JSON.parse(text) },
  {
    name: 'Powertools BatchProcessor + unmarshall',
    run: () => processPartialResponse(event, recordHandler, processor, { context }),
  },
  { name: 'datasync stream handler', run: () => datasyncHandler(event, context) },
  { name: 'datasync stream handler, example schemas', run: () => typedHandler(event, context) },
];

/** What one round of a contender measured. */
interface RoundResult {
  /** Batches per second. */
  readonly rate: number;
  /** CPU time (user + system, all threads) per batch, in milliseconds. */
  readonly cpuMs: number;
  /**
   * The time per batch of the quickest 5% of chunks of three batches, in milliseconds: the chunks
   * that no other process on the machine slowed down, which makes it the steadiest of the figures.
   */
  readonly quietMs: number;
}

async function measure(run: () => unknown, ms: number): Promise<RoundResult> {
  const chunks: number[] = [];
  const started = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - started < ms) {
    const chunkStarted = performance.now();
    await run();
    await run();
    await run();
    chunks.push((performance.now() - chunkStarted) / 3);
  }
  const used = process.cpuUsage(cpu);
  const batches = chunks.length * 3;
  chunks.sort((a, b) => a - b);
  return {
    rate: batches / ((performance.now() - started) / 1000),
    cpuMs: (used.user + used.system) / 1000 / batches,
    quietMs: chunks[Math.floor(chunks.length * 0.05)]!,
  };
}

// Each round of each contender runs in a fresh process of this file, so no contender's work
// warms up another: they read the same event shapes, and V8 shares what it learns about a shape
// (hidden classes, their enumeration caches) across everything in one process. One in-process
// run let one contender's key enumeration make the other's Object.entries four times faster.
const only = process.argv.find((arg) => arg.startsWith('--contender='));
if (only !== undefined) {
  const contender = contenders[Number(only.split('=')[1])]!;
  await measure(contender.run, WARMUP_MS); // warm up
  const measured = await measure(contender.run, ROUND_MS);
  // A contender that did no work would be fast for the wrong reason.
  if (contender.name.startsWith('datasync') && applied === 0) throw new Error('the datasync plugins received nothing');
  if (contender.name.startsWith('Powertools') && unmarshalled === 0)
    throw new Error('the Powertools handler unmarshalled nothing');
  // Writes to a pipe are asynchronous: exiting before they drain would drop the handler's queued
  // log lines and this one. Its callback runs once it, and so everything before it, is written.
  await new Promise((resolve) => process.stdout.write(`${JSON.stringify({ benchResult: measured })}\n`, resolve));
  process.exit(0);
}

function measureAlone(index: number): RoundResult {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), `--contender=${index}`],
    // The handler's log and metric lines come along on stdout, around the result line.
    { encoding: 'utf8', env: process.env, maxBuffer: 1024 * 1024 * 1024 },
  );
  if (child.status !== 0) throw new Error(`contender ${contenders[index]!.name} failed: ${child.stderr}`);
  // The handler's log lines may come after the result: it is the line that names itself.
  const line = child.stdout
    .trim()
    .split('\n')
    .findLast((text) => text.startsWith('{"benchResult":'));
  if (!line) throw new Error(`contender ${contenders[index]!.name} printed no result`);
  return (JSON.parse(line) as { benchResult: RoundResult }).benchResult;
}

// Sanity: the handler must succeed and produce one feedback call per batch before anything is timed.
const check = await datasyncHandler(event, context);
if (check.batchItemFailures.length > 0) throw new Error('the benchmark batch failed');
// With the schemas every record fits, so the typed handler does the same work plus the checks.
if ((await typedHandler(event, context)).batchItemFailures.length > 0 || deadLetterSqs.entries > 0)
  throw new Error('the typed benchmark batch refused a record');
feedbackSqs.calls = 0;
feedbackSqs.entries = 0;
await datasyncHandler(event, context);
const callsPerBatch = feedbackSqs.calls + deadLetterSqs.calls;
const feedbackPerBatch = feedbackSqs.entries;
await processPartialResponse(event, recordHandler, processor, { context });

// Rounds interleave the contenders (A, B, C, A, B, C, …) so that the machine's load falls on all alike.
const results = new Map<string, RoundResult[]>(contenders.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [index, contender] of contenders.entries()) results.get(contender.name)!.push(measureAlone(index));
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rate = new Map([...results].map(([name, values]) => [name, median(values.map((value) => value.rate))]));
const cpuMs = new Map([...results].map(([name, values]) => [name, median(values.map((value) => value.cpuMs))]));
const quietMs = new Map([...results].map(([name, values]) => [name, median(values.map((value) => value.quietMs))]));
const floor = rate.get(contenders[0]!.name)!;
const powertools = rate.get(contenders[1]!.name)!;

console.log(
  `DynamoDB stream batches: ${RECORDS} records, NEW_AND_OLD_IMAGES, item ~${(itemBytes / 1024).toFixed(1)} KB per image, event ${(text.length / 1024).toFixed(0)} KB; ${ROUNDS} rounds x ${ROUND_MS} ms, each in a fresh process, median; Node ${process.version}`,
);
console.log('');
console.log(
  '| contender | batches/s | records/s | ms/batch | CPU ms/batch | quietest ms/batch | vs Powertools | vs JSON.parse |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const contender of contenders) {
  const r = rate.get(contender.name)!;
  console.log(
    `| ${contender.name} | ${r.toFixed(0)} | ${(r * RECORDS).toFixed(0)} | ${(1000 / r).toFixed(3)} | ${cpuMs.get(contender.name)!.toFixed(3)} | ${quietMs.get(contender.name)!.toFixed(3)} | ${(r / powertools).toFixed(2)}x | ${(r / floor).toFixed(2)}x |`,
  );
}
console.log('');
const datasyncRate = rate.get(contenders[2]!.name)!;
const plainCpu = cpuMs.get(contenders[2]!.name)!;
const typedCpu = cpuMs.get(contenders[3]!.name)!;
// The same rounds, paired: each round ran both handlers back to back, so their ratio sees the same
// load. The quietest chunks' ratio is the steadiest figure on a shared machine.
const paired = (measure: (result: RoundResult) => number) =>
  results
    .get(contenders[3]!.name)!
    .map((typed, round) => measure(typed) / measure(results.get(contenders[2]!.name)![round]!));
const pairedCpu = paired((result) => result.cpuMs);
const pairedQuiet = paired((result) => result.quietMs);
const percent = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;
console.log(
  `CPU per batch with the example schemas: ${typedCpu.toFixed(3)} ms against ${plainCpu.toFixed(3)} ms without (${percent(typedCpu / plainCpu)}); paired rounds ${percent(median(pairedCpu))} (per round ${pairedCpu.map((ratio) => ratio.toFixed(3)).join(', ')}); quietest chunks ${percent(median(pairedQuiet))}`,
);
emitRows([
  {
    benchmark: 'stream handler',
    metric: 'batches/s vs Powertools',
    value: datasyncRate,
    unit: 'batches/s',
    baseline: powertools,
    target: { op: '>=', ratio: 1.5 },
  },
  {
    benchmark: 'stream handler',
    metric: 'batches/s vs JSON.parse',
    value: datasyncRate,
    unit: 'batches/s',
    baseline: floor,
    target: { op: '>=', ratio: 0.7 },
  },
  {
    benchmark: 'stream handler',
    metric: 'CPU per batch, schemas vs none',
    value: typedCpu,
    unit: 'ms',
    baseline: plainCpu,
    target: { op: '<=', ratio: 1.1 },
  },
  {
    benchmark: 'stream handler',
    metric: 'quietest time per batch, schemas vs none (paired rounds)',
    value: median(pairedQuiet),
    unit: 'ratio',
    baseline: 1,
  },
]);
console.log(
  `AWS calls per ${RECORDS}-record batch (datasync): ${callsPerBatch} SendMessageBatch for ${feedbackPerBatch} feedback records (3 plugins), 0 per record`,
);
if (applied === 0 || unmarshalled === 0) throw new Error('nothing was processed');
