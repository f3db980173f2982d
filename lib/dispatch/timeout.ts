import { PluginTimeoutError } from '../errors.ts';

/**
 * Runs `work` with a time limit. When the limit passes first, the returned promise rejects with
 * `PluginTimeoutError` and the signal given to `work` is aborted, so cooperative work can stop;
 * work that ignores the signal is left to settle on its own and its result is discarded.
 */
export async function runWithTimeout<T>(
  plugin: string,
  timeoutMs: number,
  work: (signal: AbortSignal) => T | Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new PluginTimeoutError(plugin, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    // `Promise.resolve().then` turns a synchronous throw into a rejection like an async one.
    return await Promise.race([Promise.resolve().then(() => work(controller.signal)), expired]);
  } finally {
    clearTimeout(timer);
  }
}
