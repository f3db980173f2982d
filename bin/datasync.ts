#!/usr/bin/env node
// The `datasync` command line: publish changes and follow the feedback the plugins write.
// Every file in ./commands is one command (its default export), so adding one is adding a file.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CliCommand } from '../lib/cli/command.ts';
import { runCli } from '../lib/cli/main.ts';

const directory = new URL('./commands/', import.meta.url);
// The sources here, or the compiled modules (next to their .d.ts and .map files) in the package.
const files = readdirSync(directory)
  .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
  .sort();
const commands: CliCommand[] = [];
for (const file of files) {
  const module = (await import(new URL(file, directory).href)) as { default?: CliCommand };
  if (!module.default?.name || typeof module.default.run !== 'function') {
    throw new Error(`bin/commands/${file} has no default export that is a command`);
  }
  commands.push(module.default);
}

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort());
}
// The package's own name resolves to its package.json, from the sources and from an install alike.
const { version } = createRequire(import.meta.url)('serverless-datasync/package.json') as { version: string };
const code = await runCli(
  process.argv.slice(2),
  { commands, version },
  {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    signal: controller.signal,
    tty: process.stdout.isTTY === true,
  },
);
process.exitCode = code;
