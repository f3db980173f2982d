import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { awsClients, createAwsClients, type AwsClients } from '../aws/clients.ts';
import { DatasyncError } from '../errors.ts';
import { EXIT, UsageError, type CliCommand, type CliContext } from './command.ts';
import { errorJson } from './output.ts';

/** Options every command takes. */
const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

const COMMON_HELP = `Common options:
  --json                     machine-readable JSON on stdout
  --endpoint-url <url>       AWS endpoint (default: AWS_ENDPOINT_URL, then AWS)
  --region <region>          AWS region (default: AWS_REGION)
  -h, --help                 this help`;

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

/**
 * Runs `datasync <command> [args]` and resolves with the exit code: 0 done, 1 the work failed
 * (not published, conflict, timeout, AWS error), 2 wrong usage or input.
 */
export async function runCli(argv: readonly string[], commands: readonly CliCommand[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(overview(commands));
    return name === undefined ? EXIT.usage : EXIT.ok;
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
      options: { ...COMMON_OPTIONS, ...command.options },
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

function describe(error: unknown): string {
  if (error instanceof DatasyncError) {
    const unpublished =
      (error.details.unpublished as Array<{ key: string; op: string; reason: string }> | undefined) ?? [];
    const lines = unpublished.map((change) => `\n  not published: ${change.op} ${change.key}: ${change.reason}`);
    return `${error.message} [${error.code}]${lines.join('')}`;
  }
  if (error instanceof Error)
    return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
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
    'Run "datasync <command> --help" for a command\'s options.',
    'Exit codes: 0 ok, 1 failure, 2 usage.',
  ].join('\n');
}

/** One command's help. */
export function commandHelp(command: CliCommand): string {
  return [`Usage: datasync ${command.usage}`, '', command.summary, '', command.help, '', COMMON_HELP].join('\n');
}
