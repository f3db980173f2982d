import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../aws/clients.ts';
import { sqsClient } from '../aws/clients/sqs.ts';
import { ENV } from '../config.ts';
import { DatasyncError, InvalidResyncRequestError, withCause } from '../errors.ts';

/** Why a resync runs. `continuation` resumes one that ran out of time in a previous invocation. */
export type ResyncReason = 'manual' | 'schedule' | 'failing-plugin' | 'first-start' | 'continuation';

const REASONS: ReadonlySet<string> = new Set(['manual', 'schedule', 'failing-plugin', 'first-start', 'continuation']);

/**
 * A resync request as it travels on the resync queue or in an invoke payload:
 *
 * ```json
 * {"datasync":"resync","resyncId":"r-1","plugins":["interfaces"],"reason":"manual"}
 * ```
 * `plugins` absent means every registered plugin (with `first-start`: every plugin that never
 * synced). A request whose `resyncId` names a resync that stopped part way resumes it.
 */
export interface ResyncRequest {
  readonly datasync: 'resync';
  readonly resyncId: string;
  readonly plugins?: readonly string[];
  readonly reason: ResyncReason;
  /**
   * When the request was made (ISO 8601). A plugin whose last completed resync began after this
   * is already answered: the request merges into that resync instead of scanning again.
   */
  readonly requestedAt?: string;
}

/** Reads a resync request from parsed JSON; a missing id gets a fresh one. */
export function parseResyncRequest(input: unknown): ResyncRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidResyncRequestError('a resync request must be a JSON object');
  }
  const record = input as Record<string, unknown>;
  if (record.datasync !== 'resync')
    throw new InvalidResyncRequestError(
      `a resync request needs "datasync": "resync", got ${JSON.stringify(record.datasync) ?? 'nothing'}`,
    );
  const reason = record.reason ?? 'manual';
  if (typeof reason !== 'string' || !REASONS.has(reason)) {
    throw new InvalidResyncRequestError(
      `reason must be one of ${[...REASONS].join(', ')}, got ${JSON.stringify(reason)}`,
    );
  }
  const id = record.resyncId ?? newResyncId();
  if (typeof id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(id)) {
    throw new InvalidResyncRequestError('resyncId must be 1 to 128 letters, digits or . _ : -');
  }
  const plugins = record.plugins;
  if (
    plugins !== undefined &&
    (!Array.isArray(plugins) || !plugins.every((name) => typeof name === 'string' && name.length > 0))
  ) {
    throw new InvalidResyncRequestError('plugins must be a list of plugin names');
  }
  if (reason === 'continuation' && record.resyncId === undefined) {
    throw new InvalidResyncRequestError('a continuation must name the resync it continues');
  }
  const requestedAt = record.requestedAt;
  if (requestedAt !== undefined && (typeof requestedAt !== 'string' || Number.isNaN(Date.parse(requestedAt)))) {
    throw new InvalidResyncRequestError('requestedAt must be an ISO 8601 time');
  }
  return {
    datasync: 'resync',
    resyncId: id,
    reason: reason as ResyncReason,
    ...(plugins === undefined ? {} : { plugins: plugins as string[] }),
    ...(requestedAt === undefined ? {} : { requestedAt: requestedAt as string }),
  };
}

/** A new resync id: sortable by time, unique across processes. */
export function newResyncId(now: number = Date.now()): string {
  return `${new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
}

/** Where and how a resync request is sent. */
export interface RequestResyncOptions {
  /** The plugins to resync; default all. */
  readonly plugins?: readonly string[];
  readonly reason?: ResyncReason;
  /** Resume (or retry) this resync instead of starting a new one. */
  readonly resyncId?: string;
  /** The resync queue; default `DATASYNC_RESYNC_QUEUE_URL`. */
  readonly queueUrl?: string;
  readonly clients?: Partial<AwsClients>;
  /** Seconds before the request becomes visible (0 to 900). */
  readonly delaySeconds?: number;
}

/**
 * Asks for a resync by sending a request to the resync queue, which triggers the resync function.
 * @returns the request sent (with its resync id, to follow in feedback and `readPluginStates`).
 */
export async function requestResync(options: RequestResyncOptions = {}): Promise<ResyncRequest> {
  const queueUrl = options.queueUrl ?? process.env[ENV.resyncQueueUrl];
  if (!queueUrl)
    throw new DatasyncError('CONFIGURATION', `no resync queue: pass queueUrl or set ${ENV.resyncQueueUrl}`);
  const reason = options.reason ?? 'manual';
  const request = parseResyncRequest({
    datasync: 'resync',
    reason,
    ...(options.resyncId === undefined ? {} : { resyncId: options.resyncId }),
    ...(options.plugins === undefined ? {} : { plugins: options.plugins }),
    // A continuation carries on its own resync; a new request can be answered by one that starts later.
    ...(reason === 'continuation' ? {} : { requestedAt: new Date().toISOString() }),
  });
  try {
    await (options.clients?.sqs ?? sqsClient()).send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(request),
        ...(options.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
      }),
    );
  } catch (cause) {
    throw new DatasyncError('PUBLISH_FAILED', withCause(`could not send resync request ${request.resyncId}`, cause), {
      cause,
      details: { resyncId: request.resyncId },
    });
  }
  return request;
}
