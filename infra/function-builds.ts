// How `serverless package` builds each function: the entry file of every function in
// serverless.yml and the esbuild options of the config file serverless-esbuild reads
// (infra/esbuild.config.cjs). The bundle benchmark and the bundle-contents test both build from
// this, so they build what a deploy ships.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import esbuildConfig from './esbuild.config.cjs';
import { inlineIncludes } from './service-includes.ts';

interface ServiceFile {
  functions: Record<string, { handler: string }>;
  custom: { esbuild: { config?: string } };
}

/** What a deploy builds. */
export interface FunctionBuilds {
  /** esbuild options, with the service's externals; add entry points and an output. */
  readonly options: BuildOptions;
  /** The output file extension serverless-esbuild uses. */
  readonly extension: string;
  /** Each function's name and its entry file (absolute). */
  readonly functions: ReadonlyArray<{ readonly name: string; readonly entry: string }>;
}

/** The config file serverless.yml gives serverless-esbuild, relative to the service directory. */
const ESBUILD_CONFIG = './infra/esbuild.config.cjs';

/** Reads serverless.yml in `serviceDir`. */
export function functionBuilds(serviceDir: string): FunctionBuilds {
  // CloudFormation tags (!Ref, !GetAtt) are irrelevant here; the parser keeps them as plain values.
  const read = (path: string) => parse(readFileSync(path, 'utf8'), { logLevel: 'silent' }) as Record<string, unknown>;
  const service = inlineIncludes(read(join(serviceDir, 'serverless.yml')), serviceDir, read) as unknown as ServiceFile;
  // Anything else would mean serverless builds from options this file does not read.
  if (service.custom.esbuild.config !== ESBUILD_CONFIG)
    throw new Error(`serverless.yml must set custom.esbuild.config to ${ESBUILD_CONFIG}`);
  return {
    // serverless-esbuild marks `exclude`d packages external, and builds in the service directory.
    options: { ...esbuildConfig.esbuild, external: [...esbuildConfig.plugin.exclude], absWorkingDir: serviceDir },
    extension: esbuildConfig.plugin.outputFileExtension,
    // A `path/file.export` handler's entry is the .ts source next to it.
    functions: Object.entries(service.functions).map(([name, { handler }]) => ({
      name,
      entry: join(serviceDir, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`),
    })),
  };
}
