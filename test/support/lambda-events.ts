// Lambda-shaped events and contexts for handler tests, built with the local runner's conversions
// (infra/local/lambda-shapes.ts) so tests and the runner shape records one way.
import type { Message } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context, DynamoDBRecord, SQSRecord } from 'aws-lambda';
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

/**
 * An API Gateway HTTP API (payload v2) request, as the HTTP handler receives it: behind the
 * `$default` route, or behind `route` (a path pattern such as `/keys/{key+}`, with its
 * `pathParameters`), as the deployed API routes it.
 */
export function httpApiRequest(
  method: string,
  path: string,
  options: {
    body?: string;
    contentType?: string;
    headers?: Record<string, string>;
    base64?: boolean;
    route?: string;
    pathParameters?: Record<string, string>;
    requestId?: string;
    /** The caller API Gateway signed in (`requestContext.authorizer.iam`). */
    iam?: { userArn: string; accountId: string; callerId: string };
  } = {},
): APIGatewayProxyEventV2 {
  const routeKey = options.route ? `${method} ${options.route}` : '$default';
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { ...(options.contentType ? { 'content-type': options.contentType } : {}), ...options.headers },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.com',
      domainPrefix: 'example',
      stage: '$default',
      requestId: options.requestId ?? `req-${Math.random().toString(36).slice(2)}`,
      routeKey,
      time: '',
      timeEpoch: 0,
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      ...(options.iam ? { authorizer: { iam: options.iam } } : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: options.base64 ?? false,
    ...(options.body === undefined ? {} : { body: options.body }),
  };
}
