import { appendFileSync } from 'node:fs';

/** One measured figure against its baseline, as every benchmark reports it for `bench/all.ts`. */
export interface BenchRow {
  readonly benchmark: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  /**
   * The ratio the figure must reach: `>=` (at least) or `<=` (at most) value / baseline. A row
   * without one is context for a row that has one (what part of a figure costs what).
   */
  readonly target?: { readonly op: '>=' | '<='; readonly ratio: number };
}

/**
 * Writes rows as JSON lines to the file named by `BENCH_JSON` (set by `bench/all.ts`); a no-op
 * otherwise, so each benchmark still runs alone and prints its own table.
 */
export function emitRows(rows: readonly BenchRow[]): void {
  const path = process.env.BENCH_JSON;
  if (!path) return;
  appendFileSync(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
}
