// What each deployed function's bundle carries: its own source and what every function needs,
// not the other sources, the resync engine or SDK clients it never calls. Built with esbuild and
// the serverless-esbuild options from serverless.yml, as `serverless package` builds it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..', '..');

interface ServiceFile {
  functions: Record<string, { handler: string }>;
  custom: { esbuild: Record<string, unknown> };
}

const service = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as ServiceFile;
const ESBUILD_OPTIONS = ['bundle', 'minify', 'treeShaking', 'keepNames', 'target', 'platform', 'format', 'mainFields'];
const options = Object.fromEntries(Object.entries(service.custom.esbuild).filter(([name]) => ESBUILD_OPTIONS.includes(name))) as BuildOptions;

async function inputsOf(functionName: string): Promise<string[]> {
  const handler = service.functions[functionName]!.handler;
  const entry = join(root, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`);
  const result = await build({ ...options, entryPoints: [entry], write: false, metafile: true, outdir: join(root, '.bench-out', 'contents'), logLevel: 'error' });
  const output = Object.values((result.metafile as Metafile).outputs).find((candidate) => candidate.entryPoint !== undefined)!;
  // Only modules that left code in the bundle: tree-shaken ones are listed with 0 bytes.
  return Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path);
}

const SOURCES = {
  dynamodbStream: 'lib/sources/dynamodb/',
  sqs: 'lib/sources/sqs/',
  eventbridge: 'lib/sources/eventbridge/',
  http: 'lib/sources/http/',
} as const;

describe('function bundles', () => {
  const bundles = new Map<string, string[]>();

  beforeAll(async () => {
    for (const name of Object.keys(service.functions)) bundles.set(name, await inputsOf(name));
  }, 120_000);

  it('builds every function in serverless.yml', () => {
    expect([...bundles.keys()].sort()).toEqual(['dynamodbStream', 'eventbridge', 'http', 'resync', 'sqs']);
  });

  it.each(Object.keys(SOURCES) as Array<keyof typeof SOURCES>)('%s carries its own source and no other', (name) => {
    const inputs = bundles.get(name)!;
    for (const [source, folder] of Object.entries(SOURCES)) {
      const carries = inputs.some((path) => path.startsWith(folder));
      expect({ source, carries }).toEqual({ source, carries: source === name });
    }
  });

  it.each(['dynamodbStream', 'sqs', 'eventbridge', 'http'])('%s carries neither the resync engine nor unused SDK clients', (name) => {
    const inputs = bundles.get(name)!;
    expect(inputs.filter((path) => path === 'lib/resync/engine.ts' || path === 'lib/resync/snapshot.ts')).toEqual([]);
    expect(inputs.filter((path) => /client-(eventbridge|dynamodb-streams)\//.test(path))).toEqual([]);
  });

  it('the resync function carries the engine and no source handler', () => {
    const inputs = bundles.get('resync')!;
    expect(inputs).toContain('lib/resync/engine.ts');
    expect(inputs.filter((path) => /^lib\/sources\/[^/]+\/handler\.ts$/.test(path))).toEqual([]);
  });
});
