// What the functions cost in AWS calls and DynamoDB capacity units, per scenario, against the
// targets of docs/benchmarks.md ("Cost per batch and per resync").
//
//   npm run bench:cost                          batches at 1, 3 and 10 plugins; resyncs of 1,000 and 100,000 items
//   npx node bench/cost.ts --quick              no 100,000-item resync
//   npx node bench/cost.ts --plugins=1,3 --items=1000 --resync=5000 --resync-plugins=3
//
// Runs against the emulator (AWS_ENDPOINT_URL, or moto_server on 127.0.0.1:4566, started when
// nothing answers there). The figures are counts, so every run prints the same numbers.
import { ensureEmulator } from '../infra/local/emulator.ts';
import { totalCalls, type TableUsage } from './cost/meter.ts';
import type { ScenarioResult } from './cost/scenarios.ts';
import { emitRows } from './rows.ts';

const args = process.argv.slice(2);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const list = (text: string | undefined, fallback: number[]) =>
  text === undefined ? fallback : text.split(',').filter(Boolean).map(Number);
const plugins = list(option('plugins'), [1, 3, 10]);
const items = Number(option('items') ?? 1_000);
const resyncSizes = list(option('resync'), args.includes('--quick') ? [] : [100_000]);
const resyncPlugins = Number(option('resync-plugins') ?? 3);

// The handlers' EMF metrics lines would bury the tables (the counts do not depend on them). The
// handlers read the variable as their modules load, so those are imported after it is set.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
const { runCostScenarios } = await import('./cost/scenarios.ts');
const emulator = await ensureEmulator({ log: (line) => console.error(line) });
process.env.AWS_ENDPOINT_URL = emulator.endpoint;
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

let results: ScenarioResult[];
try {
  results = await runCostScenarios({
    plugins,
    items,
    batch: 100,
    resyncSizes,
    resyncPlugins,
    onResult: (result) => process.stderr.write(`measured: ${result.name}, ${result.plugins} plugin(s)\n`),
  });
} finally {
  await emulator.stop();
}

const units = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const calls = (result: ScenarioResult) =>
  Object.entries(result.usage.calls)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([operation, count]) => `${operation} ${count}`)
    .join(', ');
const kinds = (result: ScenarioResult, field: keyof TableUsage) =>
  Object.entries(result.usage.kinds)
    .filter(([, usage]) => usage[field] > 0)
    .map(([name, usage]) => `${name.split(' ').slice(1).join(' ')} ${units(usage[field])}`)
    .join(', ');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [
    line(rows[0]!),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

console.log(
  `\nCost per scenario (state table, data table of ${items.toLocaleString('en')} items; Node ${process.version})\n`,
);
console.log(
  table([
    [
      'scenario',
      'P',
      'calls',
      'by operation',
      'state RCU',
      'state WCU (tx)',
      'state rows read',
      'state rows written',
      'table items read',
      'table RCU',
    ],
    ...results.map((result) => [
      result.name,
      String(result.plugins),
      String(totalCalls(result.usage)),
      calls(result),
      units(result.state.readUnits),
      `${units(result.state.writeUnits)} (${units(result.state.transactionalWriteUnits)})`,
      String(result.state.rowsRead),
      String(result.state.rowsWritten),
      String(result.data.rowsRead),
      units(result.data.readUnits),
    ]),
  ]),
);
console.log('\nState-table units by kind of row\n');
console.log(
  table([
    ['scenario', 'P', 'RCU by row kind', 'WCU by row kind'],
    ...results.map((result) => [
      result.name,
      String(result.plugins),
      kinds(result, 'readUnits'),
      kinds(result, 'writeUnits'),
    ]),
  ]),
);
console.log('\nTargets\n');
console.log(
  table([
    ['scenario', 'P', 'figure', 'value', 'target', 'met'],
    ...results.flatMap((result) =>
      result.targets.map((target) => [
        result.name,
        String(result.plugins),
        target.what,
        units(target.value),
        `<= ${units(target.limit)}`,
        target.met ? 'yes' : 'NO',
      ]),
    ),
  ]),
);
const missed = results.flatMap((result) => result.targets.filter((target) => !target.met).map(() => result.name));
console.log(missed.length === 0 ? '\nEvery target met.' : `\n${missed.length} target(s) missed.`);

emitRows(
  results.flatMap((result) =>
    result.targets.map((target) => ({
      benchmark: `cost: ${result.name}, P=${result.plugins}`,
      metric: target.what,
      value: target.value,
      unit: '',
      baseline: target.limit === 0 ? 1 : target.limit,
      ...(target.limit === 0 ? {} : { target: { op: '<=' as const, ratio: 1 } }),
    })),
  ),
);
