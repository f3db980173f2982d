import { createHttpHandler } from '../lib/sources/http/handler.ts';
import { datasync, publisher, requestResync } from './app.ts';

/** HTTP API (payload v2) for RPC clients: `PUT`/`DELETE /keys/{key+}`, `POST /resync`. */
export const handler = createHttpHandler(datasync, { publish: publisher, requestResync });
