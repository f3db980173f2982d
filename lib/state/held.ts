import type { Change } from '../model/change.ts';
import type { Revision } from '../model/revision.ts';
import { planByRevision } from '../dispatch/order.ts';
import type { HeldKey } from './store.ts';

/** The revision per key of what a plugin holds, for `planByRevision`. */
export function revisionsOf(keys: ReadonlyMap<string, HeldKey>): Map<string, Revision> {
  const revisions = new Map<string, Revision>();
  for (const [key, held] of keys) if (held.revision !== undefined) revisions.set(key, held.revision);
  return revisions;
}

/**
 * Plans the changes held during a resync, once the snapshot is in: per key in revision order,
 * without those at or below the snapshot's revision, and without a delete of a key the plugin
 * already knows is deleted (the resync reported it, so reporting it again would apply it twice).
 */
export function planHeldChanges(
  changes: readonly Change[],
  keys: ReadonlyMap<string, HeldKey>,
): { deliver: Change[]; skipped: Change[] } {
  const plan = planByRevision(changes, revisionsOf(keys));
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

/** What a plugin holds per key after applying `applied` (the last change of each key wins). */
export function keyRecordsAfter(
  applied: readonly Change[],
  known?: ReadonlyMap<string, Revision>,
): Array<{ key: string; revision?: Revision; present: boolean }> {
  const latest = new Map<string, { revision?: Revision; present: boolean }>();
  for (const change of applied) {
    const before = latest.get(change.key);
    // An unrevisioned change keeps the last revision known for its key, so revisions never go back.
    const revision = change.revision ?? before?.revision ?? known?.get(change.key);
    latest.set(change.key, { present: change.op === 'put', ...(revision === undefined ? {} : { revision }) });
  }
  return [...latest].map(([key, record]) => ({ key, ...record }));
}
