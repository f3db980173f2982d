import { dynamoDbClient } from '../aws/clients/dynamodb.ts';
import { eventBridgeClient } from '../aws/clients/eventbridge.ts';
import { sqsClient } from '../aws/clients/sqs.ts';
import { DatasyncError } from '../errors.ts';
import { dynamoDbWriter } from './dynamodb.ts';
import { eventBridgeWriter } from './eventbridge.ts';
import { sqsWriter } from './sqs.ts';
import type { PrefixSchema } from '../model/value-schema.ts';
import type { Publisher, PublisherOptions } from './types.ts';
import { publisherOver, retryPolicy, type TargetWriter } from './writer.ts';

/**
 * Creates a publisher that writes changes to a DynamoDB table, an SQS queue or an EventBridge
 * bus, so an application need not care which one carries them to the plugins. With `schemas` (the
 * plugins' value schemas by prefix, written `as const` or inline), `put` checks a value before
 * sending it and, for a key whose prefix is a literal, its type at compile time.
 * @throws DatasyncError `CONFIGURATION` for an incomplete target.
 */
export function createPublisher<const L extends readonly PrefixSchema[] = readonly PrefixSchema[]>(
  options: PublisherOptions<L>,
): Publisher<L> {
  const writer = writerFor(options);
  // A bus change to a table's key ends in that table (the service's store writes it): checked as
  // its item now, it is refused here rather than dead-lettered there.
  return publisherOver(
    writer.tables || !options.tables ? writer : { ...writer, tables: options.tables },
    options.schemas,
  ) as Publisher<L>;
}

function writerFor(options: PublisherOptions<readonly PrefixSchema[]>): TargetWriter {
  const policy = retryPolicy(options.retry);
  const target = options.target as PublisherOptions['target'] | undefined;
  switch (target?.type) {
    case 'dynamodb':
      if (!target.table?.name || !target.table.prefix || !target.table.keyAttributes?.length) {
        throw new DatasyncError(
          'CONFIGURATION',
          'a dynamodb target needs a table config with name, prefix and keyAttributes',
        );
      }
      return dynamoDbWriter(target, options.clients?.dynamodb ?? dynamoDbClient(), policy);
    case 'sqs':
      if (!target.queueUrl) throw new DatasyncError('CONFIGURATION', 'an sqs target needs a queueUrl');
      return sqsWriter(target, options.clients?.sqs ?? sqsClient(), policy);
    case 'eventbridge':
      if (!target.busName) throw new DatasyncError('CONFIGURATION', 'an eventbridge target needs a busName');
      return eventBridgeWriter(target, options.clients?.eventbridge ?? eventBridgeClient(), policy);
    default:
      throw new DatasyncError(
        'CONFIGURATION',
        `unknown publish target type ${JSON.stringify((target as { type?: unknown } | undefined)?.type)}; use dynamodb, sqs or eventbridge`,
      );
  }
}
