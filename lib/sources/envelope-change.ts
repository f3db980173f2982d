import { InvalidChangeError } from '../errors.ts';
import type { ChangeRules } from '../model/change-rules.ts';
import type { Change, ChangeSource } from '../model/change.ts';
import { parseEnvelope } from '../model/envelope.ts';
import { parseJsonStrict } from '../model/json-text.ts';

/**
 * The rules a bus message is checked by (the sender's revision bound, the service's tables). Its
 * value is checked against the schemas with the rest of its batch (`checkBatchSchemas`).
 */
export type EnvelopeRules = Omit<ChangeRules, 'origin' | 'schemas'>;

/**
 * Turns a bus message (the parsed JSON of an SQS body or an EventBridge `detail`) into a change.
 * The envelope's revision is the change's revision; its time wins over the transport's.
 * @throws InvalidChangeError when the message breaks an envelope rule.
 */
export function changeFromEnvelope(
  message: unknown,
  source: ChangeSource,
  transportTime: string,
  rules: EnvelopeRules = {},
): Change {
  const envelope = parseEnvelope(message, rules);
  return {
    key: envelope.key,
    op: envelope.op,
    ...(envelope.value === undefined ? {} : { value: envelope.value }),
    ...(envelope.prevValue === undefined ? {} : { prevValue: envelope.prevValue }),
    ...(envelope.revision === undefined ? {} : { revision: envelope.revision }),
    ...(envelope.correlationId === undefined ? {} : { correlationId: envelope.correlationId }),
    source,
    time: envelope.time ?? transportTime,
  };
}

/**
 * Reads a message body as JSON without rounding a number (see `parseJsonStrict`). A body
 * refused for a number still has its key and correlation id read, so the refusal reaches the
 * sender's feedback.
 * @throws InvalidChangeError when the body is not JSON or holds a number JSON would change.
 */
export function readEnvelopeText(text: string): unknown {
  try {
    return parseJsonStrict(text);
  } catch (cause) {
    if (cause instanceof SyntaxError) {
      throw new InvalidChangeError(`message body is not JSON: ${cause.message}`, { cause });
    }
    let ids: Record<string, unknown> = {};
    try {
      ids = readableIds(JSON.parse(text));
    } catch {
      // Nothing readable: the refusal names no key.
    }
    throw new InvalidChangeError(`value: ${(cause as Error).message}`, { cause, details: ids });
  }
}

/** The key and correlation id a message carries, where they are readable strings (for reporting a refusal). */
export function readableIds(message: unknown): Record<string, unknown> {
  if (message === null || typeof message !== 'object') return {};
  const { key, correlationId } = message as Record<string, unknown>;
  return {
    ...(typeof key === 'string' && key.length <= 1024 ? { key } : {}),
    ...(typeof correlationId === 'string' && correlationId.length > 0 && correlationId.length <= 128
      ? { correlationId }
      : {}),
  };
}

/** The last part of an ARN's resource, e.g. the queue name of an SQS queue ARN. */
export function arnResourceName(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const resource = arn.split(':').slice(5).join(':');
  return resource.split('/').pop() || undefined;
}
