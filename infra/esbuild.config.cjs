// How every function is bundled: serverless-esbuild reads this file (`custom.esbuild.config` in
// serverless.yml), and so do the bundle benchmark and the bundle tests (infra/function-builds.ts),
// so all three build what a deploy ships. CommonJS because serverless-esbuild loads it with
// require(). The options esbuild takes and the ones only serverless-esbuild reads are kept apart,
// so that what goes to esbuild directly needs no list of the plugin's option names.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// The modules the aliases below put in place: the sources in this repository, the compiled
// modules in the installed package (which ships no .ts files).
const sources = existsSync(join(__dirname, '..', 'lib', 'aws', 'clients', 'lambda-credentials.ts'));
const clients = (file) =>
  sources
    ? join(__dirname, '..', 'lib', 'aws', 'clients', file)
    : join(__dirname, '..', 'dist', 'lib', 'aws', 'clients', file.replace(/\.ts$/, '.js'));

/** esbuild's own options. */
const esbuild = {
  bundle: true,
  minify: true,
  treeShaking: true,
  sourcemap: true,
  sourcesContent: false,
  // Error names in feedback records come from class names (lib/errors.ts); minifying must keep them.
  keepNames: true,
  target: 'node24',
  platform: 'node',
  // ESM output: the sources and middy are ESM-only. Packages still shipped as CommonJS call
  // require() on Node built-ins, which an ES module does not have; the banner gives it one.
  format: 'esm',
  // The ES module builds of the AWS SDK tree-shake far better (sqs function: 289 KiB against 531 KiB).
  mainFields: ['module', 'main'],
  alias: {
    // On Lambda, credentials come from the environment (or a container endpoint): the SDK's default
    // chain is swapped for that part of it, which leaves profiles, SSO and the STS clients out of
    // every bundle (lib/aws/clients/lambda-credentials.ts).
    '@aws-sdk/credential-provider-node': clients('lambda-credentials.ts'),
    // No operation of the services the functions call has an event stream; the SDK loads the codec
    // only for one (lib/aws/clients/no-event-streams.ts).
    '@smithy/core/event-streams': clients('no-event-streams.ts'),
    // The DynamoDB endpoint cache's LRU map, without mnemonist's general-purpose machinery.
    'mnemonist/lru-cache': clients('lru-cache.ts'),
  },
  banner: {
    js: "import { createRequire as __datasyncCreateRequire } from 'node:module'; const require = __datasyncCreateRequire(import.meta.url);",
  },
  metafile: false,
};

/** Options only serverless-esbuild reads (packaging, not bundling). */
const plugin = {
  outputFileExtension: '.mjs',
  // Bundle everything, the AWS SDK v3 included: the versions are the ones tested, and one file
  // loads faster than node_modules on a cold start.
  exclude: [],
  packager: 'npm',
};

/** What serverless-esbuild calls: every option, its own and esbuild's. */
module.exports = () => ({ ...esbuild, ...plugin });
module.exports.esbuild = esbuild;
module.exports.plugin = plugin;
