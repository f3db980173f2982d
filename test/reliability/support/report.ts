import { writeFileSync } from 'node:fs';
import type { ScheduleCounts } from './world.ts';

/** The counters a run sums straight from each schedule's counts, under the same names. */
const SUMMED = [
  'steps',
  'publishFailed',
  'invocations',
  'deadLettered',
  'resyncs',
  'resyncFailures',
  'resyncWaits',
  'lost',
  'duplicated',
  'outOfOrder',
  'feedbackMissing',
  'viewMismatches',
  'storeMismatches',
  'divergedUntilResync',
] as const satisfies ReadonlyArray<keyof ScheduleCounts>;

/** The reliability report: totals over every schedule of a run. */
export interface ReliabilityReport extends Pick<ScheduleCounts, (typeof SUMMED)[number] | 'faults'> {
  seed: number;
  schedules: number;
  changesPublished: number;
  sourceRecords: number;
  durationMs: number;
}

/** An empty report for a run with the given seed. */
export function emptyReport(seed: number): ReliabilityReport {
  const report = {
    seed,
    schedules: 0,
    changesPublished: 0,
    sourceRecords: 0,
    durationMs: 0,
    faults: {},
  } as ReliabilityReport;
  for (const name of SUMMED) report[name] = 0;
  return report;
}

/** Adds one schedule's counts. */
export function addCounts(report: ReliabilityReport, counts: ScheduleCounts): void {
  report.schedules += 1;
  report.changesPublished += counts.published;
  report.sourceRecords += counts.records;
  for (const name of SUMMED) report[name] += counts[name];
  for (const [kind, times] of Object.entries(counts.faults)) report.faults[kind] = (report.faults[kind] ?? 0) + times;
}

/** The report as the table a person reads. */
export function formatReport(report: ReliabilityReport, title: string): string {
  const faults =
    Object.entries(report.faults)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, times]) => `${kind} ${times}`)
      .join(', ') || 'none';
  const rows: Array<[string, string | number]> = [
    ['seed', report.seed],
    ['schedules run', report.schedules],
    ['steps', report.steps],
    [
      'changes published',
      `${report.changesPublished} (${report.publishFailed} publishes failed under injected faults)`,
    ],
    ['source records delivered', report.sourceRecords],
    ['handler invocations', report.invocations],
    ['faults injected', faults],
    ['resyncs (failed or retried)', `${report.resyncs} (${report.resyncFailures})`],
    ['resyncs that waited for a lease', report.resyncWaits],
    ['dead-lettered after retries', report.deadLettered],
    ['diverged until the next resync', report.divergedUntilResync],
    ['lost', report.lost],
    ['duplicated (applied twice)', report.duplicated],
    ['out of order', report.outOfOrder],
    ['feedback missing', report.feedbackMissing],
    ['view != table', report.viewMismatches],
    ['table != last write', report.storeMismatches],
    ['duration', `${(report.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [`${title}`, ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)].join('\n');
}

/** Prints the report and, with `DATASYNC_REPORT=path`, writes it as JSON. */
export function publishReport(report: ReliabilityReport, title: string): void {
  process.stdout.write(`\n${formatReport(report, title)}\n`);
  const path = process.env.DATASYNC_REPORT;
  if (path) writeFileSync(path, JSON.stringify(report, null, 2));
}
