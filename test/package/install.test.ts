// The package as a user meets it: `npm pack`, installed into a fresh project from the npm cache
// (no registry), then imported, type-checked, bundled and run; `datasync init` makes a service from
// the install, which installs, tests, packages and runs locally in turn. publint and
// @arethetypeswrong/cli check the tarball itself.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../lib/aws/clients.ts';
import { packagedService, type Template } from '../support/deploy/packaged-service.ts';
import { installOffline, tarballManifest } from './support/offline-install.ts';

const root = resolve(__dirname, '../..');
const bin = (project: string, name: string) => join(project, 'node_modules', '.bin', name);

/** The environment a user's shell would have: this test's, less what npm set for `npm test`. */
function userEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // Not npm's variables, nor the test run's log of AWS calls (its IAM evaluation knows only this repository's names).
    if (!/^npm_/i.test(name) && name !== 'INIT_CWD' && name !== 'DATASYNC_AWS_CALL_LOG') env[name] = value;
  }
  // The Node running the tests (Node 24, the Lambda runtime's major) first on the PATH.
  return { ...env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...extra };
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? userEnvironment(),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Runs a command and returns its stdout; fails the test with everything it printed otherwise. */
function succeed(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

const timings: Array<[string, number]> = [];
function timed<T>(step: string, work: () => T): T {
  const started = Date.now();
  try {
    return work();
  } finally {
    timings.push([step, Date.now() - started]);
  }
}

let scratch: string;
let tarball: string;
let consumer: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'serverless-datasync-package-'));
  const packed = join(scratch, 'packed');
  mkdirSync(packed);
  // `npm pack` runs `prepack`, which builds dist/ from the sources of this checkout.
  const output = timed('npm pack (with the build)', () =>
    succeed('npm', ['pack', '--json', '--pack-destination', packed], { cwd: root }),
  );
  const [packedFile] = JSON.parse(output.slice(output.indexOf('['))) as Array<{ filename: string }>;
  tarball = join(packed, packedFile!.filename);

  consumer = join(scratch, 'consumer');
  mkdirSync(consumer);
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: {
        'serverless-datasync': 'the packed tarball',
        typescript: own.devDependencies.typescript,
        '@types/node': own.devDependencies['@types/node'],
        esbuild: own.devDependencies.esbuild,
      },
    }),
  );
  timed('install into a fresh project', () =>
    installOffline(consumer, { repoRoot: root, tarballs: { 'serverless-datasync': tarball } }),
  );
}, 180_000);

afterAll(() => {
  console.log(
    `package check steps (wall time on this machine)\n${timings.map(([step, ms]) => `  ${step.padEnd(44)} ${(ms / 1000).toFixed(1)} s`).join('\n')}`,
  );
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the build, the service definition, the scaffold, README and LICENSE, and nothing else', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((path) => path.replace(/^package\//, ''));
    const allowed = [
      /^dist\/(lib|bin|infra)\/.+\.(js|d\.ts|js\.map)$/,
      /^dist\/service\/[a-z]+\.yml$/,
      // The embedded emulator's launcher (infra/local/moto-server.py).
      /^dist\/infra\/local\/moto-server\.py$/,
      /^infra\/[a-z]+\.yml$/,
      /^infra\/esbuild\.config\.cjs$/,
      /^infra\/serverless-plugins\/[a-z-]+\.cjs$/,
      /^scaffold\//,
      /^(README\.md|LICENSE|package\.json)$/,
    ];
    expect(files.filter((file) => !allowed.some((pattern) => pattern.test(file)))).toEqual([]);
    // No tests, benchmarks, docs, CI files or TypeScript sources outside the scaffold's templates.
    expect(files.filter((file) => /^(test|bench|docs|examples|functions|lib|bin|\.ci)\//.test(file))).toEqual([]);
    expect(files.filter((file) => /(?<!\.d)\.ts$/.test(file) && !file.startsWith('scaffold/'))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'dist/bin/datasync.js',
        'dist/lib/index.d.ts',
        'infra/esbuild.config.cjs',
        'dist/infra/local/moto-server.py',
      ]),
    );
    console.log(`tarball: ${files.length} files, ${(statSync(tarball).size / 1024).toFixed(1)} KiB packed`);
  });

  it('is clean for publint and @arethetypeswrong/cli (ES modules only)', () => {
    const publint = timed('publint', () => run(bin(root, 'publint'), ['run', tarball, '--strict'], { cwd: scratch }));
    expect(`${publint.stdout}${publint.stderr}`).toContain('All good!');
    expect(publint.status).toBe(0);
    // The package is ES modules only (so is middy), which the esm-only profile takes as given: it
    // fails on any problem under node16 from ESM or bundlers, and leaves out CommonJS `require`
    // and node10 resolution, whose findings it lists but does not count.
    const attw = timed('@arethetypeswrong/cli', () =>
      run(bin(root, 'attw'), [tarball, '--profile', 'esm-only', '--no-definitely-typed', '--format', 'json'], {
        cwd: scratch,
      }),
    );
    const { problems } = JSON.parse(attw.stdout) as { problems: Record<string, Array<{ resolutionKind?: string }>> };
    const counted = Object.values(problems)
      .flat()
      .filter((problem) => problem.resolutionKind !== 'node10' && problem.resolutionKind !== 'node16-cjs');
    expect(counted).toEqual([]);
    expect(attw.status).toBe(0);
  });
});

