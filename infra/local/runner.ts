import type { Handler } from 'aws-lambda';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { runAsFunction } from '../../lib/aws/clients/call-log.ts';
import { serveHttpApi } from './http-server.ts';
import { provision, type Provisioned } from './provision.ts';
import { QueuePoller } from './queue-poller.ts';
import { StreamPoller } from './stream-poller.ts';
import type { EventSourceMapping, LocalTopology } from './topology.ts';

/** Counts per function, for the summary a person reads. */
export interface InvocationStats {
  invocations: number;
  records: number;
  failedRecords: number;
  errors: number;
}

/** Options of the local runner. */
export interface LocalRunnerOptions {
  readonly clients: AwsClients;
  readonly topology: LocalTopology;
  /**
   * The real handlers by function name, or a function that loads them once the resources exist
   * (handlers read their configuration from the environment when their module loads).
   */
  readonly handlers:
    | Readonly<Record<string, Handler<never, unknown>>>
    | ((provisioned: Provisioned) => Promise<Readonly<Record<string, Handler<never, unknown>>>>);
  /** Lambda timeout per function, overriding `timeoutMs`. */
  readonly timeoutsMs?: Readonly<Record<string, number>>;
  /** Pause between polls of an idle source. */
  readonly idleDelayMs?: number;
  /** Lambda timeout given to every invocation. */
  readonly timeoutMs?: number;
  readonly onInvoke?: (fn: string, info: { records: number; failed: number; error?: unknown }) => void;
}

interface Poller {
  readonly name: string;
  pollOnce(): Promise<number>;
  /** When this poller last started a poll that then received nothing. */
  lastEmptyPollStart: number;
}

/**
 * Behaves like Lambda's event source mappings on an emulator that cannot invoke functions: it
 * provisions the topology, then polls every stream and queue and calls the real handlers
 * in-process with Lambda-shaped events, and serves the HTTP API on a local port.
 */
export class LocalRunner {
  readonly stats = new Map<string, InvocationStats>();
  #pollers: Poller[] = [];
  #loops: Promise<void>[] = [];
  #running = false;
  #busy = new Set<string>();
  #lastActivity = Date.now();
  #http: { url: string; close(): Promise<void> } | undefined;
  readonly #options: LocalRunnerOptions;
  provisioned: Provisioned | undefined;

  constructor(options: LocalRunnerOptions) {
    this.#options = options;
  }

  /** The HTTP API's base URL once started. */
  get httpUrl(): string | undefined {
    return this.#http?.url;
  }

  /** Provisions (idempotently) and starts polling every source. */
  async start(): Promise<Provisioned> {
    const { clients, topology } = this.#options;
    this.provisioned = await provision(clients, topology);
    const handlers =
      typeof this.#options.handlers === 'function'
        ? await this.#options.handlers(this.provisioned)
        : this.#options.handlers;
    for (const mapping of topology.mappings) await this.#attach(mapping, this.provisioned, handlers);
    this.#running = true;
    this.#lastActivity = Date.now();
    this.#loops = this.#pollers.map((poller) => this.#loop(poller));
    return this.provisioned;
  }

