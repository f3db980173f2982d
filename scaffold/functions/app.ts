// The shared pieces of every function in this service, built once per Lambda container. This is
// the file to edit to register your plugins (in registration = resync order). Only what every
// function needs lives here; what one function needs is in that function's file.
import {
  createDatasyncCore,
  DynamoDbLedger,
  FailureTracker,
  ProgressHub,
  requestResync as sendResyncRequest,
  tablesFromEnvironment,
} from 'serverless-datasync';
import { createGreetingsPlugin } from '../plugins/greetings.ts';

/** The tables this service reads (`DATASYNC_TABLES`). */
export const tables = tablesFromEnvironment();

/** The plugins, in registration (= resync) order: a plugin that refers to another comes after it. */
export const plugins = [createGreetingsPlugin()] as const;

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
