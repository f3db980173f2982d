import type { ParseArgsOptionsConfig } from 'node:util';
import { ENV } from '../config.ts';

/** Environment variables the CLI reads besides those in `ENV` (lib/config.ts). */
export const CLI_ENV = {
  /** The name of the table (in `DATASYNC_TABLES`) to publish to. */
  table: 'DATASYNC_TABLE',
  /** The queue of changes to publish to. */
  changesQueueUrl: 'DATASYNC_CHANGES_QUEUE_URL',
  /** The EventBridge bus to publish to. */
  bus: 'DATASYNC_BUS',
} as const;

/** One command-line option: how it parses and how its help line reads. */
export interface OptionSpec {
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  /** Given more than once (or as a comma-separated list), its values add up. */
  readonly multiple?: boolean;
  /** The value's name in the help, e.g. `<url>`. */
  readonly placeholder?: string;
  readonly description: string;
  /** The environment variable the value defaults to. */
  readonly env?: string;
}

/**
 * Every option of the `datasync` CLI, each declared once: the parser's configuration and every
 * help text are generated from this table. One concept has one name in every command (`--plugin`,
 * one `--…-queue-url` per queue), and every duration is in seconds.
 */
export const OPTIONS = {
  help: { type: 'boolean', short: 'h', description: 'this help' },
  json: { type: 'boolean', description: 'machine-readable JSON on stdout (errors too)' },
  'endpoint-url': {
    type: 'string',
    placeholder: '<url>',
    description: 'AWS endpoint, e.g. an emulator; default AWS itself',
    env: 'AWS_ENDPOINT_URL',
  },
  region: { type: 'string', placeholder: '<region>', description: 'AWS region', env: 'AWS_REGION' },

  table: {
    type: 'string',
    placeholder: '<name>',
    description: `DynamoDB table; its config from ${ENV.tables} when listed there`,
    env: CLI_ENV.table,
  },
  prefix: {
    type: 'string',
    placeholder: '<key prefix>',
    description: `the table's key prefix, when not in ${ENV.tables}`,
  },
  'key-attributes': {
    type: 'string',
    placeholder: '<a[,b]>',
    description: "the table's partition[,sort] key attribute names (default pk)",
  },
  'version-attribute': {
    type: 'string',
    placeholder: '<a>',
    description: "the table's version attribute (default version)",
  },
  'changes-queue-url': {
    type: 'string',
    placeholder: '<url>',
    description: 'SQS queue of changes',
    env: CLI_ENV.changesQueueUrl,
  },
  fifo: { type: 'boolean', description: 'the changes queue is FIFO (implied by a URL ending in .fifo)' },
  bus: { type: 'string', placeholder: '<name>', description: 'EventBridge bus', env: CLI_ENV.bus },
  source: { type: 'string', placeholder: '<source>', description: "the events' source (default serverless-datasync)" },
  'detail-type': {
    type: 'string',
    placeholder: '<type>',
    description: "the events' detail-type (default datasync.change)",
  },

  'correlation-id': {
    type: 'string',
    placeholder: '<id>',
    description: 'carried into feedback (default a new id with --wait)',
  },
  'expected-version': {
    type: 'string',
    placeholder: '<n>',
    description: 'DynamoDB only: write only if the item is at version n (0: absent)',
  },
  plugin: {
    type: 'string',
    multiple: true,
    placeholder: '<name>',
    description: 'only these plugins (repeat, or a,b)',
  },
  wait: { type: 'boolean', description: 'wait for the outcome and print it (exit 1 on error or timeout)' },
  timeout: { type: 'string', placeholder: '<seconds>', description: 'how long to wait' },
  interval: { type: 'string', placeholder: '<seconds>', description: 'pause between reads (default 1)' },
  once: { type: 'boolean', description: 'drain the queue and exit instead of following it' },
  'feedback-queue-url': {
    type: 'string',
    placeholder: '<url>',
    description: 'the feedback queue',
    env: ENV.feedbackQueueUrl,
  },
  'resync-queue-url': {
    type: 'string',
    placeholder: '<url>',
    description: 'the resync queue',
    env: ENV.resyncQueueUrl,
  },
  'state-table': { type: 'string', placeholder: '<name>', description: 'the sync-state table', env: ENV.stateTable },

  name: { type: 'string', placeholder: '<service>', description: "the service's name (default: the folder's name)" },
  port: { type: 'string', placeholder: '<n>', description: 'port of the local HTTP API (default 3000)' },
  stage: {
    type: 'string',
    placeholder: '<name>',
    description: 'stage the resource names are made for (default local)',
  },
} as const satisfies Record<string, OptionSpec>;

/** The name of an option in {@link OPTIONS}. */
export type OptionName = keyof typeof OPTIONS;

/** An option a command takes, with what it means there when the table's description is not enough. */
export type OptionUse = OptionName | { readonly name: OptionName; readonly description: string };

/** A titled group of a command's options, as its help shows them. */
export interface OptionGroup {
  readonly title: string;
  readonly options: readonly OptionUse[];
}

/** The options every command takes. */
export const COMMON_OPTIONS: OptionGroup = {
  title: 'Common options',
  options: ['json', 'endpoint-url', 'region', 'help'],
};

const nameOf = (use: OptionUse): OptionName => (typeof use === 'string' ? use : use.name);

/** The `util.parseArgs` configuration of the given groups of options. */
export function parserConfig(groups: readonly OptionGroup[]): ParseArgsOptionsConfig {
  const config: ParseArgsOptionsConfig = {};
  for (const use of groups.flatMap((group) => group.options)) {
    const spec: OptionSpec = OPTIONS[nameOf(use)];
    config[nameOf(use)] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return config;
}

/** The help lines of the given groups of options, aligned in one column. */
export function optionsHelp(groups: readonly OptionGroup[]): string {
  const flag = (use: OptionUse) => {
    const spec: OptionSpec = OPTIONS[nameOf(use)];
    return `${spec.short ? `-${spec.short}, ` : ''}--${nameOf(use)}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
  };
  const width = Math.max(...groups.flatMap((group) => group.options.map((use) => flag(use).length)));
  return groups
    .map((group) =>
      [
        `${group.title}:`,
        ...group.options.map((use) => {
          const spec: OptionSpec = OPTIONS[nameOf(use)];
          const description = typeof use === 'string' ? spec.description : use.description;
          return `  ${flag(use).padEnd(width)}  ${description}${spec.env ? ` (env ${spec.env})` : ''}`;
        }),
      ].join('\n'),
    )
    .join('\n\n');
}
