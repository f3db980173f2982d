// The shared pieces of every function in this service, built once per Lambda container. This is
// the file to edit to register your own plugins (in registration = resync order). Only what every
// function needs lives here; what one function needs is in that function's file.
import { createExamplePlugins } from '../examples/plugins/index.ts';
import { tablesFromEnvironment } from '../lib/config.ts';
import { createDatasyncCore } from '../lib/core.ts';
import { ProgressHub } from '../lib/resync/progress-hub.ts';
import { requestResync as sendResyncRequest } from '../lib/resync/request.ts';
import { FailureTracker } from '../lib/resync/failures.ts';
import { DynamoDbLedger } from '../lib/state/ledger.ts';

/** The tables this service reads (`DATASYNC_TABLES`). */
export const tables = tablesFromEnvironment();

// Where the example plugins write their one line per change; the local runner shows it its own way.
let pluginLog: (line: string) => void = (line) => console.log(line);

/** Sends the example plugins' lines somewhere else than standard output. */
export function setPluginLog(write: (line: string) => void): void {
  pluginLog = write;
}

/**
 * The plugins, in registration (= resync) order: interfaces, then routes, which refer to
 * interfaces. (Bus messages for the tables' keys are written to the tables by the SQS and
 * EventBridge functions' store, `DATASYNC_STORE`, not by a plugin: the tables' streams then
 * deliver them in the tables' order.)
 */
export const plugins = createExamplePlugins((line) => pluginLog(line));

// Revisions, held changes and resync status live in the state table, so they outlast a container.
const ledger = new DynamoDbLedger();

/** Asks the resync function (through its queue) to resync some plugins, or all. */
export async function requestResync(pluginNames?: readonly string[]): Promise<string> {
  const request = await sendResyncRequest({ reason: 'manual', ...(pluginNames ? { plugins: [...pluginNames] } : {}) });
  return request.resyncId;
}

// A plugin that keeps failing is marked out of sync (its changes are held) and resynced.
// (It asks the resync function through its queue itself.)
const failures = new FailureTracker({ store: ledger.store, ledger });

/** Progress of the resyncs this container runs; subscribe to watch them. */
export const resyncProgress = new ProgressHub();

/**
 * The datasync core every function delivers to. Each function adds its own source's handler, so
 * its bundle carries only that source.
 */
export const datasync = createDatasyncCore({ plugins, ledger, onOutcomes: (outcomes) => failures.record(outcomes) });
