// Where handler tests send feedback and rejected input: memory for unit tests, real queues (through
// the production SQS writers) for integration tests.
import { Logger } from '@aws-lambda-powertools/logger';
import type { AwsClients } from '../../lib/aws/clients.ts';
import type { DeadLetterWriter, RejectedInput } from '../../lib/feedback/dead-letter.ts';
import { SqsDeadLetterWriter } from '../../lib/feedback/dead-letter.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import type { FeedbackSink } from '../../lib/feedback/sink.ts';
import { SqsFeedbackWriter } from '../../lib/feedback/sqs-writer.ts';
import { createQueue, drainQueue, type Resources } from './emulator.ts';

/** A feedback sink that keeps what it is given. */
export class MemorySink implements FeedbackSink {
  readonly records: FeedbackRecord[] = [];
  async write(records: readonly FeedbackRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

/** A dead-letter writer that keeps what it is given. */
export class MemoryDeadLetter implements DeadLetterWriter {
  readonly entries: RejectedInput[] = [];
  async send(rejected: readonly RejectedInput[]): Promise<void> {
    this.entries.push(...rejected);
  }
}

/** The production feedback writer on a test queue, which can also read the records back. */
export class SqsTestSink extends SqsFeedbackWriter {
  readonly queueUrl: string;
  readonly #clients: AwsClients;
  constructor(clients: AwsClients, queueUrl: string) {
    super({ sqs: clients.sqs, queueUrl });
    this.queueUrl = queueUrl;
    this.#clients = clients;
  }

  /** Every feedback record on the queue now (removed from it). */
  async read(): Promise<FeedbackRecord[]> {
    return (await drainQueue(this.#clients, this.queueUrl)).map(
      (message) => JSON.parse(message.Body!) as FeedbackRecord,
    );
  }
}

/** A feedback queue and a dead-letter queue, with the SQS writers a handler takes. */
export async function createFeedbackQueues(resources: Resources) {
  const feedbackQueue = await createQueue(resources, { prefix: 'ds-feedback', standsFor: 'FeedbackQueue' });
  const deadLetterQueue = await createQueue(resources, { prefix: 'ds-rejected', standsFor: 'RejectedQueue' });
  return {
    feedbackQueue,
    deadLetterQueue,
    feedback: new SqsFeedbackWriter({ sqs: resources.clients.sqs, queueUrl: feedbackQueue.url }),
    deadLetter: new SqsDeadLetterWriter({ sqs: resources.clients.sqs, queueUrl: deadLetterQueue.url }),
  };
}

/** Options that keep handler logs quiet in tests. */
export const quiet = { logger: new Logger({ logLevel: 'SILENT' }) };
