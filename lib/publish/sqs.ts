import { createHash } from 'node:crypto';
import type { RetryPolicy } from '../aws/retry.ts';
import { sendMessages, type SqsBatchClient, type SqsMessage } from '../aws/sqs-batch.ts';
import { DatasyncError } from '../errors.ts';
import { toEnvelope } from '../model/envelope.ts';
import type { Revision } from '../model/revision.ts';
import { RevisionClock } from './clock.ts';
import { published, settle, type PendingChange } from './pending.ts';
import type { SqsTarget } from './types.ts';
import type { TargetWriter } from './writer.ts';

interface SqsEntry extends SqsMessage {
  readonly change: PendingChange;
  readonly revision: Revision;
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
 * SendMessageBatch (see `sendMessages`). Revisions come from the publisher's clock.
 */
export function sqsWriter(target: SqsTarget, sqs: SqsBatchClient, policy: RetryPolicy): TargetWriter {
  const fifo = target.fifo ?? target.queueUrl.endsWith('.fifo');
  const groupOf = target.messageGroupId ?? defaultMessageGroupId;
  const clock = new RevisionClock();
  const name = `sqs:${target.queueUrl}`;

  const toEntry = (change: PendingChange): SqsEntry => {
    const revision = clock.next();
    const body = JSON.stringify(
      toEnvelope({
        key: change.key,
        op: change.op,
        revision,
        time: new Date().toISOString(),
        ...(change.value === undefined ? {} : { value: change.value }),
        ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
      }),
    );
    if (!fifo) return { change, revision, body };
    const group = groupOf(change.key);
    if (typeof group !== 'string' || !SQS_ID.test(group)) {
      throw new DatasyncError(
        'CONFIGURATION',
        `messageGroupId gave ${JSON.stringify(group)} for ${change.key}: SQS needs 1-128 printable ASCII characters`,
      );
    }
    return { change, revision, body, groupId: group, deduplicationId: deduplicationId(change.key, revision) };
  };

  return {
    name,
    checksVersions: false,
    async write(changes) {
      const entries = changes.map(toEntry);
      // One call at a time, so that a FIFO group's messages keep their order.
      const { sent, failed } = await sendMessages(sqs, target.queueUrl, entries, policy);
      const delivered = sent.map(({ message, messageId }) => published(message.change, message.revision, messageId));
      return settle(name, changes.length, delivered, failed);
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
