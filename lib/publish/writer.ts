import type { TableConfig } from '../model/table-config.ts';
import type { PrefixSchema } from '../model/value-schema.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../aws/retry.ts';
import { DatasyncError } from '../errors.ts';
import { checkChange, type PendingChange } from './pending.ts';
import type { PublishedChange, Publisher } from './types.ts';

/** What each target implements: write checked changes, or throw naming the ones not written. */
export interface TargetWriter {
  /** The target's description for messages, e.g. `sqs:<url>`. */
  readonly name: string;
  /** Whether the target can check an expected version. */
  readonly checksVersions: boolean;
  /** The tables whose keys this target's changes end in, so their item rules are checked before sending. */
  readonly tables?: readonly TableConfig[];
  /**
   * Writes the changes and returns them as published, in order.
   * @param single true for `put`/`delete`, where a revision conflict is thrown as such.
   * @throws PublishError naming exactly the changes not written; VersionConflictError when single.
   */
  write(changes: readonly PendingChange[], single: boolean): Promise<PublishedChange[]>;
  /** Throws, as `write` would, for changes this target refuses; sends nothing. */
  check?(changes: readonly PendingChange[]): void;
}

/**
 * The publisher over one target writer: every change is checked by the core rules (and a put's
 * value by `schemas`) before the writer sees it. Kept apart from the choice of target so that code
 * publishing to one kind of target bundles only that target's SDK client.
 */
export function publisherOver(writer: TargetWriter, schemas?: readonly PrefixSchema[]): Publisher {
  const check = (change: Parameters<typeof checkChange>[0], index: number) =>
    checkChange(change, index, { allowExpectedVersion: writer.checksVersions, tables: writer.tables, schemas });
  return {
    target: writer.name,
    async put(key, value, putOptions = {}) {
      const [result] = await writer.write([check({ ...putOptions, key, op: 'put', value }, 0)], true);
      return result!;
    },
    async delete(key, deleteOptions = {}) {
      const [result] = await writer.write([check({ ...deleteOptions, key, op: 'delete' }, 0)], true);
      return result!;
    },
    async publish(changes) {
      if (!Array.isArray(changes)) throw new DatasyncError('INVALID_CHANGE', 'publish() takes a list of changes');
      const checked = changes.map((change, index) => check(change, index));
      if (checked.length === 0) return [];
      return writer.write(checked, false);
    },
    validate(changes) {
      if (!Array.isArray(changes)) throw new DatasyncError('INVALID_CHANGE', 'publish() takes a list of changes');
      writer.check?.(changes.map((change, index) => check(change, index)));
    },
  };
}

/**
 * The retry policy of a publisher: the defaults with the caller's overrides.
 * @throws DatasyncError `CONFIGURATION` for a policy that cannot work.
 */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (
    !(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1) ||
    !(policy.baseDelayMs >= 0) ||
    !(policy.maxDelayMs >= 0)
  ) {
    throw new DatasyncError('CONFIGURATION', 'retry needs maxAttempts >= 1 and non-negative delays');
  }
  return policy;
}
