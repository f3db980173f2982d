import type { PublishedChange } from './types.ts';
import type { PendingChange } from './pending.ts';

/** What each target implements: write checked changes, or throw naming the ones not written. */
export interface TargetWriter {
  /** The target's description for messages, e.g. `sqs:<url>`. */
  readonly name: string;
  /** Whether the target can check an expected revision. */
  readonly checksRevisions: boolean;
  /**
   * Writes the changes and returns them as published, in order.
   * @param single true for `put`/`delete`, where a revision conflict is thrown as such.
   * @throws PublishError naming exactly the changes not written; RevisionConflictError when single.
   */
  write(changes: readonly PendingChange[], single: boolean): Promise<PublishedChange[]>;
}
