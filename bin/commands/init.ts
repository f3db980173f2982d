import { relative } from 'node:path';
import { EXIT, stringOption, UsageError, type CliCommand } from '../../lib/cli/command.ts';
import { createService, ScaffoldError } from '../../infra/scaffold/create-service.ts';

/** `datasync init <dir>`: a new service, with its own plugins, that depends on this package. */
const init: CliCommand = {
  name: 'init',
  summary: 'Create a new datasync service (functions, plugins, serverless.yml) in a folder.',
  usage: 'init <dir> [--name <service>] [options]',
  options: [{ title: 'Options', options: ['name'] }],
  notes: `Writes package.json, serverless.yml, functions/ (one entry point per source plus resync, and
app.ts where plugins are registered), plugins/greetings.ts (an example), a test, a README,
tsconfig.json and .gitignore. serverless.yml includes its parameters, provider settings,
functions and resources from this package. The folder must not exist or be empty.
Then: cd <dir> && npm install && npm test && npm start. See docs/scaffold.md.
With --json: {"ok":true,"dir":…,"name":…,"files":[…]}.`,
  async run(context) {
    const [dir, extra] = context.positionals;
    if (dir === undefined) throw new UsageError('give the folder to create the service in');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const name = stringOption(context, 'name');
    let created: ReturnType<typeof createService>;
    try {
      created = createService({ dir, ...(name === undefined ? {} : { name }) });
    } catch (error) {
      if (error instanceof ScaffoldError) throw new UsageError(error.message);
      throw error;
    }
    if (context.json) {
      context.out(JSON.stringify({ ok: true, ...created }));
      return EXIT.ok;
    }
    context.out(`Created the service ${created.name} in ${created.dir}:`);
    for (const file of created.files) context.out(`  ${file}`);
    const where = relative(process.cwd(), created.dir) || '.';
    context.out(`\nNext:\n  cd ${where}\n  npm install\n  npm test\n  npm start -- --once`);
    return EXIT.ok;
  },
};

export default init;
