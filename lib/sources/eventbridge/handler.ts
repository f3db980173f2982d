import type { Context, EventBridgeEvent } from 'aws-lambda';
import { ENV } from '../../config.ts';
import { DatasyncError } from '../../errors.ts';
import { revisionLimit } from '../../model/revision.ts';
import { busRoute, type BusSourceOptions } from '../bus-options.ts';
import { deliverBatch, normalizeItem, type SourceCore } from '../batch.ts';
import {
  DEFAULT_SAFETY_MARGIN_MS,
  remainingTime,
  type SourceHandlerOptions,
  type LambdaHandler,
} from '../../lambda/handler-options.ts';
import { sourceHandlerParts } from '../../lambda/handler-parts.ts';
import { changeFromEventBridgeEvent, type EventBridgeSourceOptions } from './normalize.ts';

/** Options of the EventBridge handler. */
export interface EventBridgeHandlerOptions extends SourceHandlerOptions, EventBridgeSourceOptions, BusSourceOptions {}

/** The result of an EventBridge invocation that did not fail. */
export interface EventBridgeResult {
  readonly status: 'ok' | 'rejected';
}

/**
 * The EventBridge handler (middy) for events whose `detail` is a change envelope. The change
 * passes the change rules and the plugins' value schemas; a change to a key that lives in a table is written to the table by
 * the store (or refused when the store is off); any other change moves to the ordered FIFO queue
 * when one is configured (EventBridge runs many invocations at once), else is delivered here.
 *
 * EventBridge invokes Lambda asynchronously, so there is no partial batch response: when a
 * plugin, the store or the move fails, the handler throws (after writing feedback) and Lambda
 * retries the event, then sends it to the function's on-failure destination. A malformed event
 * or one with the wrong `source` or `detail-type` is dead-lettered and reported, and the
 * invocation succeeds.
 */
export function createEventBridgeHandler(
  datasync: SourceCore,
  options: EventBridgeHandlerOptions = {},
): LambdaHandler<EventBridgeEvent<string, unknown>, EventBridgeResult> {
  // A middy handler with the service's logging and metrics middleware, and the metered writers.
  const { middy, logger, writers } = sourceHandlerParts('eventbridge', options);
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const route = busRoute(options, false);
  const env = options.env ?? process.env;
  const busName = options.busName ?? env[ENV.eventBus];
  const sourceOptions = { ...options, ...(busName ? { busName } : {}) };
  return middy<EventBridgeEvent<string, unknown>, EventBridgeResult, Error, Context>().handler(
    async (event, context) => {
      const id = typeof event?.id === 'string' ? event.id : 'event';
      const rules = { tables: route.tables, maxRevision: revisionLimit() };
      const item = normalizeItem(
        id,
        event,
        (e: EventBridgeEvent<string, unknown>) => changeFromEventBridgeEvent(e, sourceOptions, rules),
        {
          type: 'eventbridge',
          name: busName ?? (typeof event?.source === 'string' ? event.source : 'eventbridge'),
          id,
        },
        (e) => JSON.stringify(e),
      );
      const remaining = remainingTime(context, margin);
      const { failed, outcomes, rejected } = await deliverBatch(
        [item],
        { datasync, ...writers, logger, route, ...(remaining ? { remainingTimeMs: remaining } : {}) },
        (direct) => [...direct],
      );
      if (failed.length > 0) {
        const errors = outcomes.flatMap((outcome) => (outcome.error ? [outcome.error] : []));
        if (errors.length === 0) {
          throw new DatasyncError('PUBLISH_FAILED', `event ${id} could not be stored or queued; it will be retried`, {
            details: { eventId: id },
          });
        }
        throw new DatasyncError(
          errors.some((error) => (error as DatasyncError).code === 'PLUGIN_TIMEOUT') && errors.length === 1
            ? 'PLUGIN_TIMEOUT'
            : 'PLUGIN_FAILED',
          `${errors.length} plugin(s) failed on event ${id}; it will be retried`,
          { cause: errors.length === 1 ? errors[0] : new AggregateError(errors), details: { eventId: id } },
        );
      }
      // Refused by a rule when normalized, or when delivered: by a schema, or by its route (a table
      // key with the store off).
      return { status: rejected > 0 ? 'rejected' : 'ok' };
    },
  );
}