describe('installed into a fresh project', () => {
  it('imports from ESM on Node 24', () => {
    writeFileSync(
      join(consumer, 'import.mjs'),
      "import * as datasync from 'serverless-datasync';\nconsole.log(JSON.stringify([process.version, Object.keys(datasync).length, typeof datasync.createPublisher]));\n",
    );
    const [version, exported, publisher] = JSON.parse(succeed('node', ['import.mjs'], { cwd: consumer })) as [
      string,
      number,
      string,
    ];
    expect(version).toMatch(/^v24\./);
    expect(exported).toBeGreaterThan(50);
    expect(publisher).toBe('function');
  });

  it('runs datasync --help and --version from the install', () => {
    const help = succeed(bin(consumer, 'datasync'), ['--help'], { cwd: consumer });
    for (const command of ['init', 'local', 'put', 'delete', 'feedback', 'resync', 'status']) {
      expect(help).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(succeed(bin(consumer, 'datasync'), ['--version'], { cwd: consumer }).trim()).toBe(
      `datasync ${tarballManifest(tarball).version}`,
    );
  });

  it("type-checks a consumer and the README's example under nodenext and bundler, skipLibCheck off", () => {
    writeFileSync(join(consumer, 'readme-example.ts'), readmeExample());
    writeFileSync(join(consumer, 'handler.ts'), CONSUMER_HANDLER);
    for (const [moduleResolution, module] of [
      ['nodenext', 'nodenext'],
      ['bundler', 'preserve'],
    ] as const) {
      const config = `tsconfig.${moduleResolution}.json`;
      writeFileSync(
        join(consumer, config),
        JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            module,
            moduleResolution,
            // A strict consumer: what it turns on must hold for the package's declarations too.
            strict: true,
            exactOptionalPropertyTypes: true,
            noPropertyAccessFromIndexSignature: true,
            noUncheckedIndexedAccess: true,
            verbatimModuleSyntax: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          files: ['handler.ts', 'readme-example.ts'],
        }),
      );
      timed(`tsc (${moduleResolution})`, () => succeed(bin(consumer, 'tsc'), ['-p', config], { cwd: consumer }));
    }
  }, 60_000);

  it('bundles a consumer handler with esbuild, and the bundle handles an SQS batch', async () => {
    writeFileSync(join(consumer, 'handler.ts'), CONSUMER_HANDLER);
    timed('esbuild bundle', () =>
      succeed(
        bin(consumer, 'esbuild'),
        [
          'handler.ts',
          '--bundle',
          '--platform=node',
          '--format=esm',
          '--target=node22',
          '--outfile=bundle/handler.mjs',
          // The Lambda-only credential chain the package exports, as the deployed functions use it.
          '--alias:@aws-sdk/credential-provider-node=serverless-datasync/lambda-credentials',
          "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        ],
        { cwd: consumer },
      ),
    );
    const feedbackQueue = await queue(`package-check-feedback-${process.pid}`);
    writeFileSync(join(consumer, 'invoke.mjs'), INVOKE_BUNDLE);
    const output = succeed('node', ['invoke.mjs'], {
      cwd: consumer,
      env: userEnvironment({
        ...awsEnvironment(),
        DATASYNC_FEEDBACK_QUEUE_URL: feedbackQueue,
        DATASYNC_DEAD_LETTER_QUEUE_URL: await queue(`package-check-rejected-${process.pid}`),
      }),
    });
    // The handler writes its own JSON log lines too; the script's result is the last line.
    const result = JSON.parse(output.trim().split('\n').pop()!) as { response: unknown; received: string[] };
    expect(result).toEqual({ response: { batchItemFailures: [] }, received: ['config/things/one'] });
  });

  it("runs the README's example as it is, against the emulator", async () => {
    await configTable();
    const env = userEnvironment({
      ...awsEnvironment(),
      DATASYNC_FEEDBACK_QUEUE_URL: await queue(`package-check-readme-${process.pid}`),
      DATASYNC_DEAD_LETTER_QUEUE_URL: await queue(`package-check-rejected-${process.pid}`),
      DATASYNC_STATE_TABLE: `package-check-state-${process.pid}`,
    });
    writeFileSync(join(consumer, 'readme-example.ts'), readmeExample());
    const output = timed("README's example", () => succeed('node', ['readme-example.ts'], { cwd: consumer, env }));
    expect(output).toMatch(/^published config\/interfaces\/eth0 at version \d+$/m);
  });
});

