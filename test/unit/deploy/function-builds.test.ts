// The bundle benchmark and the bundle-contents test build functions the way serverless-esbuild
// does: with custom.esbuild minus the options that are serverless-esbuild's own. That list lives
// inside serverless-esbuild, so this reads it from the installed version: an upgrade that adds an
// option fails here instead of passing an unknown option to esbuild (or dropping a real one).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { functionBuilds, PLUGIN_ONLY } from '../../../infra/function-builds.ts';

const root = join(__dirname, '..', '..', '..');

function strippedByServerlessEsbuild(): string[] {
  const source = readFileSync(join(root, 'node_modules', 'serverless-esbuild', 'dist', 'bundle.js'), 'utf8');
  const list = /const esbuildOptions = \[([^\]]*)\]\.reduce/.exec(source);
  if (!list) throw new Error('serverless-esbuild no longer strips its options the way this test reads them');
  return [...list[1]!.matchAll(/'([^']+)'/g)].map((match) => match[1]!);
}

describe('function builds', () => {
  it('strip every option serverless-esbuild keeps from esbuild', () => {
    const stripped = strippedByServerlessEsbuild();
    expect(stripped.length).toBeGreaterThan(10);
    expect(stripped.filter((option) => !PLUGIN_ONLY.has(option))).toEqual([]);
  });

  it('pass esbuild every other option from serverless.yml, relative paths resolved in the service directory', () => {
    const { options } = functionBuilds(root);
    expect(options).toMatchObject({
      bundle: true,
      minify: true,
      format: 'esm',
      absWorkingDir: root,
      alias: { '@aws-sdk/credential-provider-node': './lib/aws/clients/lambda-credentials.ts' },
    });
    expect(Object.keys(options).filter((option) => PLUGIN_ONLY.has(option))).toEqual([]);
  });
});
