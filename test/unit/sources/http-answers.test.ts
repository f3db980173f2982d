import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createDatasync } from '../../../lib/datasync.ts';
import { createHttpHandler } from '../../../lib/sources/http/handler.ts';
import { httpApiRequest, lambdaContext } from '../../support/lambda-events.ts';
import { MemoryDeadLetter, MemorySink } from '../../support/sinks.ts';

// What a caller of the HTTP API learns when the service fails, and what the log keeps: who called.
const ROLE_ARN = 'arn:aws:iam::123456789012:role/serverless-datasync-prod-HttpRole-X1';
const CALLER = 'arn:aws:iam::210987654321:user/alice';

function signedPut(key: string, requestId: string): APIGatewayProxyEventV2 {
  return httpApiRequest('PUT', `/keys/${key}`, {
    route: '/keys/{key+}',
    pathParameters: { key },
    body: JSON.stringify({ mtu: 9000 }),
    contentType: 'application/json',
    requestId,
    iam: { userArn: CALLER, accountId: '210987654321', callerId: 'AIDAALICE' },
  });
}

function handlerWith(publishError: Error) {
  const lines: Array<Record<string, unknown>> = [];
  // What the handler logs, as the message and the attributes of each line.
  const logger = new Logger({ logLevel: 'SILENT' });
  for (const level of ['info', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation(((message: string, attributes: Record<string, unknown>) => {
      lines.push({ level, message, ...attributes });
    }) as never);
  }
  const handler = createHttpHandler(createDatasync(), {
    publish: {
      put: async () => {
        throw publishError;
      },
      delete: async () => undefined,
    },
    requestResync: async () => undefined,
    feedback: new MemorySink(),
    deadLetter: new MemoryDeadLetter(),
    logger,
  });
  return { handler, lines };
}

describe('HTTP API answers', () => {
  it('answers a failure with a generic 500 and the request id, never the internal message', async () => {
    const internal = `User: ${ROLE_ARN} is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/serverless-datasync-prod-config`;
    const { handler, lines } = handlerWith(Object.assign(new Error(internal), { name: 'AccessDeniedException' }));

    const response = (await handler(
      signedPut('config/interfaces/eth0', 'req-500'),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;

    expect(response.statusCode).toBe(500);
    const body = JSON.parse(response.body!);
    expect(body).toEqual({
      error: { code: 'INTERNAL', message: expect.stringContaining('req-500') },
      requestId: 'req-500',
      correlationId: 'req-500',
    });
    expect(response.body).not.toMatch(/arn:|HttpRole|table|dynamodb/);
    // The detail stays in the log, under the same request id and with the caller.
    const failed = lines.find((line) => line.message === 'http request failed');
    expect(failed).toMatchObject({ requestId: 'req-500', caller: { userArn: CALLER } });
    expect(JSON.stringify(failed)).toContain(ROLE_ARN);
  });

  it('logs one line per request with the caller the IAM authorization identified', async () => {
    const { handler, lines } = handlerWith(new Error('unused'));

    const response = (await handler(
      {
        ...signedPut('config/x', 'req-405'),
        requestContext: { ...signedPut('config/x', 'req-405').requestContext, http: { method: 'GET' } },
      } as never,
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;

    expect(response.statusCode).toBe(405);
    expect(lines.filter((line) => line.message === 'http request')).toEqual([
      {
        level: 'info',
        message: 'http request',
        requestId: 'req-405',
        caller: { userArn: CALLER, accountId: '210987654321', callerId: 'AIDAALICE' },
        method: 'GET',
        path: '/keys/config/x',
        status: 405,
      },
    ]);
  });
});
