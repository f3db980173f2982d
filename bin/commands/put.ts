import type { CliCommand } from '../../lib/cli/command.ts';
import { PUBLISH_OPTIONS, publishFromCli } from '../../lib/cli/publish-command.ts';

/** `datasync put <key> <json>`: publish a new value for a key. */
const put: CliCommand = {
  name: 'put',
  summary: 'Publish a value for a key to a table, queue or bus.',
  usage: 'put <key> <json> [options]',
  options: PUBLISH_OPTIONS,
  notes: `Example: datasync put config/interfaces/eth0 '{"mtu":9000}' --table config --wait --timeout 10`,
  run: (context) => publishFromCli(context, 'put'),
};

export default put;
