import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, Handler } from 'aws-lambda';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { lambdaContext, toLambdaStreamRecord } from './lambda-shapes.ts';

/** Settings of a local DynamoDB stream event source mapping, as on AWS. */
export interface StreamMappingOptions {
  readonly streamArn: string;
  readonly functionName: string;
  readonly handler: Handler<DynamoDBStreamEvent, DynamoDBBatchResponse | undefined>;
  readonly batchSize?: number;
  /** Retries of a failing batch before its records go to the on-failure queue. */
  readonly maximumRetryAttempts?: number;
  /** Where records that exhausted their retries are described (like `DestinationConfig.OnFailure`). */
  readonly onFailureQueueUrl?: string;
  readonly timeoutMs?: number;
  readonly onInvoke?: (info: { records: number; failed: number; error?: unknown }) => void;
}

/**
 * Polls every shard of a stream, parents before children (shard lineage), and invokes the
 * handler with batches in shard order. A partial batch response checkpoints at the lowest failed
 * sequence number and retries from there; after the retries, the failed records are described on
 * the on-failure queue and the shard moves on, as Lambda does.
 */
export class StreamPoller {
  readonly #clients: AwsClients;
  readonly #options: StreamMappingOptions;
  /** The sequence number of the last record handed over, per shard. */
  readonly #last = new Map<string, string>();
  readonly #done = new Set<string>();

  constructor(clients: AwsClients, options: StreamMappingOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  /** Polls once across the shards; returns how many records were handed to the handler. */
  async pollOnce(): Promise<number> {
    const { StreamDescription } = await this.#clients.streams.send(
      new DescribeStreamCommand({ StreamArn: this.#options.streamArn }),
    );
    const shards = StreamDescription?.Shards ?? [];
    let delivered = 0;
    for (const shard of lineageOrder(shards)) {
      const id = shard.ShardId!;
      if (this.#done.has(id)) continue;
      if (
        shard.ParentShardId &&
        shards.some((s) => s.ShardId === shard.ParentShardId) &&
        !this.#done.has(shard.ParentShardId)
      )
        continue;
      delivered += await this.#pollShard(id, shard.SequenceNumberRange?.EndingSequenceNumber !== undefined);
    }
    return delivered;
  }

  async #pollShard(shardId: string, closed: boolean): Promise<number> {
    // Each poll starts from a fresh iterator after the last record handed over, rather than the
    // iterator the last read returned: the emulator replaces a table (and its stream shard) with
    // a copy whenever a transaction on it is cancelled, and an iterator taken before that never
    // sees another record. On AWS the two are the same; here it costs one call per poll.
    const last = this.#last.get(shardId);
    const { ShardIterator } = await this.#clients.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.#options.streamArn,
        ShardId: shardId,
        ...(last === undefined
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last }),
      }),
    );
    if (!ShardIterator) {
      this.#done.add(shardId);
      return 0;
    }
    const response = await this.#clients.streams.send(
      new GetRecordsCommand({ ShardIterator, Limit: this.#options.batchSize ?? 100 }),
    );
    if (!response.NextShardIterator && closed) this.#done.add(shardId);
    const records = (response.Records ?? []).map((record) => toLambdaStreamRecord(record, this.#options.streamArn));
    if (records.length > 0) {
      await this.#deliver(records);
      this.#last.set(shardId, records.at(-1)!.dynamodb!.SequenceNumber!);
    }
    return records.length;
  }

  async #deliver(batch: DynamoDBRecord[]): Promise<void> {
    let pending = batch;
    const attempts = (this.#options.maximumRetryAttempts ?? 2) + 1;
    for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt += 1) {
      let failedFrom: number;
      try {
        const response = await this.#options.handler(
          { Records: pending },
          lambdaContext(this.#options.functionName, this.#options.timeoutMs ?? 30_000),
          () => {},
        );
        const failures = (response ?? undefined)?.batchItemFailures ?? [];
        if (failures.length === 0) {
          this.#options.onInvoke?.({ records: pending.length, failed: 0 });
          return;
        }
        // Checkpoint at the lowest failed sequence number: it and everything after are retried.
        const lowest = failures.map((f) => f.itemIdentifier).reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
        failedFrom = pending.findIndex((record) => record.dynamodb?.SequenceNumber === lowest);
        if (failedFrom < 0) failedFrom = 0;
        this.#options.onInvoke?.({ records: pending.length, failed: pending.length - failedFrom });
      } catch (error) {
        failedFrom = 0;
        this.#options.onInvoke?.({ records: pending.length, failed: pending.length, error });
      }
      pending = pending.slice(failedFrom);
    }
    if (pending.length > 0 && this.#options.onFailureQueueUrl) {
      // Like Lambda's on-failure destination: a description of the failed range, not the records.
      const first = pending[0]!.dynamodb?.SequenceNumber;
      const last = pending.at(-1)!.dynamodb?.SequenceNumber;
      await this.#clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.#options.onFailureQueueUrl,
          MessageBody: JSON.stringify({
            requestContext: { condition: 'RetryAttemptsExhausted', functionArn: this.#options.functionName },
            DDBStreamBatchInfo: {
              streamArn: this.#options.streamArn,
              startSequenceNumber: first,
              endSequenceNumber: last,
              batchSize: pending.length,
            },
          }),
        }),
      );
    }
  }
}

function lineageOrder(shards: Shard[]): Shard[] {
  const byId = new Map(shards.map((shard) => [shard.ShardId!, shard]));
  const depth = (shard: Shard): number => {
    let level = 0;
    for (let parent = shard.ParentShardId; parent && byId.has(parent); parent = byId.get(parent)!.ParentShardId)
      level += 1;
    return level;
  };
  return [...shards].sort((a, b) => depth(a) - depth(b));
}
