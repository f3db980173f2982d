import type { Change, ChangeSource } from '../model/change.ts';
import { parseEnvelope } from '../model/envelope.ts';

/**
 * Turns a bus message (the parsed JSON of an SQS body or an EventBridge `detail`) into a change.
 * The envelope's revision is the change's revision; its time wins over the transport's.
 * @throws InvalidChangeError when the message breaks an envelope rule.
 */
export function changeFromEnvelope(message: unknown, source: ChangeSource, transportTime: string): Change {
  const envelope = parseEnvelope(message);
  return {
    key: envelope.key,
    op: envelope.op,
    ...(envelope.value === undefined ? {} : { value: envelope.value }),
    ...(envelope.prevValue === undefined ? {} : { prevValue: envelope.prevValue }),
    ...(envelope.revision === undefined ? {} : { revision: envelope.revision }),
    ...(envelope.correlationId === undefined ? {} : { correlationId: envelope.correlationId }),
    source,
    time: envelope.time === undefined ? transportTime : new Date(envelope.time).toISOString(),
  };
}

/** The last part of an ARN's resource, e.g. the queue name of an SQS queue ARN. */
export function arnResourceName(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const resource = arn.split(':').slice(5).join(':');
  return resource.split('/').pop() || undefined;
}
