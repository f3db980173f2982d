import type { FeedbackRecord } from './record.ts';

/**
 * Where feedback records go. The SQS feedback writer is the production sink; a sink must either
 * store every record it is given or throw, so a source can fail its invocation and be retried.
 */
export interface FeedbackSink {
  write(records: readonly FeedbackRecord[]): Promise<void>;
}
