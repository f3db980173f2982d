// One plugin's plan and commit through the batch-level ledger, for tests about one plugin.
import type { DeliveryLedger } from '../../lib/dispatch/ledger.ts';
import type { DeliveryPlan } from '../../lib/dispatch/order.ts';
import type { Change } from '../../lib/model/change.ts';

/** Plans one plugin's changes. */
export async function planFor(
  ledger: DeliveryLedger,
  plugin: string,
  changes: readonly Change[],
): Promise<DeliveryPlan> {
  return (await ledger.plan([{ plugin, changes }])).get(plugin)!;
}

/** Records that a plugin applied what its plan delivered; throws what the ledger refused. */
export async function commitFor(ledger: DeliveryLedger, plugin: string, plan: DeliveryPlan): Promise<void> {
  const refused = await ledger.commit([{ plugin, changes: plan.deliver, plan }]);
  const error = refused.get(plugin);
  if (error) throw error;
}
