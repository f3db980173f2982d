import { ENV } from '../config.ts';
import { SyncStateStore } from '../state/store.ts';
import { stringOption, UsageError, type CliContext } from './command.ts';

/** The options of the commands that read the sync-state table. */
export const STATE_OPTIONS = {
  'state-table': { type: 'string' },
} as const;

/** The help line of the state table option. */
export const STATE_HELP = `  --state-table <name>       the sync-state table (env ${ENV.stateTable})`;

/** The plugins named by `--plugin` (repeatable, or comma separated), or undefined for none. */
export function pluginsOption(context: CliContext): string[] | undefined {
  const raw = context.values.plugin;
  const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
    (value): value is string => typeof value === 'string',
  );
  const names = values
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter(Boolean);
  return names.length > 0 ? [...new Set(names)] : undefined;
}

/**
 * The sync-state store named by `--state-table` or `DATASYNC_STATE_TABLE`.
 * @throws UsageError when neither is given.
 */
export function stateStoreOption(context: CliContext): SyncStateStore {
  const stateTable = stringOption(context, 'state-table') ?? context.env[ENV.stateTable];
  if (!stateTable) throw new UsageError(`give --state-table or set ${ENV.stateTable}`);
  return new SyncStateStore({ stateTable, clients: context.clients() });
}

/** A positive number of seconds from an option, in milliseconds. */
export function secondsOption(context: CliContext, name: string, fallbackSeconds: number): number {
  const text = stringOption(context, name);
  const seconds = text === undefined ? fallbackSeconds : Number(text);
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw new UsageError(`--${name} must be a positive number of seconds`);
  return Math.round(seconds * 1000);
}
