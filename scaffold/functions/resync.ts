import { createLogger, createResyncHandler } from 'serverless-datasync';
import { datasync, resyncProgress } from './app.ts';

// The handler's logger, which its middleware gives the invocation's context.
const logger = createLogger();

// A resync of a big table shows its progress in the logs: each plugin's start and end, each
// checkpoint, and a line per 10,000 items handed over.
const logged = new Map<string, number>();
resyncProgress.subscribe((progress) => {
  const id = `${progress.resyncId}/${progress.plugin}`;
  if (progress.phase === 'page' && progress.items - (logged.get(id) ?? 0) < 10_000) return;
  logged.set(id, progress.items);
  if (progress.phase === 'finished' || progress.phase === 'failed') logged.delete(id);
  logger[progress.phase === 'failed' ? 'error' : 'info'](`resync ${progress.phase}`, { ...progress });
});

/** The resync function: resync requests, continuations, the schedule and post-deploy invokes. */
export const handler = createResyncHandler(datasync, { onProgress: resyncProgress.publish, logger });
