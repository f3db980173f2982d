import { ENV, tablesFromEnvironment, validateTable } from '../config.ts';
import type { PublishTarget } from '../publish/types.ts';
import { stringOption, UsageError, type CliContext } from './command.ts';
import { CLI_ENV, type OptionGroup } from './options.ts';

/** The options that choose where `put` and `delete` publish. */
export const TARGET_OPTIONS: OptionGroup = {
  title: 'Target (exactly one; flags win over the environment)',
  options: [
    'table',
    'prefix',
    'key-attributes',
    'version-attribute',
    'changes-queue-url',
    'fifo',
    'bus',
    'source',
    'detail-type',
  ],
};

/**
 * Works out the publish target from flags, then the environment. With neither, a single table
 * in `DATASYNC_TABLES` is used.
 * @throws UsageError when no target or more than one is given, or a table's config is incomplete.
 */
export function resolveTarget(context: CliContext): PublishTarget {
  const flagged = (['table', 'changes-queue-url', 'bus'] as const).filter(
    (name) => stringOption(context, name) !== undefined,
  );
  if (flagged.length > 1)
    throw new UsageError(`give one target, not ${flagged.map((name) => `--${name}`).join(' and ')}`);
  let chosen: 'table' | 'changes-queue-url' | 'bus' | undefined = flagged[0];
  let value = chosen ? stringOption(context, chosen) : undefined;
  if (!chosen) {
    const fromEnv = (
      [
        ['table', CLI_ENV.table],
        ['changes-queue-url', CLI_ENV.changesQueueUrl],
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
      `no target: give --table, --changes-queue-url or --bus (or set ${CLI_ENV.table}, ${CLI_ENV.changesQueueUrl} or ${CLI_ENV.bus})`,
    );

  if (chosen === 'changes-queue-url') {
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
