import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { DatasyncCore } from '../../core.ts';
import { DatasyncError, InvalidChangeError, toError } from '../../errors.ts';
import { describeError } from '../../feedback/record.ts';
import { assertJsonSafe, MAX_VALUE_BYTES, type JsonValue } from '../../model/json-value.ts';
import { validateKey } from '../../model/key.ts';
import type { Revision } from '../../model/revision.ts';
import { deliverBatch } from '../batch.ts';
import {
  jsonLog,
  type LambdaHandler,
  resolveWriters,
  type SourceHandlerOptions,
} from '../../lambda/handler-options.ts';
import { header, HttpRequestError, jsonBody, jsonResponse, routeOf } from './request.ts';

/** Options a publish call receives from the HTTP API. */
export interface HttpPublishOptions {
  /** The request's correlation id (`x-correlation-id`, else the API request id). */
  readonly correlationId: string;
}

/** What a publish returns: the change's revision (as text, or in an object), or nothing when the target assigns none. */
export type HttpPublishResult = Revision | { readonly revision?: Revision } | undefined | undefined;

/** The publisher the HTTP API writes through (the library's publisher fits). */
export interface ChangePublisher {
  put(key: string, value: JsonValue, options: HttpPublishOptions): Promise<HttpPublishResult>;
  delete(key: string, options: HttpPublishOptions): Promise<HttpPublishResult>;
}

/** Options of the HTTP API handler. */
export interface HttpHandlerOptions extends SourceHandlerOptions {
  /** Writes puts and deletes. */
  readonly publish: ChangePublisher;
  /** Asks for a resync of the named plugins, or of all; may return a resync id. */
  readonly requestResync: (
    plugins?: readonly string[],
  ) => Promise<string | { readonly resyncId?: string } | undefined | undefined>;
  /** Largest request body; default the largest value, 200 KiB. */
  readonly maxBodyBytes?: number;
  /** The API's name in feedback and dead letters; default `http`. */
  readonly name?: string;
}

const MAX_CORRELATION_ID = 128;

/**
 * The HTTP API handler (middy, API Gateway HTTP API payload v2) for RPC clients:
 *
 * | request | answer |
 * |---|---|
 * | `PUT /keys/{key+}` with a JSON body (the value) | 200 `{key, op, revision?, correlationId}` |
 * | `DELETE /keys/{key+}` | 200 `{key, op, revision?, correlationId}` |
 * | `POST /resync` with an optional body `{"plugins": [names]}` | 202 `{resync, plugins, resyncId?, correlationId}` |
 *
 * Errors answer `{"error": {code, message}}`: 400 bad key, value or body, 404 unknown path, 405
 * method not allowed (with `Allow`), 409 revision conflict, 413 body too large, 415 not JSON, 500
 * when the publisher or resync request fails. A refused change or resync request (400, 413, 415)
 * is also reported in feedback and dead-lettered, like bad input of every other source.
 */
