// The baseline handler (bench/baseline-handler.ts) with Powertools Metrics published after each
// invocation, as the functions do: what the metrics library alone adds to a bundle and its cold import.
import { SQSClient } from '@aws-sdk/client-sqs';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';

const sqs = new SQSClient({});
const metrics = new Metrics({ namespace: 'Bench', serviceName: 'bench' });

/** Baseline handler with Powertools metrics. */
export const handler = middy()
  .use(logMetrics(metrics))
  .handler(async () => {
    void sqs.config;
    metrics.addMetric('RecordsReceived', MetricUnit.Count, 0);
    return { batchItemFailures: [] };
  });
