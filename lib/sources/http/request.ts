import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InvalidChangeError, toError } from '../../errors.ts';
import { parseJsonStrict } from '../../model/json-text.ts';

/** The routes the HTTP API serves. */
export type HttpRoute =
  | { readonly route: 'keys'; readonly key: string }
  | { readonly route: 'resync' }
  | { readonly route: 'unknown' };

/** A request refused with an HTTP status and a typed error. */
export class HttpRequestError extends Error {
  readonly status: number;
  readonly error: Error;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, error: Error, headers: Record<string, string> = {}) {
    super(error.message, { cause: error });
    this.name = 'HttpRequestError';
    this.status = status;
    this.error = error;
    this.headers = headers;
  }
}

/** The routes the API declares (serverless.yml), as API Gateway names them in `routeKey`. */
export const ROUTES = {
  put: 'PUT /keys/{key+}',
  delete: 'DELETE /keys/{key+}',
  resync: 'POST /resync',
} as const;

/**
 * Finds the route of an API Gateway HTTP API (payload v2) request. API Gateway has routed it: its
 * `routeKey` names the route and `pathParameters.key` holds the key, decoded once. Behind a
 * `$default` route the handler routes the raw path itself (`/keys/{key+}` or `/resync`, with or
 * without a stage in front), decoding the key once and resolving no `.` or `..`, as API Gateway
 * would.
 */
export function routeOf(event: APIGatewayProxyEventV2): HttpRoute {
  const routeKey = event.routeKey ?? event.requestContext?.routeKey;
  if (routeKey && routeKey !== '$default') {
    if (routeKey === ROUTES.resync) return { route: 'resync' };
    if (routeKey === ROUTES.put || routeKey === ROUTES.delete) {
      const key = event.pathParameters?.key;
      if (key === undefined) throw new HttpRequestError(400, new InvalidChangeError('the request names no key'));
      return { route: 'keys', key };
    }
    return { route: 'unknown' };
  }
  let path = event.rawPath ?? '/';
  const stage = event.requestContext?.stage;
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) path = path.slice(stage.length + 1);
  if (path === '/resync' || path === '/resync/') return { route: 'resync' };
  if (path.startsWith('/keys/') && path.length > '/keys/'.length) {
    try {
      return { route: 'keys', key: decodeURIComponent(path.slice('/keys/'.length)) };
    } catch (cause) {
      throw new HttpRequestError(400, new InvalidChangeError('key is not valid URL encoding', { cause }));
    }
  }
  return { route: 'unknown' };
}

/** The header value, whatever its case. */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** The request body's bytes (API Gateway sends binary bodies as base64). */
export function bodyBytes(event: APIGatewayProxyEventV2): Buffer | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/**
 * The parsed JSON body, checking its size (413), its content type (415: `application/json` or
 * `application/*+json`) and that it is JSON (400).
 */
export function jsonBody(event: APIGatewayProxyEventV2, maxBytes: number, required: boolean): unknown {
  const bytes = bodyBytes(event);
  if (bytes === undefined) {
    if (required) throw new HttpRequestError(400, new InvalidChangeError('the request needs a JSON body'));
    return undefined;
  }
  if (bytes.byteLength > maxBytes) {
    throw new HttpRequestError(
      413,
      new InvalidChangeError(`body is ${bytes.byteLength} bytes, more than the ${maxBytes} allowed`, {
        details: { bytes: bytes.byteLength, maxBytes },
      }),
    );
  }
  const type = (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!/^application\/([a-z0-9.+-]+\+)?json$/.test(type)) {
    throw new HttpRequestError(
      415,
      new InvalidChangeError(`content-type must be application/json, got ${JSON.stringify(type || 'nothing')}`),
    );
  }
  try {
    return parseJsonStrict(bytes.toString('utf8'));
  } catch (cause) {
    if (cause instanceof SyntaxError) {
      throw new HttpRequestError(400, new InvalidChangeError(`body is not JSON: ${cause.message}`, { cause }));
    }
    throw new HttpRequestError(400, toError(cause));
  }
}

/** A JSON response. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
