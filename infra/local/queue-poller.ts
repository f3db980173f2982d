import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Handler, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { lambdaContext, toLambdaSqsRecord } from './lambda-shapes.ts';

/** Settings of a local SQS event source mapping. */
export interface QueueMappingOptions {
  readonly queueUrl: string;
  readonly functionName: string;
  /**
   * `batch`: the handler gets an SQS event and may answer with a partial batch response (as an
   * SQS event source mapping). `single`: each message body is one event for the handler (as an
   * EventBridge rule's async invoke, with the queue standing in for EventBridge's retries and DLQ).
   */
  readonly mode: 'batch' | 'single';
  readonly handler: Handler<SQSEvent, SQSBatchResponse | undefined> | Handler<unknown, unknown>;
  readonly batchSize?: number;
  readonly timeoutMs?: number;
  readonly region?: string;
  readonly onInvoke?: (info: { records: number; failed: number; error?: unknown }) => void;
}

/**
 * Receives from a queue and invokes the handler like Lambda's poller: messages reported failed
 * (or all, when the handler throws) are left on the queue, become visible again after the
 * visibility timeout and move to the dead-letter queue after the redrive policy's receive count;
 * the rest are deleted. FIFO ordering is the queue's own: a group's next message is not received
 * while an earlier one is in flight.
 */
export class QueuePoller {
  readonly #clients: AwsClients;
  readonly #options: QueueMappingOptions;
  #arn: string | undefined;

  constructor(clients: AwsClients, options: QueueMappingOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  /** Receives one batch (waiting up to `waitSeconds`) and handles it; returns how many messages came. */
  async pollOnce(waitSeconds = 0): Promise<number> {
    this.#arn ??= (
      await this.#clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.#options.queueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    const { Messages = [] } = await this.#clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: Math.min(10, this.#options.batchSize ?? 10),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return 0;
    const succeeded =
      this.#options.mode === 'batch' ? await this.#invokeBatch(Messages) : await this.#invokeEach(Messages);
    for (let start = 0; start < succeeded.length; start += 10) {
      await this.#clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#options.queueUrl,
          Entries: succeeded
            .slice(start, start + 10)
            .map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    return Messages.length;
  }

  async #invokeBatch(messages: Message[]): Promise<Message[]> {
    const region = this.#options.region ?? 'us-east-1';
    const event: SQSEvent = { Records: messages.map((message) => toLambdaSqsRecord(message, this.#arn!, region)) };
    try {
      const response =
        (await (this.#options.handler as Handler<SQSEvent, SQSBatchResponse | undefined>)(
          event,
          this.#context(),
          () => {},
        )) ?? undefined;
      const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      this.#options.onInvoke?.({ records: messages.length, failed: failed.size });
      return messages.filter((message) => !failed.has(message.MessageId!));
    } catch (error) {
      this.#options.onInvoke?.({ records: messages.length, failed: messages.length, error });
      return [];
    }
  }

  async #invokeEach(messages: Message[]): Promise<Message[]> {
    const succeeded: Message[] = [];
    for (const message of messages) {
      try {
        await (this.#options.handler as Handler<unknown, unknown>)(
          JSON.parse(message.Body ?? 'null'),
          this.#context(),
          () => {},
        );
        succeeded.push(message);
        this.#options.onInvoke?.({ records: 1, failed: 0 });
      } catch (error) {
        this.#options.onInvoke?.({ records: 1, failed: 1, error });
      }
    }
    return succeeded;
  }

  #context() {
    return lambdaContext(this.#options.functionName, this.#options.timeoutMs ?? 30_000);
  }
}
