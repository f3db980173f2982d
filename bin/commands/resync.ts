import {
  EXIT,
  listOption,
  onlyWith,
  queueUrlOption,
  secondsOption,
  UsageError,
  type CliCommand,
} from '../../lib/cli/command.ts';
import { errorJson } from '../../lib/cli/output.ts';
import { progressDrawer, resyncSummary } from '../../lib/cli/state-output.ts';
import { stateStoreOption } from '../../lib/cli/state-options.ts';
import { ENV } from '../../lib/config.ts';
import { ResyncTimeoutError } from '../../lib/resync/watch.ts';
import { requestResync } from '../../lib/resync/request.ts';
import { watchResync, type ResyncView } from '../../lib/resync/watch.ts';

const DEFAULT_TIMEOUT_SECONDS = 300;

/** `datasync resync`: request a resync and optionally follow it to the end. */
const resync: CliCommand = {
  name: 'resync',
  summary: 'Request a resync of every plugin (or some) and optionally follow its progress.',
  usage: 'resync [--plugin <name> ...] [--wait] [options]',
  options: [
    {
      title: 'Options',
      options: [
        { name: 'plugin', description: 'resync only these plugins (repeat, or a,b; default every plugin)' },
        'resync-queue-url',
        {
          name: 'wait',
          description: 'follow the resync until every plugin finished or failed: a progress bar per plugin',
        },
      ],
    },
    {
      title: 'With --wait',
      options: [
        {
          name: 'timeout',
          description: `how long to follow it (default ${DEFAULT_TIMEOUT_SECONDS}); a timeout exits 1`,
        },
        { name: 'interval', description: 'pause between reads of the state table (default 1)' },
        'state-table',
      ],
    },
  ],
  notes: `Prints the resync id. With --wait, progress is read from the sync-state table (the feedback
queue is left to its readers) and redrawn in place on a terminal; exit 0 when every plugin's
resync ended ok, 1 when any failed or the wait timed out. With --json a single object:
{"ok","resyncId","request"} and, with --wait, "plugins" (phase, items, deleted, estimatedItems,
error) and "error" on a timeout.`,
  async run(context) {
    if (context.positionals.length > 0) throw new UsageError(`unexpected argument "${context.positionals[0]}"`);
    const queueUrl = queueUrlOption(context, 'resync-queue-url', ENV.resyncQueueUrl);
    const wait = context.values.wait === true;
    onlyWith(context, 'wait', ['timeout', 'interval', 'state-table']);
    const plugins = listOption(context, 'plugin');
    // Everything --wait needs is checked before the request is sent, so bad usage sends nothing.
    const store = wait ? stateStoreOption(context) : undefined;
    const timeoutMs = secondsOption(context, 'timeout', DEFAULT_TIMEOUT_SECONDS);
    const intervalMs = secondsOption(context, 'interval', 1);

    const request = await requestResync({
      queueUrl,
      clients: context.clients(),
      reason: 'manual',
      ...(plugins ? { plugins } : {}),
    });
    if (!context.json)
      context.out(`resync ${request.resyncId} requested for ${plugins ? plugins.join(', ') : 'every plugin'}`);
    if (!store) {
      if (context.json) context.out(JSON.stringify({ ok: true, resyncId: request.resyncId, request }));
      return EXIT.ok;
    }

    const draw = progressDrawer(context.out, context.tty);
    let view: ResyncView;
    try {
      view = await watchResync({
        store,
        resyncId: request.resyncId,
        timeoutMs,
        intervalMs,
        signal: context.signal,
        ...(plugins ? { plugins } : {}),
        ...(context.json ? {} : { onUpdate: draw }),
      });
    } catch (error) {
      if (!(error instanceof ResyncTimeoutError)) throw error;
      if (context.json) {
        context.out(
          JSON.stringify({
            ok: false,
            resyncId: request.resyncId,
            request,
            plugins: error.view.plugins,
            error: errorJson(error),
          }),
        );
      } else {
        context.err(`datasync resync: ${error.message} [${error.code}]`);
      }
      return EXIT.failure;
    }
    const ok = view.plugins.every((plugin) => plugin.phase === 'ok');
    if (context.json) context.out(JSON.stringify({ ok, resyncId: request.resyncId, request, plugins: view.plugins }));
    else context.out(resyncSummary(view));
    return ok ? EXIT.ok : EXIT.failure;
  },
};

export default resync;
