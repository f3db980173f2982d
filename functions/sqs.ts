import { createSqsHandler } from '../lib/sources/sqs/handler.ts';
import { datasync } from './app.ts';

/** SQS trigger for standard and FIFO change queues (needs `functionResponseType: ReportBatchItemFailures`). */
export const handler = createSqsHandler(datasync);
