import type { CliCommand } from '../../lib/cli/command.ts';
import { PUBLISH_OPTIONS, publishFromCli } from '../../lib/cli/publish-command.ts';

/** `datasync delete <key>`: publish the deletion of a key. */
const remove: CliCommand = {
  name: 'delete',
  summary: 'Publish the deletion of a key to a table, queue or bus.',
  usage: 'delete <key> [options]',
  options: PUBLISH_OPTIONS,
  notes: 'Example: datasync delete config/interfaces/eth1 --changes-queue-url "$QUEUE"',
  run: (context) => publishFromCli(context, 'delete'),
};

export default remove;
