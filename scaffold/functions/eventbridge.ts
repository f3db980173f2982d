import { createEventBridgeHandler } from 'serverless-datasync';
import { datasync } from './app.ts';

/** EventBridge rule target; the accepted `source`/`detail-type` come from the environment when set. */
export const handler = createEventBridgeHandler(datasync, {
  ...(process.env.DATASYNC_EVENT_SOURCE ? { source: process.env.DATASYNC_EVENT_SOURCE } : {}),
  ...(process.env.DATASYNC_EVENT_DETAIL_TYPE ? { detailType: process.env.DATASYNC_EVENT_DETAIL_TYPE } : {}),
});
