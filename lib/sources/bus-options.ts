import { sqsClient } from '../aws/clients/sqs.ts';
import { ENV, tablesFromEnvironment } from '../config.ts';
import { DatasyncError } from '../errors.ts';
import type { TableConfig } from '../model/table-config.ts';
import type { BusRoute } from './bus-route.ts';
import { OrderedQueueForwarder } from './forward.ts';
import { TableStore } from './store.ts';

/** How a bus source (SQS, EventBridge) treats keys that live in a table, and where it keeps order. */
export interface BusSourceOptions {
  /** The tables the service keeps; default `DATASYNC_TABLES`. */
  readonly tables?: readonly TableConfig[];
  /**
   * Whether messages for the tables' keys are written to the tables (a `TableStore`, or true for
   * one over `tables` with tombstones in `DATASYNC_STATE_TABLE`). Off unless `DATASYNC_STORE` is
   * `on`: then such messages are refused, so only the table's writers (and the HTTP API) change
   * the tables.
   */
  readonly store?: boolean | TableStore;
  /**
   * The FIFO queue (its URL, or a forwarder to it) that changes arriving here move to, grouped by
   * key, before any plugin sees them; default `DATASYNC_ORDERED_QUEUE_URL`. A FIFO queue's own
   * messages are never moved.
   */
  readonly orderedQueue?: string | OrderedQueueForwarder;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The route of a bus source's changes, from its options or the environment.
 * @param ordered whether the source itself delivers in order (a FIFO queue): then nothing is moved.
 */
export function busRoute(options: BusSourceOptions, ordered: boolean): BusRoute {
  const env = options.env ?? process.env;
  const tables = options.tables ?? tablesFromEnvironment(env);
  const store = tableStoreOf(options, tables, env);
  const queue = options.orderedQueue ?? env[ENV.orderedQueueUrl];
  const forward =
    ordered || queue === undefined
      ? undefined
      : queue instanceof OrderedQueueForwarder
        ? queue
        : new OrderedQueueForwarder({ queueUrl: queue, sqs: sqsClient() });
  return { tables, ...(store ? { store } : {}), ...(forward ? { forward } : {}) };
}

/** The store the options or `DATASYNC_STORE` ask for, over `tables`; none when it is off. */
export function tableStoreOf(
  options: { readonly store?: boolean | TableStore },
  tables: readonly TableConfig[],
  env: NodeJS.ProcessEnv,
): TableStore | undefined {
  if (options.store instanceof TableStore) return options.store;
  const setting = env[ENV.store];
  if (setting !== undefined && setting !== 'on' && setting !== 'off') {
    throw new DatasyncError('CONFIGURATION', `${ENV.store} must be on or off, got ${JSON.stringify(setting)}`);
  }
  const on = options.store ?? setting === 'on';
  if (!on || tables.length === 0) return undefined;
  const stateTable = env[ENV.stateTable];
  return new TableStore({ tables, ...(stateTable ? { stateTable } : {}) });
}