describe('a service made with datasync init from the install', () => {
  let service: string;

  beforeAll(() => {
    service = join(scratch, 'orders-sync');
    succeed(bin(consumer, 'datasync'), ['init', service], { cwd: consumer });
    timed('install the new service', () =>
      installOffline(service, { repoRoot: root, tarballs: { 'serverless-datasync': tarball } }),
    );
  }, 180_000);

  it('passes its own npm test (type-check with skipLibCheck off, node --test)', () => {
    const output = timed('the service: npm test', () => succeed('npm', ['test'], { cwd: service }));
    expect(output).toMatch(/^ℹ pass 1$/m);
    expect(output).toMatch(/^ℹ fail 0$/m);
  }, 60_000);

  it('packages offline into the same stack as this repository, apart from names', async () => {
    const packaged = join(scratch, 'orders-sync-package');
    timed('the service: serverless package', () =>
      succeed(
        bin(service, 'serverless'),
        ['package', '--stage', 'ci', '--region', 'eu-west-1', '--package', packaged],
        // As in CI: no AWS credentials or configuration at all.
        {
          cwd: service,
          env: {
            PATH: userEnvironment().PATH,
            HOME: scratch,
            SLS_TELEMETRY_DISABLED: '1',
            SLS_NOTIFICATIONS_MODE: 'off',
            CI: '1',
          },
        },
      ),
    );
    const theirs = JSON.parse(readFileSync(join(packaged, 'cloudformation-template-update-stack.json'), 'utf8'));
    const ours = (await packagedService()).template;
    expect(normalized(theirs, 'orders-sync')).toEqual(normalized(ours, 'serverless-datasync'));
  }, 120_000);

  it('runs locally with npm start -- --once: every plugin resyncs and gets a change through each source', () => {
    const output = timed('the service: npm start -- --once', () =>
      succeed('npm', ['start', '--', '--once', '--port', '0', '--stage', `pkg${process.pid}`], {
        cwd: service,
        env: userEnvironment(awsEnvironment()),
      }),
    );
    for (const source of ['dynamodb', 'sqs', 'sqs-fifo', 'eventbridge', 'http']) {
      expect(output).toMatch(new RegExp(`^${source} +config/greetings/local-check/${source} +greetings +ok *$`, 'm'));
    }
    expect(output).toContain('Every plugin resynced and reported every change ok.');
  }, 120_000);
});

/** The first TypeScript block of the README's "Using it" section, as a reader would copy it. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Using it'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md: no ts block under "## Using it"');
  return block[1]!;
}

/** A handler a user might write, bundled and invoked by the tests. */
const CONSUMER_HANDLER = `import { createDatasync, type Plugin } from 'serverless-datasync';

export const received: string[] = [];

const things: Plugin = {
  name: 'things',
  prefixes: ['config/things'],
  resync() {},
  change(changes) {
    for (const change of changes) received.push(change.key);
  },
};

export const handler = createDatasync({ plugins: [things] }).sqsHandler();
`;

/** Invokes the bundle with one SQS message carrying a change, as Lambda would. */
const INVOKE_BUNDLE = `import { toEnvelope } from 'serverless-datasync';
const { handler, received } = await import('./bundle/handler.mjs');
const body = JSON.stringify(toEnvelope({ key: 'config/things/one', op: 'put', value: { n: 1 }, revision: 1 }));
const record = {
  messageId: 'm-1',
  receiptHandle: 'r-1',
  body,
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'x', ApproximateFirstReceiveTimestamp: String(Date.now()) },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:changes',
  awsRegion: 'us-east-1',
};
const context = { functionName: 'sqs', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30000 };
const response = await handler({ Records: [record] }, context);
console.log(JSON.stringify({ response, received }));
`;

function awsEnvironment(): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
}

async function queue(name: string): Promise<string> {
  const { QueueUrl } = await createAwsClients().sqs.send(new CreateQueueCommand({ QueueName: name }));
  return QueueUrl!;
}

/** The README's table: `config`, keyed by `pk`. */
async function configTable(): Promise<void> {
  const { dynamodb } = createAwsClients();
  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: 'config' }));
  } catch {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: 'config',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
}

/**
 * A packaged template with the service's name taken out: in resource names, in logical ids
 * (which the framework makes from the name without hyphens, capitalized) and in the code's S3
 * keys, which also carry the time of packaging.
 */
function normalized(template: Template, name: string): unknown {
  const logical = name.replaceAll('-', '').replace(/^./, (first) => first.toUpperCase());
  const text = JSON.stringify(template)
    .replace(/"S3Key":"[^"]*\/([^"/]+\.zip)"/g, '"S3Key":"$1"')
    // The events' source is the library's (DEFAULT_EVENT_SOURCE), whatever the service is named.
    .replaceAll('"source":["serverless-datasync"]', '"source":["EVENT_SOURCE"]')
    .replaceAll(name, 'SERVICE')
    .replaceAll(logical, 'Service');
  return JSON.parse(text);
}
