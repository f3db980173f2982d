import { createDynamoDbStreamHandler } from 'serverless-datasync';
import { datasync, tables } from './app.ts';

/** DynamoDB Streams trigger (needs `functionResponseType: ReportBatchItemFailures`). */
export const handler = createDynamoDbStreamHandler(datasync, { tables });
