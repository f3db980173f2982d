import { createDynamoDbStreamHandler } from '../lib/sources/dynamodb/handler.ts';
import { datasync, tables } from './app.ts';

/** DynamoDB Streams trigger (needs `functionResponseType: ReportBatchItemFailures`). */
export const handler = createDynamoDbStreamHandler(datasync, { tables });
