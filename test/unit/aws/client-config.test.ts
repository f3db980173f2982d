// The one client configuration: where the region comes from (never a guess), and the SDK owning
// whole-call retries.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { clientConfig, DEFAULT_MAX_ATTEMPTS } from '../../../lib/aws/clients/config.ts';
import { createSqsClient } from '../../../lib/aws/clients/sqs.ts';
import { DatasyncError } from '../../../lib/errors.ts';

const NAMES = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_MAX_ATTEMPTS'];
const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
const dir = mkdtempSync(join(tmpdir(), 'datasync-aws-config-'));
beforeEach(() => {
  for (const name of NAMES) delete process.env[name];
  // A config file of our own, so the machine's ~/.aws never answers.
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  writeFileSync(process.env.AWS_CONFIG_FILE, '[default]\noutput = json\n');
});
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('client region', () => {
  it('fails the first call with a configuration error when nothing names a region', async () => {
    const sqs = createSqsClient({ endpoint: 'http://127.0.0.1:9' });
    const error = await sqs.send(new ListQueuesCommand({})).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DatasyncError);
    expect(error).toMatchObject({
      code: 'CONFIGURATION',
      message: expect.stringMatching(/^no AWS region: set AWS_REGION/),
    });
  });

  it('takes the options, AWS_REGION, AWS_DEFAULT_REGION or the profile, in that order', async () => {
    // Another file: the SDK reads each config file once per process.
    process.env.AWS_CONFIG_FILE = join(dir, 'config-with-region');
    writeFileSync(process.env.AWS_CONFIG_FILE, '[default]\nregion = eu-central-1\n');
    const region = async (options = {}) => {
      const value = clientConfig(options).region;
      return typeof value === 'string' ? value : value();
    };
    expect(await region()).toBe('eu-central-1');
    process.env.AWS_DEFAULT_REGION = 'eu-west-3';
    expect(await region()).toBe('eu-west-3');
    process.env.AWS_REGION = 'eu-west-1';
    expect(await region()).toBe('eu-west-1');
    expect(await region({ region: 'ap-south-1' })).toBe('ap-south-1');
  });
});

describe('client retries', () => {
  it('are the SDK’s: the library’s default attempts, unless AWS_MAX_ATTEMPTS or the options say otherwise', async () => {
    expect(clientConfig()).toMatchObject({ maxAttempts: DEFAULT_MAX_ATTEMPTS });
    expect(await createSqsClient({ region: 'eu-west-1' }).config.maxAttempts()).toBe(DEFAULT_MAX_ATTEMPTS);
    process.env.AWS_MAX_ATTEMPTS = '2';
    expect(await createSqsClient({ region: 'eu-west-1' }).config.maxAttempts()).toBe(2);
    expect(await createSqsClient({ region: 'eu-west-1', maxAttempts: 7 }).config.maxAttempts()).toBe(7);
    const adaptive = await createSqsClient({ region: 'eu-west-1', retryMode: 'adaptive' }).config.retryStrategy();
    expect((adaptive as { mode?: string }).mode).toBe('adaptive');
  });
});
