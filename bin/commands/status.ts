import { EXIT, listOption, UsageError, type CliCommand } from '../../lib/cli/command.ts';
import { statusTable } from '../../lib/cli/state-output.ts';
import { stateStoreOption } from '../../lib/cli/state-options.ts';
import { listPluginStates, readPluginStates } from '../../lib/state/read.ts';

/** `datasync status`: every plugin's sync state as a table (or JSON). */
const status: CliCommand = {
  name: 'status',
  summary: "Show each plugin's sync state: status, last resync, items, last error, failures.",
  usage: 'status [--plugin <name> ...] [options]',
  options: [
    {
      title: 'Options',
      options: [
        { name: 'plugin', description: 'only these plugins (repeat, or a,b; default every plugin in the table)' },
        'state-table',
      ],
    },
  ],
  notes: `Without --plugin the whole state table is scanned (a plugin is listed once its first resync has
begun); with it, only those plugins' status rows are read, and one never synced shows as such.
STATUS is never-synced, resyncing (ITEMS then counts the running resync against DynamoDB's
estimate), in-sync or out-of-sync. With --json: {"ok":true,"stateTable":…,"plugins":[…]}.`,
  async run(context) {
    if (context.positionals.length > 0) throw new UsageError(`unexpected argument "${context.positionals[0]}"`);
    const store = stateStoreOption(context);
    const plugins = listOption(context, 'plugin');
    const states = plugins ? await readPluginStates(plugins, { store }) : await listPluginStates({ store });
    if (context.json) {
      context.out(JSON.stringify({ ok: true, stateTable: store.tableName, plugins: states }));
    } else if (states.length === 0) {
      context.out(
        `no plugin has a sync state in ${store.tableName} yet (a plugin is listed once its first resync begins)`,
      );
    } else {
      for (const line of statusTable(states)) context.out(line);
    }
    return EXIT.ok;
  },
};

export default status;
