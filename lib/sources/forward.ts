import { createHash } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../aws/clients/sqs.ts';
import { sendMessages } from '../aws/sqs-batch.ts';
import type { Change } from '../model/change.ts';
import { toEnvelope } from '../model/envelope.ts';
import { defaultMessageGroupId } from '../publish/sqs.ts';

/**
 * Moves bus changes onto a FIFO queue whose message group is the change's key, instead of
 * delivering them. A standard queue and an EventBridge rule run many invocations at once, so two
 * changes of one key could reach a plugin together and be applied in the wrong order; a FIFO
 * queue hands a message group to one invocation at a time, so the FIFO queue's handler delivers
 * each key's changes one batch after another (see docs/state.md). The deduplication id is the
 * source's own id of the message, so a message the source delivers twice is queued once.
 */
export class OrderedQueueForwarder {
  readonly queueUrl: string;
  readonly #sqs: SQSClient;

  constructor(options: { queueUrl: string; sqs?: SQSClient }) {
    this.queueUrl = options.queueUrl;
    this.#sqs = options.sqs ?? sqsClient();
  }

  /** Sends each change to the ordered queue; returns those that could not be sent, with why. */
  async forward(changes: readonly Change[]): Promise<Array<{ change: Change; error: Error }>> {
    const messages = changes.map((change) => ({
      change,
      body: JSON.stringify(
        toEnvelope({
          key: change.key,
          op: change.op,
          time: change.time,
          ...(change.value === undefined ? {} : { value: change.value }),
          ...(change.prevValue === undefined ? {} : { prevValue: change.prevValue }),
          ...(change.revision === undefined ? {} : { revision: change.revision }),
          ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
        }),
      ),
      groupId: defaultMessageGroupId(change.key),
      deduplicationId: sha256(
        `${change.source.type}\n${change.source.name}\n${change.source.id ?? `${change.key}\n${change.revision}`}`,
      ),
    }));
    const { failed } = await sendMessages(this.#sqs, this.queueUrl, messages);
    return failed.map((failure) => ({
      change: failure.entry.change,
      error: failure.cause instanceof Error ? failure.cause : new Error(failure.reason),
    }));
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