export function createHttpHandler(
  datasync: Pick<DatasyncCore, 'plugins'>,
  options: HttpHandlerOptions,
): LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const writers = resolveWriters(options);
  const log = options.log ?? jsonLog;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_VALUE_BYTES;
  const name = options.name ?? 'http';

  const serve = async (
    event: APIGatewayProxyEventV2,
    correlationId: string,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = (event.requestContext?.http?.method ?? '').toUpperCase();
    const route = routeOf(event);
    if (route.route === 'unknown')
      return jsonResponse(404, {
        error: { code: 'NOT_FOUND', message: `no route for ${method} ${event.rawPath}` },
        correlationId,
      });
    if (route.route === 'resync') {
      if (method !== 'POST') return notAllowed(method, 'POST', correlationId);
      const plugins = resyncPlugins(
        jsonBody(event, maxBodyBytes, false),
        datasync.plugins().map((plugin) => plugin.name),
      );
      const requested = await publishing(() => options.requestResync(plugins));
      const resyncId = typeof requested === 'string' ? requested : requested?.resyncId;
      return jsonResponse(202, {
        resync: 'requested',
        plugins: plugins ?? 'all',
        ...(resyncId ? { resyncId } : {}),
        correlationId,
      });
    }
    if (method !== 'PUT' && method !== 'DELETE') return notAllowed(method, 'PUT, DELETE', correlationId);
    const key = checkedKey(route.key);
    let result: HttpPublishResult;
    if (method === 'PUT') {
      const value = jsonBody(event, maxBodyBytes, true);
      try {
        assertJsonSafe(value, maxBodyBytes);
      } catch (cause) {
        throw new HttpRequestError(
          400,
          new InvalidChangeError(`value: ${(cause as Error).message}`, { cause, details: { key } }),
        );
      }
      result = await publishing(() => options.publish.put(key, value as JsonValue, { correlationId }));
    } else {
      result = await publishing(() => options.publish.delete(key, { correlationId }));
    }
    const revision = typeof result === 'string' ? result : result?.revision;
    return jsonResponse(200, {
      key,
      op: method === 'PUT' ? 'put' : 'delete',
      ...(revision === undefined ? {} : { revision }),
      correlationId,
    });
  };

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>().handler(async (event) => {
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const given = header(event, 'x-correlation-id');
    const correlationId =
      given && given.length <= MAX_CORRELATION_ID && !/[\u0000-\u001f\u007f]/.test(given) ? given : requestId;
    try {
      return await serve(event, correlationId);
    } catch (thrown) {
      if (!(thrown instanceof HttpRequestError)) {
        const error = describeError(thrown);
        log({ level: 'error', message: 'http request failed', requestId, error });
        return jsonResponse(500, { error: { code: error.code ?? 'INTERNAL', message: error.message }, correlationId });
      }
      if (thrown.status === 400 || thrown.status === 413 || thrown.status === 415) {
        // Refused input is reported and kept like any source's; failing to do so fails the request.
        try {
          await deliverBatch(
            [
              {
                id: requestId,
                rejected: {
                  error: thrown.error,
                  source: { type: 'http', name, id: requestId },
                  raw: JSON.stringify({
                    method: event.requestContext?.http?.method,
                    path: event.rawPath,
                    contentType: header(event, 'content-type'),
                    body: event.body,
                    isBase64Encoded: event.isBase64Encoded,
                  }),
                },
              },
            ],
            { datasync: { dispatch: async () => [] }, ...writers, log },
            () => [],
          );
        } catch (failure) {
          const error = describeError(failure);
          log({ level: 'error', message: 'refused http request could not be reported', requestId, error });
          return jsonResponse(500, {
            error: { code: error.code ?? 'INTERNAL', message: error.message },
            correlationId,
          });
        }
      }
      const error = describeError(thrown.error);
      if (thrown.status >= 500) log({ level: 'error', message: 'http request failed', requestId, error });
      return jsonResponse(
        thrown.status,
        { error: { code: error.code ?? error.name, message: error.message }, correlationId },
        { ...thrown.headers },
      );
    }
  });
}

function notAllowed(method: string, allow: string, correlationId: string): APIGatewayProxyStructuredResultV2 {
  return jsonResponse(
    405,
    {
      error: { code: 'METHOD_NOT_ALLOWED', message: `${method || 'this method'} is not allowed here; use ${allow}` },
      correlationId,
    },
    { allow },
  );
}

function checkedKey(raw: string): string {
  try {
    return validateKey(raw);
  } catch (cause) {
    throw new HttpRequestError(400, toError(cause));
  }
}

/** Runs a publish or resync request, turning its failure into the right status. */
async function publishing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (thrown) {
    const error = toError(thrown);
    const code = error instanceof DatasyncError ? error.code : undefined;
    if (code === 'INVALID_KEY' || code === 'INVALID_VALUE' || code === 'INVALID_CHANGE' || code === 'INVALID_REVISION')
      throw new HttpRequestError(400, error);
    if (code === 'REVISION_CONFLICT') throw new HttpRequestError(409, error);
    throw new HttpRequestError(500, error);
  }
}

/** The plugin names of a resync request body, checked against the registered plugins. */
function resyncPlugins(body: unknown, known: readonly string[]): string[] | undefined {
  if (body === undefined) return undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpRequestError(400, new InvalidChangeError('resync body must be a JSON object'));
  const extra = Object.keys(body).filter((member) => member !== 'plugins');
  if (extra.length > 0)
    throw new HttpRequestError(
      400,
      new InvalidChangeError(`resync body has unknown member(s): ${extra.slice(0, 5).join(', ')}`),
    );
  const plugins = (body as { plugins?: unknown }).plugins;
  if (plugins === undefined) return undefined;
  if (
    !Array.isArray(plugins) ||
    plugins.length === 0 ||
    !plugins.every((plugin) => typeof plugin === 'string' && plugin.length > 0)
  ) {
    throw new HttpRequestError(400, new InvalidChangeError('plugins must be a non-empty list of plugin names'));
  }
  const unknown = plugins.filter((plugin) => !known.includes(plugin));
  if (unknown.length > 0)
    throw new HttpRequestError(400, new InvalidChangeError(`unknown plugin(s): ${unknown.slice(0, 5).join(', ')}`));
  return [...new Set(plugins as string[])];
}
