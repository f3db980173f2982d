import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { withCallLog } from './call-log.ts';
import { clientConfig, sharedClient, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports (the
// pure mark lets the bundler drop an unused client).

/** Creates a new DynamoDB Streams client (for tests or a second endpoint); prefer `streamsClient()`. */
export function createStreamsClient(options: ClientOptions = {}): DynamoDBStreamsClient {
  return withCallLog(new DynamoDBStreamsClient(clientConfig(options)), 'streams');
}

/** The process-wide DynamoDB Streams client, created on first use. */
export const streamsClient: () => DynamoDBStreamsClient = /* @__PURE__ */ sharedClient(() => createStreamsClient());
