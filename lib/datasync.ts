import { DatasyncError } from './errors.ts';
import { dispatchChanges, type PluginOutcome } from './dispatch/dispatcher.ts';
import { MemoryLedger, type DeliveryLedger } from './dispatch/ledger.ts';
import type { ChangeEvent } from './model/change.ts';
import type { Plugin, PluginCallbacks } from './plugins/plugin.ts';
import { PluginRegistry, type WatchRegistration } from './plugins/registry.ts';
import { createResyncHandler, type ResyncHandlerOptions } from './resync/handler.ts';
import { createDynamoDbStreamHandler, type DynamoDbStreamHandlerOptions } from './sources/dynamodb/handler.ts';
import { createEventBridgeHandler, type EventBridgeHandlerOptions } from './sources/eventbridge/handler.ts';
import { createHttpHandler, type HttpHandlerOptions } from './sources/http/handler.ts';
import { createSqsHandler, type SqsHandlerOptions } from './sources/sqs/handler.ts';

/** Configuration of a datasync instance. */
export interface DatasyncOptions {
  /** Plugins to register now, in order; registration order is resync order. */
  readonly plugins?: readonly Plugin[];
  /**
   * Where per-plugin revisions (and, with the sync-state table, resync status) are kept.
   * Defaults to memory, which lasts as long as the process and knows nothing of resyncs: it
   * orders and deduplicates, but does not hold changes before a plugin's first resync. Use
   * `DynamoDbLedger` in Lambda and wherever rule 1 (changes only after the first resync) matters.
   */
  readonly ledger?: DeliveryLedger;
  /** Time limit of a plugin callback without its own `timeoutMs`; default 5000 ms. */
  readonly defaultTimeoutMs?: number;
  /**
   * Called with the outcomes of every dispatch, after the plugins ran (e.g. a `FailureTracker`
   * that marks a plugin that keeps failing out of sync). An error it throws fails the dispatch.
   */
  readonly onOutcomes?: (outcomes: readonly PluginOutcome[]) => Promise<unknown>;
}

/** The core of serverless-datasync: plugins, routing, delivery, and the Lambda handlers built on them. */
export interface Datasync {
  /**
   * Subscribes callbacks to key prefixes under a unique name and returns the live registration.
   * @throws DatasyncError `DUPLICATE_PLUGIN` when the name is taken; `InvalidKeyError` for a bad prefix.
   */
  watch(name: string, callbacks: PluginCallbacks, ...prefixes: string[]): WatchRegistration;
  /** The registered plugins in registration (= resync) order. */
  plugins(): Plugin[];
  /**
   * Delivers a change event to the plugins whose prefixes match and returns one outcome per
   * plugin involved, each carrying its feedback record.
   */
  dispatch(event: ChangeEvent, options?: { remainingTimeMs?: () => number }): Promise<PluginOutcome[]>;
  /** The delivery ledger in use. */
  readonly ledger: DeliveryLedger;
  /** The DynamoDB Streams handler (middy), for `functions/dynamodb-stream`. */
  dynamodbStreamHandler(options?: DynamoDbStreamHandlerOptions): ReturnType<typeof createDynamoDbStreamHandler>;
  /** The SQS handler for standard and FIFO queues (middy). */
  sqsHandler(options?: SqsHandlerOptions): ReturnType<typeof createSqsHandler>;
  /** The EventBridge handler (middy). */
  eventBridgeHandler(options?: EventBridgeHandlerOptions): ReturnType<typeof createEventBridgeHandler>;
  /** The HTTP API handler (middy); it publishes and requests resyncs through the given options. */
  httpHandler(options: HttpHandlerOptions): ReturnType<typeof createHttpHandler>;
  /** The resync handler (middy): requests, continuations, schedules and the post-deploy invoke. */
  resyncHandler(options?: ResyncHandlerOptions): ReturnType<typeof createResyncHandler>;
}

/** Creates a datasync instance with the given plugins registered in order. */
export function createDatasync(options: DatasyncOptions = {}): Datasync {
  if (options.defaultTimeoutMs !== undefined && !(options.defaultTimeoutMs > 0)) {
    throw new DatasyncError('CONFIGURATION', `defaultTimeoutMs must be positive, got ${options.defaultTimeoutMs}`);
  }
  const registry = new PluginRegistry();
  for (const plugin of options.plugins ?? []) registry.add(plugin);
  const ledger = options.ledger ?? new MemoryLedger();
  const datasync: Datasync = {
    ledger,
    watch: (name, callbacks, ...prefixes) => registry.watch(name, callbacks, ...prefixes),
    plugins: () => registry.plugins(),
    async dispatch(event, dispatchOptions = {}) {
      const outcomes = await dispatchChanges(event, {
        registry,
        ledger,
        ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }),
        ...(dispatchOptions.remainingTimeMs ? { remainingTimeMs: dispatchOptions.remainingTimeMs } : {}),
      });
      if (options.onOutcomes && outcomes.length > 0) await options.onOutcomes(outcomes);
      return outcomes;
    },
    dynamodbStreamHandler: (handlerOptions) => createDynamoDbStreamHandler(datasync, handlerOptions),
    sqsHandler: (handlerOptions) => createSqsHandler(datasync, handlerOptions),
    eventBridgeHandler: (handlerOptions) => createEventBridgeHandler(datasync, handlerOptions),
    httpHandler: (handlerOptions) => createHttpHandler(datasync, handlerOptions),
    resyncHandler: (handlerOptions) => createResyncHandler(datasync, handlerOptions),
  };
  return datasync;
}
