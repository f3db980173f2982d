import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { clientConfig, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports.
let shared: DynamoDBStreamsClient | undefined;

/** The process-wide DynamoDB Streams client (one per Lambda container), created on first use. */
export function streamsClient(): DynamoDBStreamsClient {
  shared ??= createStreamsClient();
  return shared;
}

/** Creates a new DynamoDB Streams client (for tests or a second endpoint); prefer `streamsClient()`. */
export function createStreamsClient(options: ClientOptions = {}): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(clientConfig(options));
}
