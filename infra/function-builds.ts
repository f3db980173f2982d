// How `serverless package` builds each function: the entry file of every function in
// serverless.yml and the esbuild options serverless-esbuild takes from `custom.esbuild`. The bundle
// benchmark and the bundle-contents test both build from this, so they build what a deploy ships.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import { inlineIncludes } from './service-includes.ts';

/** serverless-esbuild options that are not esbuild options (test/unit/deploy/function-builds.test.ts checks the list against serverless-esbuild). */
export const PLUGIN_ONLY: ReadonlySet<string> = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
  'plugins',
]);

interface ServiceFile {
  functions: Record<string, { handler: string }>;
  custom: { esbuild: Record<string, unknown> };
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

/** Reads serverless.yml in `serviceDir`. */
export function functionBuilds(serviceDir: string): FunctionBuilds {
  // CloudFormation tags (!Ref, !GetAtt) are irrelevant here; the parser keeps them as plain values.
  const read = (path: string) => parse(readFileSync(path, 'utf8'), { logLevel: 'silent' }) as Record<string, unknown>;
  const service = inlineIncludes(read(join(serviceDir, 'serverless.yml')), serviceDir, read) as unknown as ServiceFile;
  const pluginOptions = service.custom.esbuild;
  const external = [
    ...((pluginOptions.external as string[] | undefined) ?? []),
    ...((pluginOptions.exclude as string[] | undefined) ?? []),
  ];
  return {
    // Relative paths in the options (the credential alias) resolve against the service directory,
    // as they do when serverless runs there.
    options: {
      ...Object.fromEntries(Object.entries(pluginOptions).filter(([name]) => !PLUGIN_ONLY.has(name))),
      external,
      absWorkingDir: serviceDir,
    },
    extension: String(pluginOptions.outputFileExtension ?? '.js'),
    // A `path/file.export` handler's entry is the .ts source next to it.
    functions: Object.entries(service.functions).map(([name, { handler }]) => ({
      name,
      entry: join(serviceDir, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`),
    })),
  };
}
