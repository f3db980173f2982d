// The bundle benchmark's baseline with the other client every function needs: a minimal middy
// handler that creates one DynamoDB client at module load (bench/baseline-handler.ts creates an
// SQS client). Shown as a reference, since "one SDK client" can be either.
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const dynamodb = new DynamoDBClient({});

/** One-client (DynamoDB) reference handler. */
export const handler = middy().handler(async () => {
  void dynamodb.config;
  return { batchItemFailures: [] };
});
