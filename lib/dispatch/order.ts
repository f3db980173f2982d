import type { Change } from '../model/change.ts';
import { compareRevisions, isNewerRevision, type Revision } from '../model/revision.ts';

/** How a plugin's share of a change event is split before delivery. */
export interface DeliveryPlan {
  /** Changes to apply, in per-key revision order. */
  readonly deliver: Change[];
  /** Changes not applied because the plugin already holds that revision or a newer one. */
  readonly skipped: Change[];
  /** Changes kept back until the plugin's resync finishes (see the sync state). */
  readonly held: Change[];
}

/**
 * Orders changes per key by revision and drops those at or below what the plugin holds (and
 * repeats within the batch). Changes of different keys keep their relative positions; a key with
 * any unrevisioned change keeps its arrival order, since it cannot be ordered.
 *
 * @param held the revision the plugin holds per key; keys it has never seen are absent.
 */
export function planByRevision(changes: readonly Change[], held: ReadonlyMap<string, Revision>): DeliveryPlan {
  const byKey = new Map<string, Change[]>();
  for (const change of changes) {
    const list = byKey.get(change.key);
    if (list) list.push(change);
    else byKey.set(change.key, [change]);
  }
  const ordered = new Map<string, Change[]>();
  const skipped: Change[] = [];
  for (const [key, list] of byKey) {
    const sortable = list.every((change) => change.revision !== undefined);
    const sorted =
      sortable && list.length > 1 ? [...list].sort((a, b) => compareRevisions(a.revision!, b.revision!)) : list;
    let latest = held.get(key);
    const kept: Change[] = [];
    for (const change of sorted) {
      if (change.revision !== undefined && !isNewerRevision(change.revision, latest)) {
        skipped.push(change);
        continue;
      }
      kept.push(change);
      if (change.revision !== undefined) latest = change.revision;
    }
    ordered.set(key, kept);
  }
  // Put each key's ordered changes back into the slots that key occupied.
  const cursor = new Map<string, number>();
  const deliver: Change[] = [];
  for (const change of changes) {
    const list = ordered.get(change.key)!;
    const index = cursor.get(change.key) ?? 0;
    if (index < list.length) deliver.push(list[index]!);
    cursor.set(change.key, index + 1);
  }
  return { deliver, skipped, held: [] };
}
