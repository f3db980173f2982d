import type { AwsClients } from '../aws/clients.ts';
import type { OptionGroup } from './options.ts';

/** Exit codes of the `datasync` CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * One `datasync` command. Each lives in its own file in `bin/commands/` and is its default
 * export; the CLI finds the files there, so a new command is one new file.
 */
export interface CliCommand {
  /** The word that selects the command, e.g. `put`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis after `datasync`, e.g. `put <key> <json> [options]`. */
  readonly usage: string;
  /** The command's own options (from the table in lib/cli/options.ts); the common ones are added. */
  readonly options: readonly OptionGroup[];
  /** What the help says after the options: examples, output, exit codes. */
  readonly notes?: string;
  /** Runs the command; resolves with the exit code. Throw `UsageError` for bad arguments. */
  run(context: CliContext): Promise<number>;
}

/** What a command gets to work with. */
export interface CliContext {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | Array<string | boolean> | undefined>>;
  readonly env: NodeJS.ProcessEnv;
  /** `--json`: print machine-readable JSON on stdout instead of text. */
  readonly json: boolean;
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr. */
  err(line: string): void;
  /** The AWS clients (honouring `--endpoint-url`/`--region`, else the environment). */
  clients(): AwsClients;
  /** Aborted on SIGINT/SIGTERM, for commands that follow a queue. */
  readonly signal: AbortSignal;
  /** Stdout is a terminal: progress may be redrawn in place (else it is printed as plain lines). */
  readonly tty: boolean;
}

/** The arguments are wrong: the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A string option's value, or undefined. */
export function stringOption(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A queue URL from its option or its variable.
 * @throws UsageError when neither is given.
 */
export function queueUrlOption(context: CliContext, option: string, variable: string): string {
  const url = stringOption(context, option) ?? context.env[variable];
  if (!url) throw new UsageError(`give --${option} or set ${variable}`);
  return url;
}

/** The values of a repeatable option, each also split at commas; undefined when none was given. */
export function listOption(context: CliContext, name: string): string[] | undefined {
  const raw = context.values[name];
  const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
    (value): value is string => typeof value === 'string',
  );
  const names = values
    .flatMap((value) => value.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
  return names.length > 0 ? [...new Set(names)] : undefined;
}

/** A positive number of seconds from an option (fractions allowed), in milliseconds. */
export function secondsOption(context: CliContext, name: string, fallbackSeconds: number): number {
  const text = stringOption(context, name);
  const seconds = text === undefined ? fallbackSeconds : Number(text);
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw new UsageError(`--${name} must be a positive number of seconds`);
  return Math.round(seconds * 1000);
}

/** Refuses options that mean something only together with `--<flag>` when that flag is absent. */
export function onlyWith(context: CliContext, flag: string, options: readonly string[]): void {
  if (context.values[flag] === true) return;
  for (const name of options)
    if (context.values[name] !== undefined) throw new UsageError(`--${name} only applies with --${flag}`);
}
