// The baseline handler (bench/baseline-handler.ts) with the Powertools Logger middleware the
// functions use: what the logging library alone adds to a bundle and its cold import.
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

const sqs = new SQSClient({});
const logger = new Logger({ serviceName: 'bench' });

/** Baseline handler with Powertools logging. */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    void sqs.config;
    logger.info('batch delivered', { records: 0 });
    return { batchItemFailures: [] };
  });
