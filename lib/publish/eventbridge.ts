import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { toEnvelope } from '../model/envelope.ts';
import type { Revision } from '../model/revision.ts';
import { RevisionClock } from './clock.ts';
import { DEFAULT_EVENT_DETAIL_TYPE, DEFAULT_EVENT_SOURCE, LIMITS } from './constants.ts';
import { chunk } from '../aws/batch.ts';
import { published, settle, type Delivered, type PendingChange } from './pending.ts';
import { sendWithRetry, type EntryFailure, type RetryPolicy } from '../aws/retry.ts';
import type { EventBridgeTarget } from './types.ts';
import type { TargetWriter } from './writer.ts';

interface EventEntry {
  readonly change: PendingChange;
  readonly revision: Revision;
  readonly request: PutEventsRequestEntry;
  readonly bytes: number;
}

// Entry codes worth resending; anything else (MalformedDetail, AccessDenied, …) will fail again.
const RETRYABLE_CODES = /Throttl|Internal|ServiceUnavailable|Timeout/i;

/**
 * The size EventBridge charges an entry against the 256 KiB PutEvents limit: 14 bytes for a
 * `Time`, plus the UTF-8 bytes of source, detail-type, detail and resources.
 */
export function eventEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

/**
 * The EventBridge target: each change is one event whose `detail` is the change envelope, put
 * with PutEvents (10 entries and 256 KiB a call). Revisions come from the publisher's clock.
 */
export function eventBridgeWriter(
  target: EventBridgeTarget,
  eventbridge: EventBridgeClient,
  policy: RetryPolicy,
): TargetWriter {
  const source = target.source ?? DEFAULT_EVENT_SOURCE;
  const detailType = target.detailType ?? DEFAULT_EVENT_DETAIL_TYPE;
  const clock = new RevisionClock();
  const name = `eventbridge:${target.busName}`;

  const toEntry = (change: PendingChange): EventEntry => {
    const revision = clock.next();
    const now = new Date();
    const request: PutEventsRequestEntry = {
      EventBusName: target.busName,
      Source: source,
      DetailType: detailType,
      Time: now,
      Detail: JSON.stringify(
        toEnvelope({
          key: change.key,
          op: change.op,
          revision,
          time: now.toISOString(),
          ...(change.value === undefined ? {} : { value: change.value }),
          ...(change.correlationId === undefined ? {} : { correlationId: change.correlationId }),
        }),
      ),
    };
    return { change, revision, request, bytes: eventEntrySize(request) };
  };

  const send = async (entries: EventEntry[]) => {
    const response = await eventbridge.send(new PutEventsCommand({ Entries: entries.map((e) => e.request) }));
    const results = response.Entries ?? [];
    const delivered: Delivered[] = [];
    const failed: EntryFailure<EventEntry>[] = [];
    // The answer's entries are aligned with the request's by position.
    entries.forEach((entry, position) => {
      const result = results[position];
      if (result?.EventId && !result.ErrorCode) {
        delivered.push(published(entry.change, entry.revision, result.EventId));
      } else if (result?.ErrorCode) {
        failed.push({
          entry,
          errorCode: result.ErrorCode,
          retryable: RETRYABLE_CODES.test(result.ErrorCode),
          reason: `${result.ErrorCode}: ${result.ErrorMessage ?? 'no message'}`,
        });
      } else {
        failed.push({ entry, retryable: true, reason: 'PutEvents gave no result for the entry' });
      }
    });
    return { delivered, failed };
  };

  return {
    name,
    checksVersions: false,
    async write(changes) {
      const entries = changes.map(toEntry);
      const delivered: Delivered[] = [];
      const failed: EntryFailure<EventEntry>[] = [];
      for (const batch of chunk(entries, LIMITS.eventBridgeEntries, LIMITS.eventBridgeBytes, (entry) => entry.bytes)) {
        const outcome = await sendWithRetry(batch, send, policy);
        delivered.push(...outcome.delivered);
        failed.push(...outcome.failed);
      }
      return settle(name, changes.length, delivered, failed);
    },
  };
}
