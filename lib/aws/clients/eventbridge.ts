import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { clientConfig, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports.
let shared: EventBridgeClient | undefined;

/** The process-wide EventBridge client (one per Lambda container), created on first use. */
export function eventBridgeClient(): EventBridgeClient {
  shared ??= createEventBridgeClient();
  return shared;
}

/** Creates a new EventBridge client (for tests or a second endpoint); prefer `eventBridgeClient()`. */
export function createEventBridgeClient(options: ClientOptions = {}): EventBridgeClient {
  return new EventBridgeClient(clientConfig(options));
}
