import type { SQSRecord } from 'aws-lambda';
import type { Change } from '../../model/change.ts';
import { arnResourceName, changeFromEnvelope, readEnvelopeText, type EnvelopeRules } from '../envelope-change.ts';

/** Whether a queue ARN names a FIFO queue. */
export function isFifoQueueArn(arn: string | undefined): boolean {
  return (arn ?? '').endsWith('.fifo');
}

/**
 * Turns one SQS message whose body is a change envelope (see `parseEnvelope`) into a change. The
 * source is the queue (by name) and the message id; the time is the envelope's, else the send time.
 * @throws InvalidChangeError when the body is not JSON or breaks an envelope rule.
 */
export function changeFromSqsMessage(record: SQSRecord, rules: EnvelopeRules = {}): Change {
  const body = readEnvelopeText(record.body);
  const sent = Number(record.attributes?.SentTimestamp);
  const time = Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : new Date().toISOString();
  return changeFromEnvelope(
    body,
    { type: 'sqs', name: arnResourceName(record.eventSourceARN) ?? 'sqs', id: record.messageId },
    time,
    rules,
  );
}
