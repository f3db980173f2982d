/**
 * What the local pipeline needs created on the emulator and wired to the handlers: the same
 * tables, queues, bus and event sources as the deployed service.
 */
export interface LocalTopology {
  readonly tables: readonly TableResource[];
  readonly queues: readonly QueueResource[];
  readonly bus?: BusResource;
  readonly mappings: readonly EventSourceMapping[];
}

/** A DynamoDB table; `stream` means NEW_AND_OLD_IMAGES. */
export interface TableResource {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly stream: boolean;
}

/** An SQS queue, with its dead-letter queue when it has one. */
export interface QueueResource {
  readonly name: string;
  readonly fifo?: boolean;
  readonly contentBasedDeduplication?: boolean;
  readonly visibilityTimeoutSeconds?: number;
  readonly deadLetter?: { readonly queue: string; readonly maxReceiveCount: number };
}

/** An EventBridge bus and the rules that deliver matching events to queues. */
export interface BusResource {
  readonly name: string;
  readonly rules: ReadonlyArray<{ readonly name: string; readonly pattern: object; readonly targetQueue: string }>;
}

/** Which source feeds which function, with Lambda's event source settings. */
export type EventSourceMapping =
  | {
      readonly kind: 'stream';
      readonly table: string;
      readonly function: string;
      readonly batchSize: number;
      readonly maximumRetryAttempts: number;
      readonly onFailureQueue?: string;
    }
  | { readonly kind: 'queue'; readonly queue: string; readonly function: string; readonly batchSize: number }
  | { readonly kind: 'bus-rule'; readonly queue: string; readonly function: string }
  | {
      readonly kind: 'http';
      readonly function: string;
      readonly port: number;
      /** The API's routes as API Gateway names them, e.g. `PUT /keys/{key+}`. */
      readonly routes: readonly string[];
    };
