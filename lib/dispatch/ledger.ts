import type { Change } from '../model/change.ts';
import type { Revision } from '../model/revision.ts';
import { planByRevision, type DeliveryPlan } from './order.ts';

/**
 * What the dispatcher asks before and after delivering changes to a plugin: which revisions it
 * already holds (so redeliveries are not applied twice) and whether it may receive changes yet.
 * The in-memory ledger serves one process; the sync-state table provides a durable one.
 */
export interface DeliveryLedger {
  /** Splits a plugin's changes into those to deliver now, those already applied and those held back. */
  plan(plugin: string, changes: readonly Change[]): Promise<DeliveryPlan>;
  /** Records that the plugin applied the delivered changes. */
  commit(plugin: string, applied: readonly Change[]): Promise<void>;
}

/** A ledger kept in memory: revisions per plugin and key, for one process's lifetime. */
export class MemoryLedger implements DeliveryLedger {
  readonly #revisions = new Map<string, Map<string, Revision>>();

  async plan(plugin: string, changes: readonly Change[]): Promise<DeliveryPlan> {
    return planByRevision(changes, this.#revisions.get(plugin) ?? new Map());
  }

  async commit(plugin: string, applied: readonly Change[]): Promise<void> {
    let held = this.#revisions.get(plugin);
    if (!held) {
      held = new Map();
      this.#revisions.set(plugin, held);
    }
    for (const change of applied) {
      if (change.revision !== undefined) held.set(change.key, change.revision);
    }
  }

  /** The revision a plugin holds for a key, if any. */
  revision(plugin: string, key: string): Revision | undefined {
    return this.#revisions.get(plugin)?.get(key);
  }
}
