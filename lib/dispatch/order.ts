import type { Change } from '../model/change.ts';
import { compareRevisions, type Revision } from '../model/revision.ts';

/** How a plugin's share of a change event is split before delivery. */
export interface DeliveryPlan {
  /** Changes to apply, in per-key revision order. */
  readonly deliver: Change[];
  /** Changes not applied because the plugin already holds that revision or a newer one. */
  readonly skipped: Change[];
  /** Changes kept back until the plugin's resync finishes (see the sync state). */
  readonly held: Change[];
}

/** Where a plugin stands on one key: what it was last given. */
export interface Position {
  /** The revision of the last change applied (a stream sequence number, or a sender's revision). */
  readonly revision?: Revision;
  /** The item version held, when the key lives in a table that keeps versions. */
  readonly version?: Revision;
  /**
   * True when the plugin holds the key as its last resync handed it over: the snapshot read the
   * item but not its stream position, so a stream change is compared by version instead.
   */
  readonly fromSnapshot?: boolean;
  /** False once the plugin saw the key deleted. */
  readonly present?: boolean;
}

/**
 * Whether a change is newer than what the plugin holds for its key, so it must be applied.
 *
 * - A change without a revision cannot be ordered: it is applied.
 * - At or below the revision last applied: a duplicate or a late redelivery, not applied.
 * - Held as a resync left it (the snapshot's item, or a deletion the resync reported), the
 *   change's item version decides, since the resync read no stream position: a put of the version
 *   held (or an older one) was already handed over; a delete of that version or a later one is
 *   new (of a key the plugin holds deleted, only a later one). Without versions on both sides it
 *   is applied (the snapshot cannot tell).
 */
export function isNewerChange(change: Change, held: Position | undefined): boolean {
  if (held === undefined || change.revision === undefined) return true;
  if (held.revision !== undefined && compareRevisions(change.revision, held.revision) <= 0) return false;
  const byVersion = held.fromSnapshot === true || held.revision === undefined;
  if (byVersion && held.version !== undefined && change.version !== undefined) {
    const order = compareRevisions(change.version, held.version);
    if (change.op === 'put') return order > 0;
    return held.present === false ? order > 0 : order >= 0;
  }
  return true;
}

/** Where a plugin stands on a key after applying `change`. */
export function positionAfter(change: Change, before: Position | undefined): Position {
  const revision = change.revision ?? before?.revision;
  return {
    present: change.op === 'put',
    ...(revision === undefined ? {} : { revision }),
    ...(change.version === undefined ? {} : { version: change.version }),
  };
}

/**
 * Orders changes per key by revision and drops those the plugin already holds (and repeats
 * within the batch). Changes of different keys keep their relative positions; a key with any
 * unrevisioned change keeps its arrival order, since it cannot be ordered.
 *
 * @param held where the plugin stands per key; keys it has never seen are absent.
 */
export function planByRevision(changes: readonly Change[], held: ReadonlyMap<string, Position>): DeliveryPlan {
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
    let position = held.get(key);
    const kept: Change[] = [];
    for (const change of sorted) {
      if (!isNewerChange(change, position)) {
        skipped.push(change);
        continue;
      }
      kept.push(change);
      position = positionAfter(change, position);
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
