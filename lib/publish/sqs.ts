import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../aws/clients.ts';
import { DatasyncError } from '../errors.ts';
import { toEnvelope } from '../model/envelope.ts';
import type { Revision } from '../model/revision.ts';
import { RevisionClock } from './clock.ts';
import { LIMITS } from './constants.ts';
import { chunk, published, settle, type Delivered, type PendingChange } from './pending.ts';
import { sendWithRetry, type EntryFailure, type RetryPolicy } from './retry.ts';
import type { SqsTarget } from './types.ts';
import type { TargetWriter } from './writer.ts';

interface SqsEntry {
  readonly change: PendingChange;
  readonly revision: Revision;
  readonly request: SendMessageBatchRequestEntry;
  readonly bytes: number;
}

// SQS accepts 1-128 characters of alphanumerics and ASCII punctuation in group and dedup ids.
const SQS_ID = /^[\x21-\x7e]{1,128}$/;

/** The message group of a key when the target names no function: the key, or its hash when SQS would refuse it. */
export function defaultMessageGroupId(key: string): string {
  return SQS_ID.test(key) ? key : `sha256:${sha256(key)}`;
}

/** The FIFO deduplication id of a change: the same for every resend of the same key and revision. */
export function deduplicationId(key: string, revision: Revision): string {
  return sha256(`${key}\n${revision}`);
}

/**
 * The SQS target: each change is one message whose body is the change envelope, sent with
 * SendMessageBatch (10 entries and 256 KiB a call). Revisions come from the publisher's clock.
 */
export function sqsWriter(target: SqsTarget, clients: AwsClients, policy: RetryPolicy): TargetWriter {
  const fifo = target.fifo ?? target.queueUrl.endsWith('.fifo');
  const groupOf = target.messageGroupId ?? defaultMessageGroupId;
  const clock = new RevisionClock();
  const name = `sqs:${target.queueUrl}`;

  const toEntry = (change: PendingChange, position: number): SqsEntry => {
    const revision = clock.next();
    const body = JSON.stringify(toEnvelope({
      key: change.key, op: change.op, revision, time: new Date().toISOString(),
      ...(change.value === undefined ? {} : { value: change.value }),
      ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
    }));
    const request: SendMessageBatchRequestEntry = { Id: `c${position}`, MessageBody: body };
    if (fifo) {
      const group = groupOf(change.key);
      if (typeof group !== 'string' || !SQS_ID.test(group)) {
        throw new DatasyncError('CONFIGURATION', `messageGroupId gave ${JSON.stringify(group)} for ${change.key}: SQS needs 1-128 printable ASCII characters`);
      }
      request.MessageGroupId = group;
      request.MessageDeduplicationId = deduplicationId(change.key, revision);
    }
    return { change, revision, request, bytes: Buffer.byteLength(body, 'utf8') };
  };

  const send = async (entries: SqsEntry[]) => {
    const response = await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: target.queueUrl, Entries: entries.map((e) => e.request) }));
    const byId = new Map(entries.map((entry) => [entry.request.Id!, entry]));
    const delivered: Delivered[] = [];
    const failed: EntryFailure<SqsEntry>[] = [];
    for (const success of response.Successful ?? []) {
      const entry = byId.get(success.Id!);
      if (!entry) continue;
      byId.delete(success.Id!);
      delivered.push(published(entry.change, entry.revision, success.MessageId));
    }
    for (const failure of response.Failed ?? []) {
      const entry = byId.get(failure.Id!);
      if (!entry) continue;
      byId.delete(failure.Id!);
      failed.push({
        entry, retryable: !failure.SenderFault, reason: `${failure.Code ?? 'Failed'}: ${failure.Message ?? 'no message'}`,
        ...(failure.Code ? { errorCode: failure.Code } : {}),
      });
    }
    // An entry the answer does not mention was not confirmed: it is not reported as published.
    for (const entry of byId.values()) failed.push({ entry, retryable: true, reason: 'SendMessageBatch gave no result for the entry' });
    return { delivered, failed };
  };

  return {
    name,
    checksRevisions: false,
    async write(changes) {
      const entries = changes.map((change, position) => toEntry(change, position));
      const delivered: Delivered[] = [];
      const failed: EntryFailure<SqsEntry>[] = [];
      // Batches go one after another so that a FIFO group's messages keep their order.
      for (const batch of chunk(entries, LIMITS.sqsBatchEntries, LIMITS.sqsBatchBytes, (entry) => entry.bytes)) {
        const outcome = await sendWithRetry(batch, send, policy);
        delivered.push(...outcome.delivered);
        failed.push(...outcome.failed);
      }
      return settle(name, changes.length, delivered, failed);
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
