import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { sqsClient } from '../aws/clients/sqs.ts';
import { ENV } from '../config.ts';
import { DatasyncError } from '../errors.ts';
import { SqsDeadLetterWriter, type DeadLetterWriter } from '../feedback/dead-letter.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import { SqsFeedbackWriter } from '../feedback/sqs-writer.ts';

/**
 * A handler as the source and resync factories return it, called the way Lambda calls it. It is a
 * middy handler, but middy's type is not named in the package's declarations: they import an
 * optional peer package, so a consumer type-checking with `skipLibCheck` off would fail on them.
 */
export type LambdaHandler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

/** Default time kept back from plugins for writing feedback before Lambda's time runs out. */
export const DEFAULT_SAFETY_MARGIN_MS = 1_000;

/** Options every source handler takes. */
export interface SourceHandlerOptions {
  /** Where feedback goes; default the SQS writer on `DATASYNC_FEEDBACK_QUEUE_URL`. */
  readonly feedback?: FeedbackSink;
  /** Where rejected input goes; default the SQS writer on `DATASYNC_DEAD_LETTER_QUEUE_URL`. */
  readonly deadLetter?: DeadLetterWriter;
  /** Milliseconds of the invocation's remaining time kept for feedback; default 1000. */
  readonly safetyMarginMs?: number;
  /** The Powertools Logger the handler logs through; default one of its own (lib/observability/logger.ts). */
  readonly logger?: Logger;
  /** Environment to read defaults from; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The feedback queue writer on `DATASYNC_FEEDBACK_QUEUE_URL`. */
export function feedbackSinkFromEnvironment(env: NodeJS.ProcessEnv = process.env): FeedbackSink {
  return new SqsFeedbackWriter({ sqs: sqsClient(), queueUrl: requiredVariable(env, ENV.feedbackQueueUrl) });
}

/** The dead-letter queue writer on `DATASYNC_DEAD_LETTER_QUEUE_URL`. */
export function deadLetterWriterFromEnvironment(env: NodeJS.ProcessEnv = process.env): DeadLetterWriter {
  return new SqsDeadLetterWriter({ sqs: sqsClient(), queueUrl: requiredVariable(env, ENV.deadLetterQueueUrl) });
}

function requiredVariable(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new DatasyncError('CONFIGURATION', `${name} is not set`, { details: { variable: name } });
  return value;
}

/** Plugins' time budget: what Lambda has left less the margin; unbounded without a Lambda context. */
export function remainingTime(context: Partial<Context> | undefined, marginMs: number): (() => number) | undefined {
  const remaining = context?.getRemainingTimeInMillis;
  if (typeof remaining !== 'function') return undefined;
  return () => Math.max(1, remaining.call(context) - marginMs);
}
