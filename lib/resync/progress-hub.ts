import type { ProgressListener, ResyncProgress } from './progress.ts';

/**
 * Fans resync progress out to listeners added at run time (a log line in Lambda, a progress bar
 * in the local runner), so the resync function's handler is built once and watched by anyone.
 */
export class ProgressHub {
  readonly #listeners = new Set<ProgressListener>();

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: ProgressListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The listener to give `createResyncHandler({ onProgress })`. */
  readonly publish: ProgressListener = (progress: ResyncProgress) => {
    for (const listener of this.#listeners) listener(progress);
  };
}
