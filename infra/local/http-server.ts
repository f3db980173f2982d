import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Handler,
} from 'aws-lambda';
import { lambdaContext } from './lambda-shapes.ts';

/** Largest request body accepted locally: API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Serves an HTTP API handler on a local port as API Gateway does: a request matching one of the
 * routes (e.g. `PUT /keys/{key+}`) becomes an HTTP API (payload version 2.0) event with its
 * `routeKey` and `pathParameters`, and the handler's result becomes the response; any other
 * request is answered 404 without calling the handler. The path is taken as the client sent it:
 * `..` and `%2E%2E` are not resolved and `%2F` is not a separator (a path parameter is decoded
 * once, as API Gateway decodes it).
 */
export async function serveHttpApi(options: {
  handler: Handler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
  port: number;
  /** The routes, as API Gateway names them; default a `$default` route that takes every request. */
  routes?: readonly string[];
  host?: string;
  functionName?: string;
}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const routes = (options.routes ?? []).map(parseRoute);
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      const event = toApiEvent(request, body, routes);
      if (!event) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      const result = await options.handler(event, lambdaContext(options.functionName ?? 'http', 30_000), () => {});
      const structured: APIGatewayProxyStructuredResultV2 =
        typeof result === 'object' && result !== null && 'statusCode' in result
          ? result
          : {
              statusCode: 200,
              body: typeof result === 'string' ? result : JSON.stringify(result),
              headers: { 'content-type': 'application/json' },
            };
      response.writeHead(structured.statusCode ?? 200, structured.headers as Record<string, string> | undefined);
      response.end(structured.isBase64Encoded ? Buffer.from(structured.body ?? '', 'base64') : (structured.body ?? ''));
    } catch (error) {
      const tooLarge = error instanceof RangeError;
      response.writeHead(tooLarge ? 413 : 500, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          error: tooLarge ? 'request body too large' : 'internal error',
          message: (error as Error).message,
        }),
      );
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RangeError('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface Route {
  readonly key: string;
  readonly method: string;
  /** The path's segments; a `{name+}` segment takes the rest of the path, `{name}` one segment. */
  readonly segments: readonly string[];
}

function parseRoute(routeKey: string): Route {
  const [method = '', path = '/'] = routeKey.split(' ');
  return { key: routeKey, method: method.toUpperCase(), segments: path.split('/').slice(1) };
}

/** The route a raw path matches, with its path parameters decoded once. */
function match(
  routes: readonly Route[],
  method: string,
  rawPath: string,
): { route: Route; parameters: Record<string, string> } | undefined {
  const segments = rawPath.split('/').slice(1);
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const parameters: Record<string, string> = {};
    let matched = true;
    for (const [index, part] of route.segments.entries()) {
      const greedy = /^\{(.+)\+\}$/.exec(part);
      const single = /^\{(.+)\}$/.exec(part);
      if (greedy) {
        const rest = segments.slice(index).join('/');
        if (rest === '') matched = false;
        else parameters[greedy[1]!] = decodeOnce(rest);
        break;
      }
      const segment = segments[index];
      if (segment === undefined || (single ? segment === '' : segment !== part)) {
        matched = false;
        break;
      }
      if (single) parameters[single[1]!] = decodeOnce(segment);
      if (index === route.segments.length - 1 && segments.length !== route.segments.length) matched = false;
    }
    if (matched) return { route, parameters };
  }
  return undefined;
}

function decodeOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function toApiEvent(
  request: IncomingMessage,
  body: Buffer,
  routes: readonly Route[],
): APIGatewayProxyEventV2 | undefined {
  // The raw request target: never resolved (`new URL` would remove `..` and `%2E%2E` segments).
  const target = request.url ?? '/';
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : target.slice(queryAt + 1);
  const method = request.method ?? 'GET';
  const matched = routes.length > 0 ? match(routes, method.toUpperCase(), rawPath) : undefined;
  if (routes.length > 0 && !matched) return undefined;
  const routeKey = matched?.route.key ?? '$default';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const text = body.toString('utf8');
  const binary = body.length > 0 && !Buffer.from(text, 'utf8').equals(body);
  const now = new Date();
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) queryStringParameters[name] = value;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    ...(matched && Object.keys(matched.parameters).length > 0 ? { pathParameters: matched.parameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: binary ? body.toString('base64') : text } : {}),
    isBase64Encoded: binary,
  };
}
