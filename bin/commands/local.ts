import { join } from 'node:path';
import { EXIT, stringOption, UsageError, type CliCommand } from '../../lib/cli/command.ts';
import { formatTable } from '../../lib/cli/render.ts';
import type { Plugin } from '../../lib/plugins/plugin.ts';

/** `datasync local`: the service in the current folder, running locally on the emulator. */
const local: CliCommand = {
  name: 'local',
  summary: 'Run the service in this folder locally on the emulator and check that changes reach its plugins.',
  usage: 'local [--once] [--port <n>] [--stage <name>] [options]',
  options: [
    {
      title: 'Options',
      options: [{ name: 'once', description: 'stop after the check (exit 0 only when it passed)' }, 'port', 'stage'],
    },
  ],
  notes: `Reads serverless.yml in the current folder, uses the emulator at --endpoint-url or
AWS_ENDPOINT_URL (else starts moto_server on 127.0.0.1:4566), creates the service's tables,
queues and bus there, and runs its functions (functions/*.ts) behind local event sources and the
HTTP API. It then resyncs every plugin registered in functions/app.ts and publishes one change
through DynamoDB, SQS, SQS FIFO, EventBridge and the HTTP API under each plugin's first prefix,
and shows the feedback every plugin wrote. Without --once it keeps running until interrupted.
Needs Node.js 22.18 or later (it runs the TypeScript functions as they are).`,
  async run(context) {
    if (context.positionals.length > 0) throw new UsageError(`unexpected argument "${context.positionals[0]}"`);
    const port = Number(stringOption(context, 'port') ?? '3000');
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('--port must be a port number');
    const endpoint = stringOption(context, 'endpoint-url');
    if (endpoint) process.env.AWS_ENDPOINT_URL = endpoint;
    const region = stringOption(context, 'region');
    if (region) process.env.AWS_REGION = region;
    // The functions' own logs and metric lines would drown the check.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

    const serviceDir = process.cwd();
    const { startLocalService } = await import('../../infra/local/local-service.ts');
    const { runLocalCheck } = await import('../../infra/local/local-check.ts');
    const service = await startLocalService({
      serviceDir,
      stage: stringOption(context, 'stage') ?? 'local',
      httpPort: port,
      log: (line) => context.err(line),
    });
    try {
      const app = (await import(join(serviceDir, 'functions', 'app.ts'))) as {
        datasync?: { plugins(): Plugin[] };
      };
      if (typeof app.datasync?.plugins !== 'function') {
        throw new Error('functions/app.ts exports no datasync core (export const datasync = createDatasyncCore(…))');
      }
      const plugins = app.datasync.plugins();
      context.err(`emulator ${service.emulator.endpoint}; HTTP API ${service.runner.httpUrl}`);
      context.err(`plugins  ${plugins.map((plugin) => `${plugin.name} [${plugin.prefixes.join(', ')}]`).join(' → ')}`);
      const report = await runLocalCheck(service, { plugins, say: (line) => context.err(line) });
      if (context.json) context.out(JSON.stringify({ ok: report.passed, ...report }));
      else {
        context.out(
          formatTable(
            ['resync', 'status', 'items'],
            report.resyncs.map((row) => [row.plugin, row.status, row.items]),
          ),
        );
        context.out('');
        context.out(
          formatTable(
            ['source', 'key', 'plugin', 'feedback'],
            report.changes.map((row) => [
              row.source,
              row.key,
              row.plugin,
              row.detail ? `${row.status}: ${row.detail}` : row.status,
            ]),
          ),
        );
        context.out(report.passed ? '\nEvery plugin resynced and reported every change ok.' : '\nThe check failed.');
      }
      if (context.values.once !== true) {
        context.err(`Still running: try curl -X PUT ${service.runner.httpUrl}/keys/<key> -d '<json>'. Ctrl-C stops.`);
        await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
      return report.passed ? EXIT.ok : EXIT.failure;
    } finally {
      await service.stop();
    }
  },
};

export default local;
