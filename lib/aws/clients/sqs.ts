import { SQSClient } from '@aws-sdk/client-sqs';
import { withCallLog } from './call-log.ts';
import { clientConfig, sharedClient, type ClientOptions } from './config.ts';

// Each service has its own module, so a function bundles only the SDK clients it imports (the
// pure mark lets the bundler drop an unused client).

/** Creates a new SQS client (for tests or a second endpoint); prefer `sqsClient()`. */
export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return withCallLog(new SQSClient(clientConfig(options)), 'sqs');
}

/** The process-wide SQS client, created on first use. */
export const sqsClient: () => SQSClient = /* @__PURE__ */ sharedClient(() => createSqsClient());
