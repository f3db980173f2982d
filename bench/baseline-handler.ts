// The benchmark baseline: the smallest useful middy handler on Lambda, one SDK client created at
// module load and an empty partial batch response. Each function bundle is compared with it.
// (The library itself makes clients only in lib/aws/clients.ts; this file stands apart on purpose.)
import middy from '@middy/core';
import { SQSClient } from '@aws-sdk/client-sqs';

const sqs = new SQSClient({});

/** Baseline Lambda handler. */
export const handler = middy().handler(async () => {
  void sqs.config;
  return { batchItemFailures: [] };
});
