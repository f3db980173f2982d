import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports.
let shared: SQSClient | undefined;

/** The process-wide SQS client (one per Lambda container), created on first use. */
export function sqsClient(): SQSClient {
  shared ??= createSqsClient();
  return shared;
}

/** Creates a new SQS client (for tests or a second endpoint); prefer `sqsClient()`. */
export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return new SQSClient(clientConfig(options));
}
