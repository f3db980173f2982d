// `npm start`: the whole service running locally on the embedded emulator (or on the endpoint in
// AWS_ENDPOINT_URL, e.g. LocalStack), with a demo that shows it working.
//   npm start                 demo, then keep running until Ctrl-C
//   npm start -- --once       demo, then stop
//   npm start -- --changes 500 --verbose
import { parseArgs } from 'node:util';
import { formatTable } from '../lib/cli/render.ts';
import { ProgressView } from '../examples/demo/progress-view.ts';
import type { RunningService } from '../infra/local/local-service.ts';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    changes: { type: 'string', default: '60' },
    verbose: { type: 'boolean', default: false },
    stage: { type: 'string', default: 'local' },
    port: { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`Usage: npm start -- [--once] [--changes N] [--verbose] [--stage NAME] [--port N]

Runs serverless-datasync locally: starts the emulator (or uses AWS_ENDPOINT_URL), creates the
resources serverless.yml defines, runs the real handlers behind Lambda-like event sources and the
HTTP API, then plays a demo: resync, changes through every source, a resync over HTTP, bad input.
Without --once it keeps running until interrupted.`);
  process.exit(0);
}
const changes = Number(args.changes);
if (!Number.isInteger(changes) || changes < 0) {
  console.error(`--changes must be a whole number, got ${args.changes}`);
  process.exit(2);
}
// The handlers' own JSON logs and metrics lines would drown the demo; --verbose shows them.
process.env.POWERTOOLS_LOG_LEVEL ??= args.verbose ? 'INFO' : 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= args.verbose ? 'false' : 'true';

const tty = process.stdout.isTTY === true;
const dim = (text: string) => (tty ? `\x1b[2m${text}\x1b[0m` : text);
const bold = (text: string) => (tty ? `\x1b[1m${text}\x1b[0m` : text);
let step = 0;
const say = (line: string) => console.log(`\n${bold(`${++step}. ${line}`)}`);

const { startLocalService } = await import('../infra/local/local-service.ts');
let service: RunningService | undefined;
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await service?.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(130));
process.on('SIGTERM', () => void stop(143));

try {
  console.log(bold('serverless-datasync, running locally'));
  service = await startLocalService({
    stage: args.stage,
    httpPort: Number(args.port),
    log: (line) => console.log(dim(line)),
  });
  console.log(
    `emulator   ${service.emulator.endpoint}${service.emulator.started ? ' (started here; stopped on exit)' : ''}`,
  );
  console.log(`HTTP API   ${service.runner.httpUrl}`);
  const created = service.provisioned.created;
  const kinds = ['table', 'queue', 'bus']
    .map((kind) => [kind, created.filter((name) => name.startsWith(`${kind} `)).length] as const)
    .filter(([, count]) => count > 0);
  console.log(
    `resources  ${created.length > 0 ? `created ${kinds.map(([kind, count]) => `${count} ${kind}${count > 1 ? (kind === 'bus' ? 'es' : 's') : ''}`).join(', ')} from serverless.yml and infra/` : 'all there already (nothing created)'}`,
  );

  const app = await import('../functions/app.ts');
  // The plugin objects themselves (the registry hands out copies without their views).
  const plugins = app.plugins;
  console.log(`plugins    ${plugins.map((plugin) => `${plugin.name} [${plugin.prefixes.join(', ')}]`).join(' → ')}`);

  // Plugin lines while the demo runs: enough to watch changes arrive, not a flood.
  let shown = 0;
  let quiet = 0;
  let demoRunning = true;
  const limit = args.verbose ? Number.POSITIVE_INFINITY : 12;
  app.setPluginLog((line) => {
    if (shown < limit || !demoRunning) {
      shown += 1;
      console.log(dim(`   │ ${line}`));
    } else quiet += 1;
  });
  const bars = new ProgressView(tty);

  const { runScenario } = await import('../examples/demo/scenario.ts');
  const report = await runScenario(service, {
    changes,
    say: (line) => {
      if (quiet > 0) console.log(dim(`   │ … and ${quiet} more plugin lines`));
      shown = 0;
      quiet = 0;
      bars.reset();
      say(line);
    },
    plugins,
    watchProgress: (listener) => app.resyncProgress.subscribe(listener),
    onProgress: (progress) => bars.update(progress),
    timeoutMs: Math.max(60_000, changes * 100),
  });
  demoRunning = false;
  if (quiet > 0) console.log(dim(`   │ … and ${quiet} more plugin lines`));

  console.log(`\n${bold('Summary')}\n`);
  console.log(
    formatTable(
      ['source', 'published', 'reached every plugin'],
      report.sources.map((s) => [s.source, s.published, s.accounted]),
    ),
  );
  console.log();
  console.log(
    formatTable(
      ['plugin', 'ok', 'error', 'timeout', 'applied', 'skipped', 'held'],
      report.plugins.map((p) => [p.plugin, p.ok, p.error, p.timeout, p.applied, p.skipped, p.held]),
    ),
  );
  console.log();
  console.log(
    formatTable(
      ['resync', 'order', 'plugin', 'status', 'items', 'deleted'],
      report.resyncs.flatMap((run) =>
        run.plugins.map((p, index) => [run.reason, index + 1, p.plugin, p.status, p.items, p.deleted]),
      ),
    ),
  );
  console.log();
  console.log(
    formatTable(
      ['bad input', 'dead-lettered', 'reason'],
      report.rejected.map((r) => [r.input, r.deadLettered ? 'yes' : 'NO', r.reason]),
    ),
  );
  console.log();
  console.log(
    formatTable(
      ['plugin', 'keys in table', 'view equals table'],
      report.views.map((v) => [v.plugin, v.keys, v.matches ? 'yes' : `NO (${v.differing.slice(0, 3).join(', ')})`]),
    ),
  );
  console.log(
    `\nlag from publish to plugin feedback: p50 ${report.lagMs.p50} ms, p95 ${report.lagMs.p95} ms, max ${report.lagMs.max} ms`,
  );

  const good =
    report.missing.length === 0 && report.views.every((v) => v.matches) && report.rejected.every((r) => r.deadLettered);
  console.log(
    good
      ? bold('\nEverything published reached its plugins; every view equals the table.')
      : bold(
          `\nProblems: ${report.missing.length} change(s) without feedback${report.missing.length ? ` (${report.missing.slice(0, 5).join(', ')})` : ''}; views ${report.views.every((v) => v.matches) ? 'match' : 'differ'}.`,
        ),
  );

  if (args.once) await stop(good ? 0 : 1);
  else {
    const table = JSON.parse(service.environment.DATASYNC_TABLES ?? '[]')[0]?.name ?? '';
    console.log(`\nStill running. Try, in another terminal:
  curl -X PUT ${service.runner.httpUrl}/keys/config/interfaces/eth9 -H 'content-type: application/json' -d '{"mtu":9000}'
  AWS_ENDPOINT_URL=${service.emulator.endpoint} npm run datasync -- put config/routes/r9 '{"interface":"eth9"}' --table ${table}
  curl -X POST ${service.runner.httpUrl}/resync
Press Ctrl-C to stop.`);
  }
} catch (error) {
  console.error(`\nlocal run failed: ${(error as Error).message}`);
  if (args.verbose) console.error(error);
  await stop(1);
}
