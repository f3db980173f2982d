import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { tablesFromEnvironment, type TableConfig } from '../../config.ts';
import { DatasyncError } from '../../errors.ts';
import { deliverBatch, normalizeItem, type SourceCore } from '../batch.ts';
import {
  DEFAULT_SAFETY_MARGIN_MS,
  remainingTime,
  type SourceHandlerOptions,
  type LambdaHandler,
} from '../../lambda/handler-options.ts';
import { sourceHandlerParts } from '../../lambda/handler-parts.ts';
import { describeError } from '../../feedback/record.ts';
import { tableStoreOf } from '../bus-options.ts';
import { batchResponse, streamFailures } from '../partial-batch.ts';
import type { TableStore } from '../store.ts';
import { changeFromStreamRecord, tableNameOfStreamArn } from './normalize.ts';

/** Options of the DynamoDB stream handler. */
export interface DynamoDbStreamHandlerOptions extends SourceHandlerOptions {
  /** The tables whose streams feed this function; default `DATASYNC_TABLES`. */
  readonly tables?: readonly TableConfig[];
  /**
   * The store the bus sources write with (a `TableStore`, or true for one over `tables`; default
   * on when `DATASYNC_STORE` is `on`): the stream's deletes of versioned items are settled with it
   * (`TableStore.settleDeletes`), so a bus put older than a delete made straight in the table never
   * brings the key back.
   */
  readonly store?: boolean | TableStore;
}

/**
 * The DynamoDB Streams handler (middy). It normalizes every record, settles versioned deletes
 * with the store when there is one, checks the batch's puts against the plugins' schemas (a put
 * that does not fit is refused: the item stays in the table, no plugin is handed it), delivers
 * the batch to the plugins, writes all feedback, dead-letters malformed records and answers with a partial batch
 * response that stops at the first failure: the lowest failed sequence number and every later
 * record are reported, so Lambda resumes there and no key's later change is taken as done
 * before an earlier failed one. Needs `FunctionResponseTypes: [ReportBatchItemFailures]`.
 */
export function createDynamoDbStreamHandler(
  datasync: SourceCore,
  options: DynamoDbStreamHandlerOptions = {},
): LambdaHandler<DynamoDBStreamEvent, DynamoDBBatchResponse> {
  const configured = options.tables ?? tablesFromEnvironment(options.env);
  const tables = new Map(configured.map((table) => [table.name, table]));
  const store = tableStoreOf(options, configured, options.env ?? process.env);
  if (tables.size === 0)
    throw new DatasyncError('CONFIGURATION', 'the DynamoDB stream handler needs at least one table config');
  // A middy handler with the service's logging and metrics middleware, and the metered writers.
  const { middy, logger, writers } = sourceHandlerParts('dynamodb-stream', options);
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>().handler(async (event, context) => {
    const records = event.Records ?? [];
    // A record without a sequence number cannot be reported; it is rejected under its position.
    const ids = records.map((record, index) => record.dynamodb?.SequenceNumber ?? `#${index}`);
    // A record that is no change at all (a correlation tag) is passed over, and counts as done.
    const items = records.flatMap((record, index) => {
      const item = normalizeItem(
        ids[index]!,
        record,
        (r: DynamoDBRecord) => changeFromStreamRecord(r, tables),
        {
          type: 'dynamodb',
          name: tableNameOfStreamArn(record.eventSourceARN) ?? 'unknown',
          id: ids[index]!,
        },
        (r) => JSON.stringify(r),
      );
      return item ? [item] : [];
    });
    // Deletes are settled with the store first; one that could not be is retried from its record.
    const unsettled = new Set<string>();
    if (store) {
      const deletes = items.flatMap((item) =>
        'change' in item && item.change.op === 'delete' && item.change.version !== undefined
          ? [{ id: item.id, key: item.change.key, version: item.change.version }]
          : [],
      );
      const failed = deletes.length > 0 ? await store.settleDeletes(deletes) : new Map<string, Error>();
      for (const { id, key } of deletes) if (failed.has(key)) unsettled.add(id);
      if (failed.size > 0) {
        logger.error('deletes not settled with the store; their records are retried', {
          keys: [...failed.keys()],
          error: describeError([...failed.values()][0]),
        });
      }
    }
    const remaining = remainingTime(context, margin);
    const { failed } = await deliverBatch(
      items,
      { datasync, ...writers, logger, ...(remaining ? { remainingTimeMs: remaining } : {}) },
      (direct) =>
        streamFailures(
          ids.filter((id) => /^[0-9]+$/.test(id)),
          new Set([...direct, ...unsettled]),
        ),
    );
    return batchResponse(failed);
  });
}
