import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientConfig, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports.
let shared: DynamoDBClient | undefined;

/** The process-wide DynamoDB client (one per Lambda container), created on first use. */
export function dynamoDbClient(): DynamoDBClient {
  shared ??= createDynamoDbClient();
  return shared;
}

/** Creates a new DynamoDB client (for tests or a second endpoint); prefer `dynamoDbClient()`. */
export function createDynamoDbClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig(options));
}
