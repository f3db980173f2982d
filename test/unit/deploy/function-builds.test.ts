// The bundle benchmark and the bundle-contents test build functions from infra/esbuild.config.cjs
// (infra/function-builds.ts). This checks that serverless-esbuild, as installed, reads the same
// file through serverless.yml and ends up with the same esbuild options, so what they build is
// what `serverless package` ships.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import esbuildConfig from '../../../infra/esbuild.config.cjs';
import { functionBuilds } from '../../../infra/function-builds.ts';
import { inlineIncludes } from '../../../infra/service-includes.ts';

const root = join(__dirname, '..', '..', '..');

/** The build options serverless-esbuild settles on for this service, from its own option resolution. */
function serverlessEsbuildOptions(): Record<string, unknown> {
  const read = (path: string) => parse(readFileSync(path, 'utf8'), { logLevel: 'silent' });
  // serverless.yml takes its blocks from infra/service/, as the framework resolves them.
  const service = inlineIncludes(read(join(root, 'serverless.yml')), root, read) as Record<string, any>;
  const EsbuildServerlessPlugin = require('serverless-esbuild');
  const serverless = {
    config: { serviceDir: root },
    service: { ...service, provider: { ...service.provider, name: 'aws', runtime: 'nodejs24.x' } },
    configSchemaHandler: { defineFunctionProperties: () => {} },
    cli: { log: () => {} },
  };
  const plugin = new EsbuildServerlessPlugin(serverless, {}, { log: { verbose: () => {} } });
  return plugin.getBuildOptions();
}

describe('function builds', () => {
  it('serverless-esbuild takes every esbuild option from the same config file', () => {
    const resolved = serverlessEsbuildOptions();
    expect(resolved).toMatchObject(esbuildConfig.esbuild as Record<string, unknown>);
    expect(resolved).toMatchObject(esbuildConfig.plugin);
  });

  it('build each function from its handler source with those options', () => {
    const { options, extension, functions } = functionBuilds(root);
    expect(options).toMatchObject({ ...esbuildConfig.esbuild, absWorkingDir: root });
    expect(extension).toBe('.mjs');
    expect(functions.map((fn) => fn.name).sort()).toEqual(['dynamodbStream', 'eventbridge', 'http', 'resync', 'sqs']);
    for (const { entry } of functions) expect(existsSync(entry)).toBe(true);
  });
});
