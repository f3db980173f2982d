import type { Context } from 'aws-lambda';
import type { DeadLetterWriter, FeedbackRecord, FeedbackSink, RejectedInput } from '../../lib/index.ts';

/** A Lambda context with the given time left. */
export function lambdaContext(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test',
    memoryLimitInMB: '1024', awsRequestId: `req-${Math.random().toString(36).slice(2)}`, logGroupName: 'test', logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {}, fail: () => {}, succeed: () => {},
  };
}

/** A feedback sink that keeps what it is given (for unit tests of pure logic). */
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

/** Options that keep handler logs quiet in tests. */
export const quiet = { log: () => {} };
