import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { DatasyncCore } from '../../core.ts';
import { tablesFromEnvironment } from '../../config.ts';
import { DatasyncError, InvalidChangeError, SchemaMismatchError, toError } from '../../errors.ts';
import { describeError, FEEDBACK_VERSION, type StoredFeedback } from '../../feedback/record.ts';
import { checkChange, MAX_CORRELATION_ID, type CheckedChange } from '../../model/change-rules.ts';
import { MAX_VALUE_BYTES, type JsonValue } from '../../model/json-value.ts';
import type { Revision } from '../../model/revision.ts';
import type { TableConfig } from '../../model/table-config.ts';
import { deliverBatch, rejection } from '../batch.ts';
import type { LambdaHandler, SourceHandlerOptions } from '../../lambda/handler-options.ts';
import { sourceHandlerParts } from '../../lambda/handler-parts.ts';
import { header, HttpRequestError, jsonBody, jsonResponse, routeOf } from './request.ts';

/** Options a publish call receives from the HTTP API. */
export interface HttpPublishOptions {
  /** The request's correlation id (`x-correlation-id`, else the API request id). */
  readonly correlationId: string;
}

/**
 * What a write returns: the item's version, and for a delete whether it changed nothing (the
 * library's DynamoDB publisher and `createHttpTableWriter` answer this way).
 */
export type HttpPublishResult = { readonly version?: Revision; readonly unchanged?: boolean } | undefined;

/** What the HTTP API writes through (`createHttpTableWriter`, as the service does; a publisher fits). */
export interface ChangePublisher {
  put(key: string, value: JsonValue, options: HttpPublishOptions): Promise<HttpPublishResult>;
  delete(key: string, options: HttpPublishOptions): Promise<HttpPublishResult>;
}

/** Options of the HTTP API handler. */
export interface HttpHandlerOptions extends SourceHandlerOptions {
  /** Writes puts and deletes. */
  readonly publish: ChangePublisher;
  /** Asks for a resync of the named plugins, or of all; may return a resync id. */
  readonly requestResync: (plugins?: readonly string[]) => Promise<string | { readonly resyncId?: string } | undefined>;
  /** The tables the API writes (their item rules are checked first); default `DATASYNC_TABLES`. */
  readonly tables?: readonly TableConfig[];
  /** Largest request body; default the largest value, 200 KiB. */
  readonly maxBodyBytes?: number;
  /** The API's name in feedback and dead letters; default `http`. */
  readonly name?: string;
}

/**
 * The HTTP API handler (middy, API Gateway HTTP API payload v2) for RPC clients:
 *
 * | route | answer |
 * |---|---|
 * | `PUT /keys/{key+}` with a JSON body (the value) | 200 `{key, op, version?, correlationId}` |
 * | `DELETE /keys/{key+}` | 200 `{key, op, version?, unchanged?, correlationId}` |
 * | `POST /resync` with an optional body `{"plugins": [names]}` | 202 `{resync, plugins, resyncId?, correlationId}` |
 *
 * API Gateway routes the request: the handler reads `routeKey` and `pathParameters`, as the API
 * decoded them. (Behind a `$default` route it routes the raw path itself, without resolving `.`
 * or `..`.) A written change passes the same rules as every source's (`checkChange`) before it is
 * written; the table's stream then delivers it to the plugins, with the request's correlation id.
 * A delete that changed nothing (`unchanged`: nothing to delete, or a newer item) is settled by a
 * `stored` feedback record that lists its correlation id as skipped.
 *
 * Errors answer `{"error": {code, message}}`: 400 bad key, value or body (a value that does not
 * fit the schema of a plugin watching the key: code `SCHEMA_MISMATCH`, with the validator's
 * `issues`), 404 unknown path, 405
 * method not allowed (with `Allow`), 409 version conflict, 413 body too large, 415 not JSON, 500
 * when the publisher or resync request fails (a generic message and the request id: the detail is
 * in the log line). A refused change or resync request (400, 413, 415) is also reported in
 * feedback (under the request's correlation id) and dead-lettered, like bad input of every other
 * source.
 */
