import { createHttpHandler, createTablesPublisher, type Publisher } from 'serverless-datasync';
import { datasync, requestResync, tables } from './app.ts';

// Made on first use, so a function without tables configured fails its request, not its start.
let tablesPublisher: Publisher | undefined;
const publishing = (): Publisher => (tablesPublisher ??= createTablesPublisher(tables));

/** The HTTP API writes each key to the table whose prefix holds it; the stream then delivers it. */
const publisher: Pick<Publisher, 'put' | 'delete'> = {
  put: (key, value, options) => publishing().put(key, value, options),
  delete: (key, options) => publishing().delete(key, options),
};

/** HTTP API (payload v2) for RPC clients: `PUT`/`DELETE /keys/{key+}`, `POST /resync`. */
export const handler = createHttpHandler(datasync, { publish: publisher, requestResync });
