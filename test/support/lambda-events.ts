// Lambda-shaped events and contexts for handler tests, built with the local runner's conversions
// (infra/local/lambda-shapes.ts) so tests and the runner shape records one way.
import type { Message } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import {
  lambdaContext as runnerContext,
  toLambdaSqsRecord,
  toLambdaStreamRecord,
} from '../../infra/local/lambda-shapes.ts';
import { awsClients } from '../../lib/aws/clients.ts';
import { readStream } from './emulator.ts';

/** A Lambda context with the given time left. */
export function lambdaContext(remainingMs = 30_000): Context {
  return runnerContext('test', remainingMs);
}

/** Reads every record now on a stream (from the start, or after a sequence number) as Lambda delivers them. */
export async function readStreamAsLambdaRecords(streamArn: string, after?: string): Promise<DynamoDBRecord[]> {
  const records = await readStream(awsClients(), streamArn, after ? { after } : {});
  return records.map((record) => toLambdaStreamRecord(record, streamArn));
}

/** Shapes received messages as the Lambda SQS event source delivers them. */
export function toLambdaSqsRecords(messages: readonly Message[], queueArn: string): SQSRecord[] {
  return messages.map((message) => toLambdaSqsRecord(message, queueArn, 'us-east-1'));
}
