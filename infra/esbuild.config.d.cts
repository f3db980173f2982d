// Types of esbuild.config.cjs for the TypeScript that imports it (the bench and the tests).
import type { BuildOptions } from 'esbuild';

declare const config: {
  (): BuildOptions & typeof config.plugin;
  /** esbuild's own options. */
  readonly esbuild: BuildOptions;
  /** Options only serverless-esbuild reads. */
  readonly plugin: { readonly outputFileExtension: string; readonly exclude: string[]; readonly packager: string };
};
export = config;
