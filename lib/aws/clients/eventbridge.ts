import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { withCallLog } from './call-log.ts';
import { clientConfig, sharedClient, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports (the
// pure mark lets the bundler drop an unused client).

/** Creates a new EventBridge client (for tests or a second endpoint); prefer `eventBridgeClient()`. */
export function createEventBridgeClient(options: ClientOptions = {}): EventBridgeClient {
  return withCallLog(new EventBridgeClient(clientConfig(options)), 'eventbridge');
}

/** The process-wide EventBridge client, created on first use. */
export const eventBridgeClient: () => EventBridgeClient = /* @__PURE__ */ sharedClient(() => createEventBridgeClient());
