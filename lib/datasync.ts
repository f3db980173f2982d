import { createDatasyncCore, type DatasyncCore, type DatasyncOptions } from './core.ts';
import { createResyncHandler, type ResyncHandlerOptions } from './resync/handler.ts';
import { createDynamoDbStreamHandler, type DynamoDbStreamHandlerOptions } from './sources/dynamodb/handler.ts';
import { createEventBridgeHandler, type EventBridgeHandlerOptions } from './sources/eventbridge/handler.ts';
import { createHttpHandler, type HttpHandlerOptions } from './sources/http/handler.ts';
import { createSqsHandler, type SqsHandlerOptions } from './sources/sqs/handler.ts';

export type { DatasyncOptions } from './core.ts';

/**
 * The core with every Lambda handler one call away. Convenient where bundle size does not matter;
 * a function that serves one source bundles less when it uses `createDatasyncCore` and that
 * source's factory (as `functions/` does).
 */
export interface Datasync extends DatasyncCore {
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

/**
 * Creates a datasync instance with the given plugins registered in order.
 * @throws DatasyncError `CONFIGURATION` for a non-positive `defaultTimeoutMs`.
 */
export function createDatasync(options: DatasyncOptions = {}): Datasync {
  const core = createDatasyncCore(options);
  return {
    ...core,
    dynamodbStreamHandler: (handlerOptions) => createDynamoDbStreamHandler(core, handlerOptions),
    sqsHandler: (handlerOptions) => createSqsHandler(core, handlerOptions),
    eventBridgeHandler: (handlerOptions) => createEventBridgeHandler(core, handlerOptions),
    httpHandler: (handlerOptions) => createHttpHandler(core, handlerOptions),
    resyncHandler: (handlerOptions) => createResyncHandler(core, handlerOptions),
  };
}
