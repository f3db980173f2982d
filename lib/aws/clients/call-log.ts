// A log of the AWS calls each function makes, so tests can check every one against that
// function's IAM role as AWS would (test/support/iam/). moto authorizes a call by its action only,
// so a role missing a resource grant passes every emulator test and fails in AWS; this log is how
// the test suites see the resources each call names.
//
// Off unless DATASYNC_AWS_CALL_LOG names a file: a deployed function never sets it, and then the
// clients get no middleware at all. Only calls made while a function runs are logged: a harness
// names the function around the handler it invokes (`runAsFunction`), or a process that is one
// function says so as Lambda does (AWS_LAMBDA_FUNCTION_NAME).
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';

const running = new AsyncLocalStorage<string>();

/** Runs `run` (an invocation of a function's handler) with its AWS calls attributed to `functionName`. */
export function runAsFunction<T>(functionName: string, run: () => T): T {
  return running.run(functionName, run);
}

/** Runs `run` (a test's stand-in for something outside the function) with its AWS calls left out of the log. */
export function runOutsideFunctions<T>(run: () => T): T {
  return running.exit(run);
}

// Fields that carry values, not the names of resources: left out, which keeps the log small and
// free of payloads.
const PAYLOAD_FIELDS = new Set([
  'Item',
  'MessageBody',
  'MessageAttributes',
  'MessageSystemAttributes',
  'Detail',
  'ExpressionAttributeValues',
  'ExclusiveStartKey',
]);
const withoutPayloads = (field: string, value: unknown) => (PAYLOAD_FIELDS.has(field) ? undefined : value);

/** One logged call: which function made it, and the operation with its input, payloads left out. */
export interface LoggedCall {
  readonly function: string;
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

type Next = (args: { input: Record<string, unknown> }) => Promise<unknown>;
/** The part of an SDK client this needs (typed here so that any of the four clients fits). */
interface WithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: (next: Next, context: { commandName?: string }) => Next,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

/** Adds the log to a client made by this module's factories when DATASYNC_AWS_CALL_LOG is set; returns the client. */
export function withCallLog<T>(client: T, service: string): T {
  const file = process.env.DATASYNC_AWS_CALL_LOG;
  if (!file) return client;
  (client as unknown as WithMiddleware).middlewareStack.add(
    (next, context) => async (args) => {
      const fn = running.getStore() ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
      if (fn) {
        const call: LoggedCall = { function: fn, service, operation: context.commandName ?? '?', input: args.input };
        appendFileSync(file, `${JSON.stringify(call, withoutPayloads)}\n`);
      }
      return next(args);
    },
    // Before the SDK's retries: one entry per call the code makes.
    { step: 'initialize', name: 'datasyncCallLog', priority: 'high' },
  );
  return client;
}
