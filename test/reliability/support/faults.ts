import type { AwsClients } from '../../../lib/aws/clients.ts';

/** The kinds of AWS fault a schedule injects. */
export type AwsFaultKind = 'throttle' | 'server-error';

/**
 * AWS faults armed by a schedule and consumed by the SDK middleware on every client: each armed
 * fault fails the next matching call once. Throttling is injected inside the SDK's retry loop
 * (as AWS answers it), so a few are absorbed by the SDK and more surface as errors; server
 * errors are injected the same way with a 500 status.
 */
export class AwsFaults {
  #armed: AwsFaultKind[] = [];
  #enabled = true;
  /** Faults that fired, by kind. */
  readonly fired = new Map<AwsFaultKind, number>();

  /** Arms `times` faults of a kind for the next calls. */
  arm(kind: AwsFaultKind, times: number): void {
    for (let index = 0; index < times; index += 1) this.#armed.push(kind);
  }

  /** Stops injecting (the quiet phase at the end of a schedule). */
  disable(): void {
    this.#enabled = false;
    this.#armed = [];
  }

  /** The fault for this call, if one is armed. */
  take(): AwsFaultKind | undefined {
    if (!this.#enabled) return undefined;
    const kind = this.#armed.shift();
    if (kind) this.fired.set(kind, (this.fired.get(kind) ?? 0) + 1);
    return kind;
  }

  /** Adds the injecting middleware to every client of the set. */
  install(clients: AwsClients): void {
    for (const client of [clients.dynamodb, clients.streams, clients.sqs, clients.eventbridge]) {
      // The deserialize step runs inside the retry middleware, so the SDK sees the fault as AWS's answer.
      (client.middlewareStack as { add: (middleware: unknown, options: unknown) => void }).add(
        (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
          const kind = this.take();
          if (kind) throw injected(kind, context.commandName ?? 'call');
          return next(args);
        },
        { step: 'deserialize', name: 'reliabilityFaults', priority: 'low' },
      );
    }
  }
}

function injected(kind: AwsFaultKind, command: string): Error {
  const error = new Error(`injected ${kind} on ${command}`);
  if (kind === 'throttle') {
    error.name = 'ThrottlingException';
    Object.assign(error, {
      $fault: 'client',
      $metadata: { httpStatusCode: 400, attempts: 1 },
      $retryable: { throttling: true },
    });
  } else {
    error.name = 'InternalServerError';
    Object.assign(error, { $fault: 'server', $metadata: { httpStatusCode: 500, attempts: 1 } });
  }
  return error;
}
