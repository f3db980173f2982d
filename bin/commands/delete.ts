import type { CliCommand } from '../../lib/cli/command.ts';
import { PUBLISH_HELP, PUBLISH_OPTIONS, publishFromCli } from '../../lib/cli/publish-command.ts';

/** `datasync delete <key>`: publish the deletion of a key. */
const remove: CliCommand = {
  name: 'delete',
  summary: 'Publish the deletion of a key to a table, queue or bus.',
  usage: 'delete <key> [options]',
  help: `Example: datasync delete config/interfaces/eth1 --queue-url "$QUEUE"\n\n${PUBLISH_HELP}`,
  options: PUBLISH_OPTIONS,
  run: (context) => publishFromCli(context, 'delete'),
};

export default remove;
