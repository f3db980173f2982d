import { createLogger, createResyncHandler, logResyncProgress } from 'serverless-datasync';
import { datasync, resyncProgress } from './app.ts';

// The handler's logger, which its middleware gives the invocation's context.
const logger = createLogger();

// A resync of a big table shows its progress in the logs: each plugin's start and end, each
// checkpoint, and a line per 10,000 items handed over.
resyncProgress.subscribe(logResyncProgress(logger));

/** The resync function: resync requests, continuations, the schedule and post-deploy invokes. */
export const handler = createResyncHandler(datasync, { onProgress: resyncProgress.publish, logger });
