import type { DeadLetterWriter } from '../feedback/dead-letter.ts';
import type { FeedbackSink } from '../feedback/sink.ts';
import {
  deadLetterWriterFromEnvironment,
  feedbackSinkFromEnvironment,
  type SourceHandlerOptions,
} from './handler-options.ts';
import { type HandlerName, HandlerTelemetry } from './telemetry.ts';

// Apart from handler-options.ts so that no declaration the package exports reaches middy's types
// (through the telemetry): they import an optional peer package, which a consumer type-checking
// with `skipLibCheck` off does not have.

/** What every source handler is made of (see {@link sourceHandlerParts}). */
export interface SourceHandlerParts {
  /** Makes the handler: `middy()` from `@middy/core` with the handler's logging and metrics middleware. */
  readonly middy: HandlerTelemetry['middy'];
  readonly logger: HandlerTelemetry['logger'];
  /** The feedback sink (counted in the handler's metrics) and the dead-letter writer. */
  readonly writers: { readonly feedback: FeedbackSink; readonly deadLetter: DeadLetterWriter };
}

/**
 * The parts every source handler is built from: its middy instance with the Powertools logging and
 * metrics middleware (lib/lambda/telemetry.ts), its logger, and the feedback sink and dead-letter
 * writer from the options or the environment.
 */
export function sourceHandlerParts(handler: HandlerName, options: SourceHandlerOptions): SourceHandlerParts {
  const telemetry = new HandlerTelemetry(handler, options.logger);
  const env = options.env ?? process.env;
  return {
    middy: telemetry.middy,
    logger: telemetry.logger,
    writers: {
      feedback: telemetry.meter(options.feedback ?? feedbackSinkFromEnvironment(env)),
      deadLetter: options.deadLetter ?? deadLetterWriterFromEnvironment(env),
    },
  };
}
