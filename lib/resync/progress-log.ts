import type { DatasyncLogger } from '../observability/logger.ts';
import type { ProgressListener } from './progress.ts';

/**
 * A progress listener that logs a resync as it runs: each plugin's start, checkpoints and end
 * (an error line when it failed), and one line per `everyItems` items handed over, so a resync of
 * a big table shows it is alive without a line per page.
 */
export function logResyncProgress(logger: DatasyncLogger, everyItems = 10_000): ProgressListener {
  // Items logged last, per resync and plugin, while that plugin's resync runs.
  const logged = new Map<string, number>();
  return (progress) => {
    const id = `${progress.resyncId}/${progress.plugin}`;
    if (progress.phase === 'page' && progress.items - (logged.get(id) ?? 0) < everyItems) return;
    logged.set(id, progress.items);
    if (progress.phase === 'finished' || progress.phase === 'failed') logged.delete(id);
    logger[progress.phase === 'failed' ? 'error' : 'info'](`resync ${progress.phase}`, { ...progress });
  };
}
