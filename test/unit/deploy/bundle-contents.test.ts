// What each deployed function's bundle carries: its own source and what every function needs,
// not the other sources, the resync engine, SDK clients it never calls or credential sources that
// never answer on Lambda. Built with esbuild and the options of infra/esbuild.config.cjs, the file
// serverless-esbuild reads, as `serverless package` builds it (infra/function-builds.ts).
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { functionBuilds } from '../../../infra/function-builds.ts';

const root = join(__dirname, '..', '..', '..');
const { options, functions } = functionBuilds(root);

async function inputsOf(entry: string): Promise<string[]> {
  const result = await build({
    ...options,
    entryPoints: [entry],
    write: false,
    metafile: true,
    outdir: join(root, '.bench-out', 'contents'),
    logLevel: 'error',
  });
  const output = Object.values((result.metafile as Metafile).outputs).find(
    (candidate) => candidate.entryPoint !== undefined,
  )!;
  // Only modules that left code in the bundle: tree-shaken ones are listed with 0 bytes.
  return Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
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
    for (const { name, entry } of functions) bundles.set(name, await inputsOf(entry));
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

  it.each(['dynamodbStream', 'sqs', 'eventbridge', 'http'])(
    '%s carries neither the resync engine, its state rows nor unused SDK clients',
    (name) => {
      const inputs = bundles.get(name)!;
      expect(
        inputs.filter((path) =>
          ['lib/resync/engine.ts', 'lib/resync/snapshot.ts', 'lib/resync/state-rows.ts'].includes(path),
        ),
      ).toEqual([]);
      expect(inputs.filter((path) => /client-(eventbridge|dynamodb-streams)\//.test(path))).toEqual([]);
    },
  );

  it.each(['dynamodbStream', 'sqs', 'eventbridge', 'http', 'resync'])(
    '%s carries the Lambda credential chain, not the SDK default chain',
    (name) => {
      const inputs = bundles.get(name)!;
      expect(inputs).toContain('lib/aws/clients/lambda-credentials.ts');
      // Profiles, SSO, web identity and the STS/SSO clients they call never answer on Lambda.
      expect(
        inputs.filter((path) =>
          /@aws-sdk\/(credential-provider-(node|ini|sso|process|web-identity|login)|nested-clients|token-providers)\//.test(
            path,
          ),
        ),
      ).toEqual([]);
    },
  );

  it.each(['dynamodbStream', 'sqs', 'eventbridge', 'http', 'resync'])(
    '%s carries neither the SDK event stream codec nor mnemonist, but their stand-ins',
    (name) => {
      const inputs = bundles.get(name)!;
      expect(
        inputs.filter((path) => /@smithy\/core\/dist-es\/submodules\/event-streams\/|\/mnemonist\//.test(path)),
      ).toEqual([]);
      expect(inputs).toEqual(
        expect.arrayContaining(['lib/aws/clients/no-event-streams.ts', 'lib/aws/clients/lru-cache.ts']),
      );
    },
  );

  it('the resync function carries the engine and no source handler', () => {
    const inputs = bundles.get('resync')!;
    expect(inputs).toContain('lib/resync/engine.ts');
    expect(inputs.filter((path) => /^lib\/sources\/[^/]+\/handler\.ts$/.test(path))).toEqual([]);
  });
});
