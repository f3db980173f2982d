import type { EventBridgeEvent } from 'aws-lambda';
import { InvalidChangeError } from '../../errors.ts';
import type { Change } from '../../model/change.ts';
import { DEFAULT_EVENT_DETAIL_TYPE, DEFAULT_EVENT_SOURCE } from '../../model/envelope.ts';
import { changeFromEnvelope, readableIds, type EnvelopeRules } from '../envelope-change.ts';

/** Which events carry changes. */
export interface EventBridgeSourceOptions {
  /** Expected `source`; default {@link DEFAULT_EVENT_SOURCE}. */
  readonly source?: string;
  /** Expected `detail-type`; default {@link DEFAULT_EVENT_DETAIL_TYPE}. */
  readonly detailType?: string;
  /**
   * The bus name reported as the change's source name. EventBridge does not put the bus in the
   * event it hands Lambda, so the function is told (`DATASYNC_EVENT_BUS`); without it the name is
   * the event's `source`.
   */
  readonly busName?: string;
}

/**
 * Turns one EventBridge event whose `detail` is a change envelope into a change. An event with
 * another `source` or `detail-type` than configured is refused as bad input (a rule that matches
 * too much is a mistake to surface, not to ignore).
 * @throws InvalidChangeError naming what does not match.
 */
export function changeFromEventBridgeEvent(
  event: EventBridgeEvent<string, unknown>,
  options: EventBridgeSourceOptions = {},
  rules: EnvelopeRules = {},
): Change {
  if (event === null || typeof event !== 'object') throw new InvalidChangeError('event must be an object');
  const expectedSource = options.source ?? DEFAULT_EVENT_SOURCE;
  const expectedType = options.detailType ?? DEFAULT_EVENT_DETAIL_TYPE;
  // The refusal names the key and correlation id the detail carries, so the sender hears of it.
  const ids = { details: readableIds(event.detail) };
  if (event.source !== expectedSource) {
    throw new InvalidChangeError(
      `event source must be ${JSON.stringify(expectedSource)}, got ${JSON.stringify(event.source) ?? 'nothing'}`,
      ids,
    );
  }
  if (event['detail-type'] !== expectedType) {
    throw new InvalidChangeError(
      `event detail-type must be ${JSON.stringify(expectedType)}, got ${JSON.stringify(event['detail-type']) ?? 'nothing'}`,
      ids,
    );
  }
  const time =
    typeof event.time === 'string' && !Number.isNaN(Date.parse(event.time))
      ? new Date(event.time).toISOString()
      : new Date().toISOString();
  return changeFromEnvelope(
    event.detail,
    {
      type: 'eventbridge',
      name: options.busName ?? event.source,
      ...(typeof event.id === 'string' ? { id: event.id } : {}),
    },
    time,
    rules,
  );
}
