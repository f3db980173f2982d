import type { ParseArgsOptionsConfig } from 'node:util';
import type { AwsClients } from '../aws/clients.ts';

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
  /** The option lines of `--help` (the common options are added). */
  readonly help: string;
  /** The command's own options, in `util.parseArgs` form. */
  readonly options: ParseArgsOptionsConfig;
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
