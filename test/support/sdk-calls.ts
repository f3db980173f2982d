// SDK middleware for tests: count the calls a client makes, or make them fail in chosen ways.
import type { AwsClients } from '../../lib/aws/clients.ts';
import { uniqueName } from './emulator.ts';

type AnyClient = AwsClients[keyof AwsClients];
type Handler = (args: { input: Record<string, any> }) => Promise<{ output: Record<string, any>; response: unknown }>;

/**
 * Records the input of every call of `commandName` the client makes (as sent, after any
 * failure injected by middleware added earlier).
 */
export function recordCalls(client: AnyClient, commandName: string): Array<Record<string, any>> {
  const calls: Array<Record<string, any>> = [];
  (client.middlewareStack as any).add(
    (next: Handler, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      if (context.commandName === commandName) calls.push(structuredClone(args.input));
      return next(args);
    },
    { step: 'serialize', name: uniqueName('recordCalls'), priority: 'high' },
  );
  return calls;
}

/**
 * Rewrites calls of `commandName` before they reach the emulator: `intercept` gets the input
 * and the call's number (1-based) and returns the input to send plus a function that turns the
 * real output into the output the publisher sees. Added at `initialize`, outside the SDK's own
 * retries: the partial failures it makes are the publisher's to resend, and what it throws is final.
 */
export function interceptCalls(
  client: AnyClient,
  commandName: string,
  intercept: (
    input: Record<string, any>,
    call: number,
  ) => { input: Record<string, any>; output?: (output: Record<string, any>) => Record<string, any>; throws?: Error },
): void {
  let call = 0;
  (client.middlewareStack as any).add(
    (next: Handler, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      if (context.commandName !== commandName) return next(args);
      call += 1;
      // A shallow copy: structuredClone would turn `Date`s into another realm's, which the SDK serializes wrongly.
      const plan = intercept({ ...args.input }, call);
      if (plan.throws) throw plan.throws;
      const result = await next({ ...args, input: plan.input });
      return plan.output ? { ...result, output: plan.output(result.output) } : result;
    },
    { step: 'initialize', name: uniqueName('intercept') },
  );
}

/** An SDK-shaped throttling error. */
export function throttlingError(): Error {
  return Object.assign(new Error('Rate exceeded (injected)'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });
}

/**
 * Fails the next `times` calls of `commandName` with `error()` as if AWS had answered so: added
 * inside the SDK's retry loop, so the SDK's own retries see it. Returns the number of attempts
 * that reached the middleware (the SDK's retries included).
 */
export function failAttempts(client: AnyClient, commandName: string, times: number, error: () => Error): () => number {
  let attempts = 0;
  (client.middlewareStack as any).add(
    (next: Handler, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      if (context.commandName !== commandName) return next(args);
      attempts += 1;
      if (attempts <= times) throw error();
      return next(args);
    },
    { step: 'deserialize', name: uniqueName('failAttempts'), priority: 'low' },
  );
  return () => attempts;
}

/**
 * Runs `after` once each call of `commandName` has its answer or its error, before the caller
 * sees either: the place to land another writer's call between two calls of the caller. Added at
 * `initialize`, outside the SDK's own retries.
 */
export function afterCalls(
  client: AnyClient,
  commandName: string,
  after: (input: Record<string, any>, outcome: { error?: Error }) => Promise<void>,
): void {
  (client.middlewareStack as any).add(
    (next: Handler, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      if (context.commandName !== commandName) return next(args);
      try {
        const result = await next(args);
        await after(args.input, {});
        return result;
      } catch (error) {
        await after(args.input, { error: error as Error });
        throw error;
      }
    },
    { step: 'initialize', name: uniqueName('afterCalls') },
  );
}
