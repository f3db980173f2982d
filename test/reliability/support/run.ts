import { createAwsClients } from '../../../lib/aws/clients.ts';
import type { Step } from './schedule.ts';
import { World, type ScheduleCounts } from './world.ts';

/** Runs one schedule on fresh resources; returns the violations (empty when every invariant held). */
export async function runSchedule(
  steps: readonly Step[],
  onCounts?: (counts: ScheduleCounts) => void,
): Promise<string[]> {
  const world = await World.create(createAwsClients());
  try {
    await world.start();
    for (const step of steps) await world.step(step);
    await world.settle();
    const { counts, violations } = await world.check();
    onCounts?.(counts);
    return violations;
  } finally {
    await world.remove();
  }
}
