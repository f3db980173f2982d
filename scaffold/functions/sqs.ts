import { createSqsHandler } from 'serverless-datasync';
import { datasync } from './app.ts';

/** SQS trigger for standard and FIFO change queues (needs `functionResponseType: ReportBatchItemFailures`). */
export const handler = createSqsHandler(datasync);
