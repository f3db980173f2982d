import { ENV, tablesFromEnvironment, validateTable } from '../config.ts';
import type { PublishTarget } from '../publish/types.ts';
import { stringOption, UsageError, type CliContext } from './command.ts';

/** Environment variables the CLI reads besides those in `ENV` (lib/config.ts). */
export const CLI_ENV = {
  /** The name of the table (in `DATASYNC_TABLES`) to publish to. */
  table: 'DATASYNC_TABLE',
  /** The queue to publish to. */
  queueUrl: 'DATASYNC_QUEUE_URL',
  /** The EventBridge bus to publish to. */
  bus: 'DATASYNC_BUS',
} as const;

/** The options that choose where `put` and `delete` publish. */
export const TARGET_OPTIONS = {
  table: { type: 'string' },
  prefix: { type: 'string' },
  'key-attributes': { type: 'string' },
  'version-attribute': { type: 'string' },
  'queue-url': { type: 'string' },
  fifo: { type: 'boolean' },
  bus: { type: 'string' },
  source: { type: 'string' },
  'detail-type': { type: 'string' },
} as const;

/** The help lines of the target options. */
export const TARGET_HELP = `Target (exactly one; flags win over the environment):
  --table <name>             DynamoDB table (config from ${ENV.tables} when listed there; env ${CLI_ENV.table})
    --prefix <key prefix>    its key prefix, when the table is not in ${ENV.tables}
    --key-attributes <a[,b]> partition[,sort] key attribute names (default pk)
    --version-attribute <a>  the version attribute (default version)
  --queue-url <url>          SQS queue (env ${CLI_ENV.queueUrl}); --fifo when the URL does not end in .fifo
  --bus <name>               EventBridge bus (env ${CLI_ENV.bus}); --source, --detail-type override the defaults`;

/**
 * Works out the publish target from flags, then the environment. With neither, a single table
 * in `DATASYNC_TABLES` is used.
 * @throws UsageError when no target or more than one is given, or a table's config is incomplete.
 */
export function resolveTarget(context: CliContext): PublishTarget {
  const flagged = (['table', 'queue-url', 'bus'] as const).filter((name) => stringOption(context, name) !== undefined);
  if (flagged.length > 1)
    throw new UsageError(`give one target, not ${flagged.map((name) => `--${name}`).join(' and ')}`);
  let chosen: 'table' | 'queue-url' | 'bus' | undefined = flagged[0];
  let value = chosen ? stringOption(context, chosen) : undefined;
  if (!chosen) {
    const fromEnv = (
      [
        ['table', CLI_ENV.table],
        ['queue-url', CLI_ENV.queueUrl],
        ['bus', CLI_ENV.bus],
      ] as const
    ).filter(([, name]) => context.env[name]);
    if (fromEnv.length > 1)
      throw new UsageError(
        `the environment names more than one target (${fromEnv.map(([, name]) => name).join(', ')}); pick one with a flag`,
      );
    if (fromEnv[0]) [chosen, value] = [fromEnv[0][0], context.env[fromEnv[0][1]]];
  }
  const tables = tablesFromEnvironment(context.env);
  if (!chosen && tables.length === 1) [chosen, value] = ['table', tables[0]!.name];
  if (!chosen || !value)
    throw new UsageError(
      `no target: give --table, --queue-url or --bus (or set ${CLI_ENV.table}, ${CLI_ENV.queueUrl} or ${CLI_ENV.bus})`,
    );

  if (chosen === 'queue-url') {
    return { type: 'sqs', queueUrl: value, ...(context.values.fifo ? { fifo: true } : {}) };
  }
  if (chosen === 'bus') {
    const source = stringOption(context, 'source');
    const detailType = stringOption(context, 'detail-type');
    return {
      type: 'eventbridge',
      busName: value,
      ...(source ? { source } : {}),
      ...(detailType ? { detailType } : {}),
    };
  }
  const listed = tables.find((table) => table.name === value);
  const prefix = stringOption(context, 'prefix') ?? listed?.prefix;
  if (!prefix) throw new UsageError(`table ${value} is not in ${ENV.tables}; give its --prefix`);
  const keyAttributes = stringOption(context, 'key-attributes')?.split(',') ?? listed?.keyAttributes;
  const versionAttribute = stringOption(context, 'version-attribute') ?? listed?.versionAttribute;
  try {
    return {
      type: 'dynamodb',
      table: validateTable(
        { name: value, prefix, keyAttributes, ...(versionAttribute ? { versionAttribute } : {}) },
        `--table ${value}`,
      ),
    };
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}${(error as Error).cause instanceof Error ? `: ${((error as Error).cause as Error).message}` : ''}`,
    );
  }
}
