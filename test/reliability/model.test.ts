import fc from 'fast-check';
import { addCounts, emptyReport, publishReport } from './support/report.ts';
import { scheduleArbitrary } from './support/schedule.ts';
import { runSchedule } from './support/run.ts';

// The model-based suite: random schedules of publishes from every source, deliveries that are
// batched, shuffled, duplicated and crashed, plugin and AWS faults and resyncs in the middle of
// traffic, run against the emulator; every invariant is checked after each schedule.
//   DATASYNC_SEED=n        replay a run (the seed is printed on every run and on failure)
//   DATASYNC_PATH=p        replay one failing schedule (with its seed; printed by fast-check)
//   DATASYNC_SCHEDULES=n   how many schedules (default 6; DATASYNC_SOAK=1 default 60)
//   DATASYNC_STEPS=n       the longest schedule (default 30; soak 60)
const soak = process.env.DATASYNC_SOAK === '1';
const seed = process.env.DATASYNC_SEED ? Number(process.env.DATASYNC_SEED) : Date.now() % 2 ** 31;
const schedules = Number(process.env.DATASYNC_SCHEDULES ?? (soak ? 60 : 6));
const maxSteps = Number(process.env.DATASYNC_STEPS ?? (soak ? 60 : 30));

describe('reliability: random schedules against the emulator', () => {
  const report = emptyReport(seed);
  const started = Date.now();

  afterAll(() => {
    report.durationMs = Date.now() - started;
    publishReport(report, `reliability report (${soak ? 'soak' : 'CI'} run; replay with DATASYNC_SEED=${seed})`);
  });

  it(
    `holds every invariant over ${schedules} schedules (seed ${seed})`,
    async () => {
      process.stdout.write(`reliability suite: seed ${seed}, ${schedules} schedules of up to ${maxSteps} steps\n`);
      await fc.assert(
        fc.asyncProperty(scheduleArbitrary({ minSteps: Math.min(8, maxSteps), maxSteps }), async (steps) => {
          const violations = await runSchedule(steps, (counts) => addCounts(report, counts));
          if (violations.length > 0)
            throw new Error(
              `${violations.length} invariant violation(s):\n${violations.slice(0, 20).join('\n')}\nschedule: ${JSON.stringify(steps)}`,
            );
        }),
        {
          seed,
          numRuns: schedules,
          ...(process.env.DATASYNC_PATH ? { path: process.env.DATASYNC_PATH } : {}),
          // Shrinking replays schedules against the emulator; it is opt-in.
          endOnFailure: process.env.DATASYNC_SHRINK !== '1',
          verbose: true,
        },
      );
    },
    Math.max(300_000, schedules * 60_000),
  );
});
