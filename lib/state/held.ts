import { planByRevision, positionAfter, type Position } from '../dispatch/order.ts';
import type { Change } from '../model/change.ts';
import type { HeldKey, KeyRecord } from './key-rows.ts';

/**
 * Plans the changes held during a resync, once the snapshot is in: per key in revision order,
 * without those the plugin already holds (the snapshot's item or a later change), and without a
 * delete of a key the plugin already knows is deleted (the resync reported it, so reporting it
 * again would apply it twice).
 */
export function planHeldChanges(
  changes: readonly Change[],
  keys: ReadonlyMap<string, HeldKey>,
): { deliver: Change[]; skipped: Change[] } {
  const plan = planByRevision(changes, keys);
  const present = new Map<string, boolean>();
  const deliver: Change[] = [];
  const skipped = [...plan.skipped];
  for (const change of plan.deliver) {
    const known = present.get(change.key) ?? keys.get(change.key)?.present;
    if (change.op === 'delete' && known === false) {
      skipped.push(change);
      continue;
    }
    present.set(change.key, change.op === 'put');
    deliver.push(change);
  }
  return { deliver, skipped };
}

/** Where a plugin stands per key after applying `applied` (the last change of each key wins). */
export function keyRecordsAfter(applied: readonly Change[], known?: ReadonlyMap<string, Position>): KeyRecord[] {
  const latest = new Map<string, Position>();
  for (const change of applied) {
    latest.set(change.key, positionAfter(change, latest.get(change.key) ?? known?.get(change.key)));
  }
  return [...latest].map(([key, position]) => ({
    key,
    present: position.present !== false,
    ...(position.revision === undefined ? {} : { revision: position.revision }),
    ...(position.version === undefined ? {} : { version: position.version }),
  }));
}
