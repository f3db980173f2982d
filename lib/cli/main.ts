import { parseArgs } from 'node:util';
import { awsClients, createAwsClients, type AwsClients } from '../aws/clients.ts';
import { DatasyncError } from '../errors.ts';
import { EXIT, UsageError, type CliCommand, type CliContext } from './command.ts';
import { COMMON_OPTIONS, optionsHelp, parserConfig } from './options.ts';
import { errorJson } from './output.ts';

// Library errors that mean the input was wrong rather than that the work failed.
const INPUT_CODES = new Set([
  'INVALID_KEY',
  'INVALID_PREFIX',
  'INVALID_REVISION',
  'INVALID_VALUE',
  'INVALID_CHANGE',
  'CONFIGURATION',
]);

/** Where the CLI writes and what it reads. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  readonly signal: AbortSignal;
  /** Stdout is a terminal; default false. */
  readonly tty?: boolean;
}

/** The commands of the CLI and the version it reports. */
export interface CliProgram {
  readonly commands: readonly CliCommand[];
  readonly version: string;
}

/**
 * Runs `datasync <command> [args]` and resolves with the exit code: 0 done, 1 the work failed
 * (not published, conflict, timeout, AWS error), 2 wrong usage or input. `datasync help
 * [command]`, `--help` and `--version` print and exit 0.
 */
export async function runCli(argv: readonly string[], program: CliProgram, io: CliIo): Promise<number> {
  const { commands } = program;
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.out(`datasync ${program.version}`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out)(overview(commands));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === 'help') {
    if (rest.length === 0) {
      io.out(overview(commands));
      return EXIT.ok;
    }
    const wanted = commands.find((candidate) => candidate.name === rest[0]);
    if (!wanted || rest.length > 1) {
      io.err(`datasync help: ${wanted ? 'give one command' : `unknown command "${rest[0]}"`}\n\n${overview(commands)}`);
      return EXIT.usage;
    }
    io.out(commandHelp(wanted));
    return EXIT.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    io.err(`datasync: unknown command "${name}"\n\n${overview(commands)}`);
    return EXIT.usage;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: parserConfig([...command.options, COMMON_OPTIONS]),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.err(`datasync ${command.name}: ${(error as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  const json = parsed.values.json === true;
  let clients: AwsClients | undefined;
  const context: CliContext = {
    positionals: parsed.positionals,
    values: parsed.values,
    env: io.env,
    json,
    out: io.out,
    err: io.err,
    signal: io.signal,
    tty: io.tty === true,
    clients() {
      const endpoint = parsed.values['endpoint-url'];
      const region = parsed.values.region;
      clients ??=
        typeof endpoint === 'string' || typeof region === 'string'
          ? createAwsClients({
              ...(typeof endpoint === 'string' ? { endpoint } : {}),
              ...(typeof region === 'string' ? { region } : {}),
            })
          : awsClients();
      return clients;
    },
  };
  try {
    return await command.run(context);
  } catch (error) {
    const usage = error instanceof UsageError;
    const input = error instanceof DatasyncError && INPUT_CODES.has(error.code);
    if (json) io.out(JSON.stringify({ ok: false, error: errorJson(error) }));
    else io.err(`datasync ${command.name}: ${describe(error)}${usage ? `\n\n${commandHelp(command)}` : ''}`);
    return usage || input ? EXIT.usage : EXIT.failure;
  }
}

/**
 * An error as the CLI prints it: its message (and the library's code), never a class name; the
 * changes a publish left unpublished, one per line.
 */
function describe(error: unknown): string {
  if (error instanceof DatasyncError) {
    const unpublished =
      (error.details.unpublished as Array<{ key: string; op: string; reason: string }> | undefined) ?? [];
    const lines = unpublished.map((change) => `\n  not published: ${change.op} ${change.key}: ${change.reason}`);
    return `${error.message} [${error.code}]${lines.join('')}`;
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** The list of commands. */
export function overview(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: datasync <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    optionsHelp([COMMON_OPTIONS]),
    '',
    'Run "datasync help <command>" (or "datasync <command> --help") for its options,',
    '"datasync --version" for the version.',
    'Exit codes: 0 ok, 1 failure, 2 usage.',
  ].join('\n');
}

/** One command's help, its options generated from the option table. */
export function commandHelp(command: CliCommand): string {
  return [
    `Usage: datasync ${command.usage}`,
    '',
    command.summary,
    '',
    optionsHelp([...command.options, COMMON_OPTIONS]),
    ...(command.notes ? ['', command.notes] : []),
  ].join('\n');
}
