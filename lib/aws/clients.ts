import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient, dynamoDbClient } from './clients/dynamodb.ts';
import { createEventBridgeClient, eventBridgeClient } from './clients/eventbridge.ts';
import { createSqsClient, sqsClient } from './clients/sqs.ts';
import { createStreamsClient, streamsClient } from './clients/streams.ts';

export type { ClientOptions } from './clients/config.ts';
import type { ClientOptions } from './clients/config.ts';

/**
 * The AWS clients, one per service. This is the place clients are made: each service's client
 * lives in its own module under `lib/aws/clients/` (created once per process, on first use), and
 * library code imports only the ones it calls, so a Lambda bundle carries only those SDKs. This
 * module gathers all four for code that uses several (tests, the local runner, the CLI); importing
 * it bundles every SDK client.
 */
export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  readonly eventbridge: EventBridgeClient;
}

const shared: AwsClients = {
  get dynamodb() {
    return dynamoDbClient();
  },
  get streams() {
    return streamsClient();
  },
  get sqs() {
    return sqsClient();
  },
  get eventbridge() {
    return eventBridgeClient();
  },
};

/** The process-wide clients (the same objects the library uses by default), each created on first use. */
export function awsClients(): AwsClients {
  return shared;
}

/** Creates a fresh set of clients (for tests or a second endpoint); prefer `awsClients()`. */
export function createAwsClients(options: ClientOptions = {}): AwsClients {
  return {
    dynamodb: createDynamoDbClient(options),
    streams: createStreamsClient(options),
    sqs: createSqsClient(options),
    eventbridge: createEventBridgeClient(options),
  };
}
