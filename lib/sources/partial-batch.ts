import { compareRevisions } from '../model/revision.ts';

/**
 * Which records a source reports back as failed, given the records whose own work failed. Each
 * source's meaning differs (see docs/sources.md); every function returns ids in batch order.
 */

/** SQS standard queues: exactly the failed messages (the rest are deleted). */
export function standardQueueFailures(
  records: ReadonlyArray<{ readonly messageId: string }>,
  failed: ReadonlySet<string>,
): string[] {
  return records.filter((record) => failed.has(record.messageId)).map((record) => record.messageId);
}

/**
 * SQS FIFO queues: a failed message and every later message of the same message group, so the
 * group's order holds when they are delivered again. Other groups in the batch are unaffected.
 */
export function fifoQueueFailures(
  records: ReadonlyArray<{
    readonly messageId: string;
    readonly attributes?: { readonly MessageGroupId?: string | undefined };
  }>,
  failed: ReadonlySet<string>,
): string[] {
  const stopped = new Set<string | undefined>();
  const out: string[] = [];
  for (const record of records) {
    const group = record.attributes?.MessageGroupId;
    if (stopped.has(group) || failed.has(record.messageId)) {
      stopped.add(group);
      out.push(record.messageId);
    }
  }
  return out;
}

/**
 * DynamoDB streams: Lambda checkpoints at the lowest sequence number reported, so the first failed
 * record and every record after it are reported, and nothing later is taken as done.
 */
export function streamFailures(sequenceNumbers: readonly string[], failed: ReadonlySet<string>): string[] {
  let lowest: string | undefined;
  for (const sequence of sequenceNumbers) {
    if (failed.has(sequence) && (lowest === undefined || compareRevisions(sequence, lowest) < 0)) lowest = sequence;
  }
  if (lowest === undefined) return [];
  const first = sequenceNumbers.indexOf(lowest);
  // Report by position too, so a record out of sequence order after the failure is still retried.
  return sequenceNumbers.filter((sequence, index) => index >= first || compareRevisions(sequence, lowest) >= 0);
}

/** The Lambda partial batch response for the given item ids. */
export function batchResponse(ids: readonly string[]): { batchItemFailures: Array<{ itemIdentifier: string }> } {
  return { batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) };
}
