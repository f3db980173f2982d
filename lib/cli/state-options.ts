import { ENV } from '../config.ts';
import { SyncStateStore } from '../state/store.ts';
import { stringOption, UsageError, type CliContext } from './command.ts';

/**
 * The sync-state store named by `--state-table` or `DATASYNC_STATE_TABLE`.
 * @throws UsageError when neither is given.
 */
export function stateStoreOption(context: CliContext): SyncStateStore {
  const stateTable = stringOption(context, 'state-table') ?? context.env[ENV.stateTable];
  if (!stateTable) throw new UsageError(`give --state-table or set ${ENV.stateTable}`);
  return new SyncStateStore({ stateTable, clients: context.clients() });
}
