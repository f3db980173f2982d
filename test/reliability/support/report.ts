import { writeFileSync } from 'node:fs';
import type { ScheduleCounts } from './world.ts';

/** The reliability report: totals over every schedule of a run. */
export interface ReliabilityReport {
  seed: number;
  schedules: number;
  steps: number;
  changesPublished: number;
  publishFailed: number;
  sourceRecords: number;
  invocations: number;
  deadLettered: number;
  resyncs: number;
  resyncFailures: number;
  faults: Record<string, number>;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  feedbackMissing: number;
  viewMismatches: number;
  storeMismatches: number;
  divergedUntilResync: number;
  durationMs: number;
}

/** An empty report for a run with the given seed. */
export function emptyReport(seed: number): ReliabilityReport {
  return {
    seed, schedules: 0, steps: 0, changesPublished: 0, publishFailed: 0, sourceRecords: 0, invocations: 0, deadLettered: 0,
    resyncs: 0, resyncFailures: 0, faults: {}, lost: 0, duplicated: 0, outOfOrder: 0, feedbackMissing: 0, viewMismatches: 0,
    storeMismatches: 0, divergedUntilResync: 0, durationMs: 0,
  };
}

/** Adds one schedule's counts. */
export function addCounts(report: ReliabilityReport, counts: ScheduleCounts): void {
  report.schedules += 1;
  report.steps += counts.steps;
  report.changesPublished += counts.published;
  report.publishFailed += counts.publishFailed;
  report.sourceRecords += counts.records;
  report.invocations += counts.invocations;
  report.deadLettered += counts.deadLettered;
  report.resyncs += counts.resyncs;
  report.resyncFailures += counts.resyncFailures;
  for (const [kind, times] of Object.entries(counts.faults)) report.faults[kind] = (report.faults[kind] ?? 0) + times;
  report.lost += counts.lost;
  report.duplicated += counts.duplicated;
  report.outOfOrder += counts.outOfOrder;
  report.feedbackMissing += counts.feedbackMissing;
  report.viewMismatches += counts.viewMismatches;
  report.storeMismatches += counts.storeMismatches;
  report.divergedUntilResync += counts.divergedUntilResync;
}

/** The report as the table a person reads. */
export function formatReport(report: ReliabilityReport, title: string): string {
  const faults = Object.entries(report.faults).sort(([a], [b]) => a.localeCompare(b)).map(([kind, times]) => `${kind} ${times}`).join(', ') || 'none';
  const rows: Array<[string, string | number]> = [
    ['seed', report.seed],
    ['schedules run', report.schedules],
    ['steps', report.steps],
    ['changes published', `${report.changesPublished} (${report.publishFailed} publishes failed under injected faults)`],
    ['source records delivered', report.sourceRecords],
    ['handler invocations', report.invocations],
    ['faults injected', faults],
    ['resyncs (failed or retried)', `${report.resyncs} (${report.resyncFailures})`],
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
