/**
 * Splitting work into the batches AWS batch APIs accept, and running batches side by side. Every
 * batch call of the library (SendMessageBatch, PutEvents, BatchWriteItem, BatchGetItem) groups
 * its entries here, so the limits are applied one way everywhere.
 */

/**
 * Splits entries into consecutive groups of at most `maxCount` entries and `maxBytes` bytes
 * (as `sizeOf` counts them), keeping order. An entry larger than `maxBytes` on its own gets a group
 * of its own: the service then refuses it, and the caller reports it, rather than it being dropped.
 */
export function chunk<E>(
  entries: readonly E[],
  maxCount: number,
  maxBytes = Infinity,
  sizeOf: (entry: E) => number = () => 0,
): E[][] {
  const groups: E[][] = [];
  let current: E[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Runs `work` on every item with at most `concurrency` running at once, starting them in order.
 * The first error rejects the whole (work already started still finishes on its own).
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker));
}
