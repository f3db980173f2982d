import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The one place AWS clients are made. Region and credentials come from the environment (the
 * SDK's default chain); `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_<SERVICE>`) is
 * honoured by the SDK itself, so the same code reaches AWS, LocalStack or the local emulator.
 * Clients are created once per process (per Lambda container) and reused.
 */
export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  readonly eventbridge: EventBridgeClient;
}

/** Options shared by every client; tests use them to add middleware or a custom endpoint. */
export interface ClientOptions {
  readonly region?: string;
  readonly endpoint?: string;
  /** Attempts per call, including the first (SDK default 3). */
  readonly maxAttempts?: number;
}

let shared: AwsClients | undefined;

/** The process-wide clients, created on first use. */
export function awsClients(): AwsClients {
  shared ??= createAwsClients();
  return shared;
}

/** Creates a fresh set of clients (for tests or a second endpoint); prefer `awsClients()`. */
export function createAwsClients(options: ClientOptions = {}): AwsClients {
  const config = {
    ...(options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION
      ? { region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION }
      : { region: 'us-east-1' }),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
  return {
    dynamodb: new DynamoDBClient(config),
    streams: new DynamoDBStreamsClient(config),
    sqs: new SQSClient(config),
    eventbridge: new EventBridgeClient(config),
  };
}
