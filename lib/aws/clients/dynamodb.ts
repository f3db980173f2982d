import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withCallLog } from './call-log.ts';
import { clientConfig, sharedClient, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports (the
// pure mark lets the bundler drop an unused client).

/** Creates a new DynamoDB client (for tests or a second endpoint); prefer `dynamoDbClient()`. */
export function createDynamoDbClient(options: ClientOptions = {}): DynamoDBClient {
  return withCallLog(new DynamoDBClient(clientConfig(options)), 'dynamodb');
}

/** The process-wide DynamoDB client, created on first use. */
export const dynamoDbClient: () => DynamoDBClient = /* @__PURE__ */ sharedClient(() => createDynamoDbClient());