export function createHttpHandler(
  datasync: Pick<DatasyncCore, 'plugins'> & Partial<Pick<DatasyncCore, 'schemas'>>,
  options: HttpHandlerOptions,
): LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  // A middy handler with the service's logging and metrics middleware, and the metered writers.
  const { middy, logger, writers } = sourceHandlerParts('http', options);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_VALUE_BYTES;
  const name = options.name ?? 'http';
  const tables = options.tables ?? tablesFromEnvironment(options.env);

  const serve = async (
    event: APIGatewayProxyEventV2,
    correlationId: string,
    requestId: string,
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
    const op = method === 'PUT' ? 'put' : 'delete';
    const value = op === 'put' ? jsonBody(event, maxBodyBytes, true) : undefined;
    let change: CheckedChange;
    try {
      change = checkChange(
        { key: route.key, op, hasValue: op === 'put', value, correlationId },
        { origin: 'client', tables, schemas: datasync.schemas?.() ?? [] },
      );
    } catch (cause) {
      // A schema that cannot be used is the service's fault (500), not the request's.
      if (cause instanceof DatasyncError && cause.code === 'CONFIGURATION') throw cause;
      throw new HttpRequestError(400, toError(cause));
    }
    const result = await publishing(() =>
      change.op === 'put'
        ? options.publish.put(change.key, change.value!, { correlationId })
        : options.publish.delete(change.key, { correlationId }),
    );
    if (result?.unchanged) {
      // Nothing was deleted, so no plugin will hear of it: say so under the request's id.
      const ref = { key: change.key, op: change.op, correlationId };
      const record: StoredFeedback = {
        version: FEEDBACK_VERSION,
        event: 'stored',
        status: 'ok',
        source: { type: 'http', name, id: requestId },
        changes: [],
        skipped: [ref],
        correlationId,
        time: new Date().toISOString(),
        durationMs: 0,
      };
      await writers.feedback.write([record]);
    }
    return jsonResponse(200, {
      key: change.key,
      op: change.op,
      ...(result?.version === undefined ? {} : { version: result.version }),
      ...(result?.unchanged ? { unchanged: true } : {}),
      correlationId,
    });
  };

  const handle = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const given = header(event, 'x-correlation-id');
    const correlationId =
      given && given.length <= MAX_CORRELATION_ID && !/[\u0000-\u001f\u007f]/.test(given) ? given : requestId;
    const caller = callerOf(event);
    try {
      return await serve(event, correlationId, requestId);
    } catch (thrown) {
      if (!(thrown instanceof HttpRequestError)) {
        const error = describeError(thrown);
        logger.error('http request failed', { requestId, caller, error });
        return internalError(requestId, correlationId);
      }
      if (thrown.status === 400 || thrown.status === 413 || thrown.status === 415) {
        // Refused input is reported (under the request's correlation id) and kept like any
        // source's; failing to do so fails the request.
        try {
          await deliverBatch(
            [
              {
                id: requestId,
                rejected: {
                  ...rejection(
                    thrown.error,
                    { type: 'http', name, id: requestId },
                    JSON.stringify({
                      method: event.requestContext?.http?.method,
                      path: event.rawPath,
                      contentType: header(event, 'content-type'),
                      body: event.body,
                      isBase64Encoded: event.isBase64Encoded,
                    }),
                  ),
                  correlationId,
                },
              },
            ],
            { datasync: { dispatch: async () => [] }, ...writers, logger },
            () => [],
          );
        } catch (failure) {
          const error = describeError(failure);
          logger.error('refused http request could not be reported', { requestId, caller, error });
          return internalError(requestId, correlationId);
        }
      }
      const error = describeError(thrown.error);
      if (thrown.status >= 500) {
        logger.error('http request failed', { requestId, caller, error });
        return internalError(requestId, correlationId);
      }
      return jsonResponse(
        thrown.status,
        {
          error: {
            code: error.code ?? error.name,
            message: error.message,
            // A value that does not fit a plugin's schema: the validator's issues, one by one.
            ...(thrown.error instanceof SchemaMismatchError ? { issues: thrown.error.issues } : {}),
          },
          correlationId,
        },
        { ...thrown.headers },
      );
    }
  };

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>().handler(async (event) => {
    const response = await handle(event);
    // One line per request: who called (IAM authorization), what, and the answer.
    logger.info('http request', {
      requestId: event.requestContext?.requestId,
      caller: callerOf(event),
      method: event.requestContext?.http?.method,
      path: event.rawPath,
      status: response.statusCode,
    });
    return response;
  });
}

/** Who signed the request, from the HTTP API's IAM authorization (payload v2). */
function callerOf(event: APIGatewayProxyEventV2): Record<string, string> | undefined {
  const iam = (event.requestContext as { authorizer?: { iam?: Record<string, unknown> } } | undefined)?.authorizer?.iam;
  if (!iam) return undefined;
  const fields = ['userArn', 'accountId', 'callerId', 'principalOrgId'] as const;
  return Object.fromEntries(fields.filter((field) => typeof iam[field] === 'string').map((f) => [f, String(iam[f])]));
}

/**
 * A 5xx answer tells the caller nothing of the failure (its message can name roles, tables and
 * queues); the log line under the same request id has it.
 */
function internalError(requestId: string, correlationId: string): APIGatewayProxyStructuredResultV2 {
  return jsonResponse(500, {
    error: { code: 'INTERNAL', message: `internal error; the service log has request ${requestId}` },
    requestId,
    correlationId,
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

/** Runs a publish or resync request, turning its failure into the right status. */
async function publishing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (thrown) {
    const error = toError(thrown);
    const code = error instanceof DatasyncError ? error.code : undefined;
    if (
      code === 'INVALID_KEY' ||
      code === 'INVALID_VALUE' ||
      code === 'INVALID_CHANGE' ||
      code === 'SCHEMA_MISMATCH' ||
      code === 'INVALID_REVISION'
    )
      throw new HttpRequestError(400, error);
    if (code === 'VERSION_CONFLICT') throw new HttpRequestError(409, error);
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
