import { createResyncHandler } from '../lib/index.ts';
import { datasync } from './app.ts';

/** The resync function: resync requests, continuations, the schedule and post-deploy invokes. */
export const handler = createResyncHandler(datasync);
