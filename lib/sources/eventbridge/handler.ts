import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { DatasyncCore } from '../../core.ts';
import { DatasyncError } from '../../errors.ts';
import { deliverBatch, normalizeItem } from '../batch.ts';
import {
  DEFAULT_SAFETY_MARGIN_MS,
  jsonLog,
  remainingTime,
  resolveWriters,
  type SourceHandlerOptions,
  type LambdaHandler,
} from '../../lambda/handler-options.ts';
import { changeFromEventBridgeEvent, type EventBridgeSourceOptions } from './normalize.ts';

/** Options of the EventBridge handler. */
export interface EventBridgeHandlerOptions extends SourceHandlerOptions, EventBridgeSourceOptions {}

/** The result of an EventBridge invocation that did not fail. */
export interface EventBridgeResult {
  readonly status: 'ok' | 'rejected';
}

/**
 * The EventBridge handler (middy) for events whose `detail` is a change envelope. EventBridge
 * invokes Lambda asynchronously, so there is no partial batch response: when a plugin fails the
 * handler throws (after writing feedback) and Lambda retries the event, then sends it to the
 * function's on-failure destination. A malformed event or one with the wrong `source` or
 * `detail-type` is dead-lettered and reported, and the invocation succeeds.
 */
export function createEventBridgeHandler(
  datasync: Pick<DatasyncCore, 'dispatch'>,
  options: EventBridgeHandlerOptions = {},
): LambdaHandler<EventBridgeEvent<string, unknown>, EventBridgeResult> {
  const writers = resolveWriters(options);
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const log = options.log ?? jsonLog;
  return middy<EventBridgeEvent<string, unknown>, EventBridgeResult, Error, Context>().handler(
    async (event, context) => {
      const id = typeof event?.id === 'string' ? event.id : 'event';
      const item = normalizeItem(
        id,
        event,
        (e: EventBridgeEvent<string, unknown>) => changeFromEventBridgeEvent(e, options),
        {
          type: 'eventbridge',
          name: options.busName ?? (typeof event?.source === 'string' ? event.source : 'eventbridge'),
          id,
        },
        (e) => JSON.stringify(e),
      );
      const remaining = remainingTime(context, margin);
      const { failed, outcomes } = await deliverBatch(
        [item],
        { datasync, ...writers, log, ...(remaining ? { remainingTimeMs: remaining } : {}) },
        (direct) => [...direct],
      );
      if (failed.length > 0) {
        const errors = outcomes.flatMap((outcome) => (outcome.error ? [outcome.error] : []));
        throw new DatasyncError(
          errors.some((error) => (error as DatasyncError).code === 'PLUGIN_TIMEOUT') && errors.length === 1
            ? 'PLUGIN_TIMEOUT'
            : 'PLUGIN_FAILED',
          `${errors.length} plugin(s) failed on event ${id}; it will be retried`,
          { cause: errors.length === 1 ? errors[0] : new AggregateError(errors), details: { eventId: id } },
        );
      }
      return { status: 'rejected' in item ? 'rejected' : 'ok' };
    },
  );
}
