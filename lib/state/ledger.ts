import type { DeliveryLedger } from '../dispatch/ledger.ts';
import { planByRevision, type DeliveryPlan } from '../dispatch/order.ts';
import type { Change } from '../model/change.ts';
import type { Revision } from '../model/revision.ts';
import { keyRecordsAfter, revisionsOf } from './held.ts';
import { SyncStateStore, type SyncStateOptions } from './store.ts';

/**
 * The durable delivery ledger: the revisions each plugin holds and its sync status live in the
 * state table, so every Lambda container agrees on them.
 *
 * `plan` reads the plugin's status row and the rows of the batch's keys in one BatchGetItem (per
 * 100 keys) and orders the changes by revision. A plugin that is not `in-sync` (never synced,
 * resyncing, out of sync) receives nothing: its changes are held in the table, atomically with a
 * check of its status, and applied in order after its resync. `commit` writes the new revisions
 * with BatchWriteItem.
 */
export class DynamoDbLedger implements DeliveryLedger {
  /** The state table this ledger reads and writes. */
  readonly store: SyncStateStore;
  // What the last plan read per plugin: revisions (so commit keeps a key's revision when the
  // applied change has none) and the failure count (so a success writes only when it must).
  readonly #known = new Map<string, Map<string, Revision>>();
  readonly #failures = new Map<string, number>();
  // The snapshot current at the last plan per plugin: the key rows a commit writes follow it.
  readonly #snapshots = new Map<string, string | undefined>();

  constructor(options: SyncStateOptions | { store: SyncStateStore } = {}) {
    this.store = 'store' in options ? options.store : new SyncStateStore(options);
  }

  async plan(plugin: string, changes: readonly Change[]): Promise<DeliveryPlan> {
    const { status, keys } = await this.store.heldKeys(
      plugin,
      changes.map((change) => change.key),
    );
    const revisions = revisionsOf(keys);
    this.#known.set(plugin, revisions);
    this.#failures.set(plugin, Number(status?.failures?.N ?? 0));
    this.#snapshots.set(plugin, status?.snapshotId?.S);
    const plan = planByRevision(changes, revisions);
    if (status?.status?.S === 'in-sync' || plan.deliver.length === 0) return plan;
    if (await this.store.hold(plugin, plan.deliver)) return { deliver: [], skipped: plan.skipped, held: plan.deliver };
    // The plugin's resync finished between the read and the hold: plan again as in sync.
    return this.plan(plugin, changes);
  }

  async commit(plugin: string, applied: readonly Change[]): Promise<void> {
    if (applied.length === 0) return;
    await this.store.writeKeys(plugin, keyRecordsAfter(applied, this.#known.get(plugin)), this.#snapshots.get(plugin));
  }

  /** The failure count the last `plan` read for a plugin, if any. */
  knownFailures(plugin: string): number | undefined {
    return this.#failures.get(plugin);
  }
}
