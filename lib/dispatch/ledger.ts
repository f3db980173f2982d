import type { Change } from '../model/change.ts';
import { planByRevision, positionAfter, type DeliveryPlan, type Position } from './order.ts';

/** One plugin's share of a change event. */
export interface PluginShare {
  readonly plugin: string;
  readonly changes: readonly Change[];
}

/** What a plugin applied, with the plan it was applied under (as `plan` returned it). */
export interface AppliedShare extends PluginShare {
  readonly plan: DeliveryPlan;
}

/**
 * What the dispatcher asks before and after delivering an event: where each plugin stands on
 * the event's keys (so redeliveries are not applied twice), whether it may receive changes yet,
 * and afterwards what each plugin applied. Both calls cover every plugin of the event at once, so
 * the state is read once and written once per key, however many plugins share the keys. The
 * in-memory ledger serves one process; the sync-state table provides a durable one.
 */
export interface DeliveryLedger {
  /** Splits each plugin's share into changes to deliver now, those already applied and those held back. */
  plan(shares: readonly PluginShare[]): Promise<Map<string, DeliveryPlan>>;
  /**
   * Records that each plugin applied its changes.
   * @returns the plugins whose record could not be written for some of their keys, with the
   *   reason (another delivery recorded the key meanwhile); their changes are to be retried.
   */
  commit(applied: readonly AppliedShare[]): Promise<Map<string, Error>>;
}

/** A ledger kept in memory: positions per plugin and key, for one process's lifetime. */
export class MemoryLedger implements DeliveryLedger {
  readonly #positions = new Map<string, Map<string, Position>>();

  async plan(shares: readonly PluginShare[]): Promise<Map<string, DeliveryPlan>> {
    return new Map(
      shares.map(({ plugin, changes }) => [plugin, planByRevision(changes, this.#positions.get(plugin) ?? new Map())]),
    );
  }

  async commit(applied: readonly AppliedShare[]): Promise<Map<string, Error>> {
    for (const { plugin, changes } of applied) {
      let positions = this.#positions.get(plugin);
      if (!positions) {
        positions = new Map();
        this.#positions.set(plugin, positions);
      }
      for (const change of changes) positions.set(change.key, positionAfter(change, positions.get(change.key)));
    }
    return new Map();
  }

  /** The revision a plugin holds for a key, if any. */
  revision(plugin: string, key: string): string | undefined {
    return this.#positions.get(plugin)?.get(key)?.revision;
  }
}
