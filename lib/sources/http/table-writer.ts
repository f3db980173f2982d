import type { AwsClients } from '../../aws/clients.ts';
import { ENV, tablesFromEnvironment } from '../../config.ts';
import type { TableConfig } from '../../model/table-config.ts';
import { createTablesPublisher } from '../../publish/tables.ts';
import type { Publisher } from '../../publish/types.ts';
import { TableStore } from '../store.ts';
import type { ChangePublisher, HttpPublishResult } from './handler.ts';

/** Options of {@link createHttpTableWriter}. */
export interface HttpTableWriterOptions {
  /** The tables the API writes; default `DATASYNC_TABLES`. */
  readonly tables?: readonly TableConfig[];
  /**
   * The sync-state table, where a delete is remembered (its tombstone); default
   * `DATASYNC_STATE_TABLE`. Without one, a delete that finds nothing to delete is not remembered.
   */
  readonly stateTable?: string;
  readonly clients?: Partial<AwsClients>;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * How the HTTP API writes the tables (its `publish` option), each key to the table whose prefix
 * holds it; the table's stream then delivers the change.
 *
 * - A PUT goes through the tables publisher: the item's new version is the clock's revision, or one
 *   more than the version it read when that is larger.
 * - A DELETE goes through the store the SQS and EventBridge functions write with, as a delete
 *   stamped by the clock: it removes the item when its version is older, and leaves a tombstone in
 *   the state table even when there is nothing to delete, so a put sent just before it through a
 *   bus, which the store writes later, does not bring the key back (see docs/state.md).
 *
 * Both are made on first use, so a function without tables configured fails its request, not its
 * start.
 */
export function createHttpTableWriter(options: HttpTableWriterOptions = {}): ChangePublisher {
  let made: { publisher: Publisher; store: TableStore } | undefined;
  const make = () => {
    if (made) return made;
    const env = options.env ?? process.env;
    const tables = options.tables ?? tablesFromEnvironment(env);
    const stateTable = options.stateTable ?? env[ENV.stateTable];
    const clients = options.clients ? { clients: options.clients } : {};
    made = {
      publisher: createTablesPublisher(tables, clients),
      store: new TableStore({ tables, ...(stateTable ? { stateTable } : {}), ...clients }),
    };
    return made;
  };
  return {
    put: (key, value, { correlationId }) => make().publisher.put(key, value, { correlationId }),
    async delete(key, { correlationId }): Promise<HttpPublishResult> {
      const { store } = make();
      const [outcome] = await store.write([
        { key, op: 'delete', source: { type: 'http', name: 'http' }, time: new Date().toISOString(), correlationId },
      ]);
      if ('error' in outcome!) throw outcome.error;
      // Not stored: nothing older was there to delete (absent, or a newer item or deletion).
      if (outcome!.result === 'superseded') return { unchanged: true };
      return outcome!.version === undefined ? {} : { version: outcome!.version };
    },
  };
}