  /**
   * Resolves once every source has been idle (nothing received, no handler running) for
   * `quietMs`, or rejects after `timeoutMs` — never reported as done when it is not.
   *
   * Idle means each source has polled and found nothing after the call and after the last
   * activity: a quiet clock alone would also run out while a poller sleeps between polls with a
   * message already waiting for it.
   */
  async waitIdle(options: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const quietMs = options.quietMs ?? 1_500;
    const calledAt = Date.now();
    const deadline = calledAt + (options.timeoutMs ?? 60_000);
    for (;;) {
      const since = Math.max(calledAt, this.#lastActivity);
      const unpolled = this.#pollers
        .filter((poller) => poller.lastEmptyPollStart <= since)
        .map((poller) => poller.name);
      if (this.#busy.size === 0 && unpolled.length === 0 && Date.now() - this.#lastActivity >= quietMs) return;
      if (Date.now() > deadline) {
        const pending = [...new Set([...this.#busy, ...unpolled])];
        throw new Error(
          `sources still busy after ${options.timeoutMs ?? 60_000} ms: ${pending.join(', ') || 'recent activity'}`,
        );
      }
      await sleep(100);
    }
  }

  /** Stops polling, waits for handlers in flight, and closes the HTTP server. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    await this.#http?.close();
    this.#http = undefined;
  }

  async #attach(
    mapping: EventSourceMapping,
    provisioned: Provisioned,
    handlers: Readonly<Record<string, Handler<never, unknown>>>,
  ): Promise<void> {
    const { clients } = this.#options;
    const loaded = handlers[mapping.function];
    if (!loaded) throw new Error(`no handler for function ${mapping.function}`);
    // The handler's AWS calls are that function's (the pollers' own calls stand for Lambda's).
    const handler: Handler<never, unknown> = (event, context, callback) =>
      runAsFunction(mapping.function, () => loaded(event, context, callback));
    const onInvoke = (info: { records: number; failed: number; error?: unknown }) =>
      this.#count(mapping.function, info);
    const timeoutMs = this.#options.timeoutsMs?.[mapping.function] ?? this.#options.timeoutMs ?? 30_000;
    switch (mapping.kind) {
      case 'stream': {
        const streamArn = provisioned.streamArns.get(mapping.table);
        if (!streamArn) throw new Error(`table ${mapping.table} has no stream`);
        const poller = new StreamPoller(clients, {
          streamArn,
          functionName: mapping.function,
          handler: handler as never,
          batchSize: mapping.batchSize,
          maximumRetryAttempts: mapping.maximumRetryAttempts,
          timeoutMs,
          onInvoke,
          ...(mapping.onFailureQueue ? { onFailureQueueUrl: queueUrl(provisioned, mapping.onFailureQueue) } : {}),
        });
        this.#pollers.push({
          name: `${mapping.function} <- stream ${mapping.table}`,
          pollOnce: () => poller.pollOnce(),
          lastEmptyPollStart: 0,
        });
        return;
      }
      case 'queue':
      case 'bus-rule': {
        const poller = new QueuePoller(clients, {
          queueUrl: queueUrl(provisioned, mapping.queue),
          functionName: mapping.function,
          handler: handler as never,
          mode: mapping.kind === 'queue' ? 'batch' : 'single',
          batchSize: mapping.kind === 'queue' ? mapping.batchSize : 10,
          timeoutMs,
          onInvoke,
        });
        this.#pollers.push({
          name: `${mapping.function} <- queue ${mapping.queue}`,
          pollOnce: () => poller.pollOnce(),
          lastEmptyPollStart: 0,
        });
        return;
      }
      case 'http':
        this.#http = await serveHttpApi({
          handler: handler as never,
          port: mapping.port,
          routes: mapping.routes,
          functionName: mapping.function,
        });
        return;
    }
  }

  async #loop(poller: Poller): Promise<void> {
    while (this.#running) {
      this.#busy.add(poller.name);
      let received = 0;
      const startedAt = Date.now();
      try {
        received = await poller.pollOnce();
      } catch (error) {
        // A poll error (emulator restarting, throttling) is retried, as Lambda's poller does.
        this.#count(poller.name, { records: 0, failed: 0, error });
      } finally {
        this.#busy.delete(poller.name);
      }
      if (received > 0) this.#lastActivity = Date.now();
      else {
        poller.lastEmptyPollStart = startedAt;
        await sleep(this.#options.idleDelayMs ?? 200);
      }
    }
  }

  #count(fn: string, info: { records: number; failed: number; error?: unknown }): void {
    const stats = this.stats.get(fn) ?? { invocations: 0, records: 0, failedRecords: 0, errors: 0 };
    if (info.records > 0) stats.invocations += 1;
    stats.records += info.records;
    stats.failedRecords += info.failed;
    if (info.error !== undefined) stats.errors += 1;
    this.stats.set(fn, stats);
    this.#lastActivity = Date.now();
    this.#options.onInvoke?.(fn, info);
  }
}

function queueUrl(provisioned: Provisioned, name: string): string {
  const url = provisioned.queueUrls.get(name);
  if (!url) throw new Error(`unknown queue ${name}`);
  return url;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
