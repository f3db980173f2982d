import { createHttpHandler } from '../lib/sources/http/handler.ts';
import { createHttpTableWriter } from '../lib/sources/http/table-writer.ts';
import { datasync, requestResync, tables } from './app.ts';

/**
 * The HTTP API writes each key to the table whose prefix holds it; the stream then delivers it. A
 * delete is remembered in the state table (`DATASYNC_STATE_TABLE`), so an older bus put of its key
 * that arrives later does not bring the key back.
 */
const publisher = createHttpTableWriter({ tables });

/** HTTP API (payload v2) for RPC clients: `PUT`/`DELETE /keys/{key+}`, `POST /resync`. */
export const handler = createHttpHandler(datasync, { publish: publisher, requestResync });
