// PLACEHOLDER entry point so the deployment can be packaged and measured; the real entry point
// (same path, same `handler` export) replaces this file.
import middy from '@middy/core';
import { awsClients } from '../lib/aws/clients.ts';

/** Placeholder Lambda handler: touches one SDK client and reports no failed items. */
export const handler = middy().handler(async () => {
  void awsClients().sqs;
  return { batchItemFailures: [] };
});
