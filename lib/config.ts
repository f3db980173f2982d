import { DatasyncError, withCause } from './errors.ts';
import { validatePrefix } from './model/key.ts';
import type { TableConfig } from './model/table-config.ts';

export type { TableConfig } from './model/table-config.ts';

/** Environment variables the functions read. */
export const ENV = {
  tables: 'DATASYNC_TABLES',
  feedbackQueueUrl: 'DATASYNC_FEEDBACK_QUEUE_URL',
  stateTable: 'DATASYNC_STATE_TABLE',
  /** Where rejected input is sent, with its reason. */
  deadLetterQueueUrl: 'DATASYNC_DEAD_LETTER_QUEUE_URL',
  /** The queue of resync requests and continuations that triggers the resync function. */
  resyncQueueUrl: 'DATASYNC_RESYNC_QUEUE_URL',
  /**
   * `on` to let bus messages (SQS, EventBridge) write the tables' keys: the store. Off by default,
   * when such messages are refused.
   */
  store: 'DATASYNC_STORE',
  /** The FIFO queue that standard-queue and EventBridge changes move to, so each key's order holds. */
  orderedQueueUrl: 'DATASYNC_ORDERED_QUEUE_URL',
  /** The EventBridge bus the EventBridge function's rule is on (events do not name it). */
  eventBus: 'DATASYNC_EVENT_BUS',
} as const;

/** Reads `DATASYNC_TABLES`: a JSON list of table configs. */
export function tablesFromEnvironment(env: NodeJS.ProcessEnv = process.env): TableConfig[] {
  const text = env[ENV.tables];
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new DatasyncError('CONFIGURATION', withCause(`${ENV.tables} is not JSON`, cause), { cause });
  }
  if (!Array.isArray(parsed)) throw new DatasyncError('CONFIGURATION', `${ENV.tables} must be a JSON list of tables`);
  return parsed.map((entry, index) => validateTable(entry, `${ENV.tables}[${index}]`));
}

/** Checks one table config. */
export function validateTable(entry: unknown, where = 'table'): TableConfig {
  const table = entry as Partial<TableConfig> | null;
  if (!table || typeof table.name !== 'string' || table.name.length === 0) {
    throw new DatasyncError('CONFIGURATION', `${where} needs a name`);
  }
  try {
    validatePrefix(table.prefix);
  } catch (cause) {
    throw new DatasyncError('CONFIGURATION', withCause(`${where} (${table.name}) has a bad prefix`, cause), { cause });
  }
  const keyAttributes = table.keyAttributes ?? ['pk'];
  if (
    !Array.isArray(keyAttributes) ||
    keyAttributes.length === 0 ||
    keyAttributes.length > 2 ||
    !keyAttributes.every((a) => typeof a === 'string' && a)
  ) {
    throw new DatasyncError(
      'CONFIGURATION',
      `${where} (${table.name}) keyAttributes must list one or two attribute names`,
    );
  }
  return {
    name: table.name,
    prefix: table.prefix!,
    keyAttributes,
    ...(table.versionAttribute ? { versionAttribute: table.versionAttribute } : {}),
  };
}
