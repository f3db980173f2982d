import { DatasyncError } from '../errors.ts';
import type { AppliedShare, DeliveryLedger, PluginShare } from '../dispatch/ledger.ts';
import { planByRevision, type DeliveryPlan } from '../dispatch/order.ts';
import { keyRecordsAfter } from './held.ts';
import type { HeldKey, PositionWrite } from './key-rows.ts';
import { SyncStateStore, type SyncStateOptions } from './store.ts';

/**
 * The durable delivery ledger: where each plugin stands on each key, and its sync status, live in
 * the state table, so every Lambda container agrees on them.
 *
 * `plan` reads the status rows of the event's plugins and the rows of its keys together (one
 * BatchGetItem per 100 rows; a key's row holds every plugin's position on it) and orders each
 * plugin's changes by revision. A plugin that is not `in-sync` (never synced, resyncing, out of
 * sync) receives nothing: its changes are held in the table, atomically with a check of its
 * status, and applied in order after its resync. `commit` records what the plugins applied with
 * one update per key row, each conditional on the positions it read: a position another delivery
 * recorded meanwhile is never overwritten, so the ledger never moves backwards.
 */
export class DynamoDbLedger implements DeliveryLedger {
  /** The state table this ledger reads and writes. */
  readonly store: SyncStateStore;
  // What each plan was made from: the positions read (the commit is conditional on them) and the
  // snapshot current then (the positions written follow it). Kept per plan, since deliveries of
  // other keys to the same plugin may be planned meanwhile.
  readonly #basis = new WeakMap<DeliveryPlan, { keys: Map<string, HeldKey>; snapshot?: string }>();
  // The failure count the last plan read per plugin, so a success writes only when it must.
  readonly #failures = new Map<string, number>();

  constructor(options: SyncStateOptions | { store: SyncStateStore } = {}) {
    this.store = 'store' in options ? options.store : new SyncStateStore(options);
  }

  async plan(shares: readonly PluginShare[]): Promise<Map<string, DeliveryPlan>> {
    const read = await this.store.positions(
      shares.map(({ plugin, changes }) => ({ plugin, keys: changes.map((change) => change.key) })),
    );
    const plans = new Map<string, DeliveryPlan>();
    const again: PluginShare[] = [];
    await Promise.all(
      shares.map(async ({ plugin, changes }) => {
        const { status, keys } = read.get(plugin)!;
        const snapshot = status?.snapshotId?.S;
        this.#failures.set(plugin, Number(status?.failures?.N ?? 0));
        const plan = planByRevision(changes, keys);
        if (status?.status?.S === 'in-sync' || plan.deliver.length === 0) {
          this.#basis.set(plan, { keys, ...(snapshot === undefined ? {} : { snapshot }) });
          plans.set(plugin, plan);
        } else if (await this.store.hold(plugin, plan.deliver)) {
          plans.set(plugin, { deliver: [], skipped: plan.skipped, held: plan.deliver });
        } else {
          // The plugin's resync finished between the read and the hold: plan it again as in sync.
          again.push({ plugin, changes });
        }
      }),
    );
    if (again.length > 0) for (const [plugin, plan] of await this.plan(again)) plans.set(plugin, plan);
    return plans;
  }

  async commit(applied: readonly AppliedShare[]): Promise<Map<string, Error>> {
    const writes: PositionWrite[] = [];
    for (const { plugin, changes, plan } of applied) {
      const read = this.#basis.get(plan);
      for (const record of keyRecordsAfter(changes, read?.keys)) {
        writes.push({
          plugin,
          record,
          ...(read?.snapshot === undefined ? {} : { under: read.snapshot }),
          expect: read?.keys.get(record.key)?.stored ?? null,
        });
      }
    }
    const refused = await this.store.commitPositions(writes);
    const errors = new Map<string, Error>();
    for (const write of refused) {
      if (errors.has(write.plugin)) continue;
      errors.set(
        write.plugin,
        new DatasyncError(
          'STATE_FAILED',
          `another delivery recorded ${write.record.key} for plugin "${write.plugin}" while this one applied it; ` +
            'its changes are retried',
          { details: { plugin: write.plugin, key: write.record.key } },
        ),
      );
    }
    return errors;
  }

  /** The failure count the last `plan` read for a plugin, if any. */
  knownFailures(plugin: string): number | undefined {
    return this.#failures.get(plugin);
  }
}
