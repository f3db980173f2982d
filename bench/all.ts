// Runs every benchmark of the project and prints one table of ratios against their baselines.
//   npm run bench                  stream handler, bundles, resync at 10k items, AWS calls and units
//   npm run bench -- --full        resync at 10k and 100k items, cost of a 100k-item resync (slow)
//   npm run bench -- --resync=N    resync at N items
//   npm run bench -- --only=stream,bundles
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './rows.ts';

const args = process.argv.slice(2);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const sizes = args.includes('--full') ? ['10000', '100000'] : (option('resync') ?? '10000').split(',');
const only = option('only')?.split(',');

const benchmarks = [
  { name: 'stream', args: ['bench/dynamodb-stream-handler.ts'] },
  { name: 'bundles', args: ['bench/bundles.ts'] },
  { name: 'resync', args: ['--expose-gc', 'bench/resync.ts', ...sizes] },
  { name: 'cost', args: ['bench/cost.ts', ...(args.includes('--full') ? [] : ['--quick'])] },
].filter((bench) => !only || only.includes(bench.name));

const dir = mkdtempSync(join(tmpdir(), 'datasync-bench-'));
const file = join(dir, 'rows.jsonl');
const failed: string[] = [];
try {
  for (const bench of benchmarks) {
    process.stderr.write(`running ${bench.name}...\n`);
    const started = Date.now();
    const run = spawnSync(process.execPath, bench.args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, BENCH_JSON: file },
    });
    process.stderr.write(`${bench.name} took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    if (run.status !== 0) failed.push(bench.name);
  }
  let rows: BenchRow[] = [];
  try {
    rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as BenchRow);
  } catch {
    rows = [];
  }
  const format = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(2));
  const table = [
    ['benchmark', 'metric', 'value', 'baseline', 'ratio', 'target', 'pass'],
    ...rows.map((row) => {
      const ratio = row.value / row.baseline;
      const { target } = row;
      const pass = target && (target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio);
      const judged = target ? [`${target.op} ${target.ratio}x`, pass ? 'pass' : 'FAIL'] : ['-', '-'];
      return [
        row.benchmark,
        row.metric,
        `${format(row.value)} ${row.unit}`,
        `${format(row.baseline)} ${row.unit}`,
        `${ratio.toFixed(2)}x`,
        ...judged,
      ];
    }),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(`\nAll benchmarks (Node ${process.version}; resync sizes ${sizes.join(', ')})`);
  console.log(line(table[0]!));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const cells of table.slice(1)) console.log(line(cells));
  if (failed.length > 0) {
    console.error(`benchmark(s) that did not finish: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
