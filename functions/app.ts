// The shared pieces of every function in this service, built once per Lambda container.
import { createExamplePlugins } from '../examples/plugins/index.ts';
import { tablesFromEnvironment } from '../lib/config.ts';
import { createDatasync } from '../lib/datasync.ts';
import { DatasyncError } from '../lib/errors.ts';
import type { ChangePublisher } from '../lib/sources/http/handler.ts';

/** The tables this service reads (`DATASYNC_TABLES`). */
export const tables = tablesFromEnvironment();

/** The example plugins, in registration (= resync) order. */
export const plugins = createExamplePlugins();

/** The datasync instance every source function delivers to. */
export const datasync = createDatasync({ plugins });

const notConfigured = (what: string) => async (): Promise<never> => {
  throw new DatasyncError('CONFIGURATION', `no ${what} is configured for the HTTP API`);
};

/**
 * The publisher behind `PUT`/`DELETE /keys/...`. Until one is configured here, writes answer 500
 * with code `CONFIGURATION` rather than pretending to succeed.
 */
export const publisher: ChangePublisher = { put: notConfigured('publisher'), delete: notConfigured('publisher') };

/** Sends a resync request (`POST /resync`); answers 500 `CONFIGURATION` until one is configured here. */
export const requestResync: (plugins?: readonly string[]) => Promise<string | void> = notConfigured('resync requester');
