// The credential chain deployed functions are built with (serverless.yml aliases the SDK's default
// chain to it): environment first, container endpoint next, else a clear configuration error.
import { defaultProvider } from '../../../lib/aws/clients/lambda-credentials.ts';
import { DatasyncError } from '../../../lib/errors.ts';

const NAMES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];
const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
beforeEach(() => {
  for (const name of NAMES) delete process.env[name];
});
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function setKeys(id: string, expiration?: Date): void {
  process.env.AWS_ACCESS_KEY_ID = id;
  process.env.AWS_SECRET_ACCESS_KEY = `${id}-secret`;
  process.env.AWS_SESSION_TOKEN = `${id}-token`;
  if (expiration) process.env.AWS_CREDENTIAL_EXPIRATION = expiration.toISOString();
}

describe('Lambda credential chain', () => {
  it('returns the execution role credentials Lambda puts in the environment', async () => {
    setKeys('role-a');
    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: 'role-a',
      secretAccessKey: 'role-a-secret',
      sessionToken: 'role-a-token',
    });
  });

  it('keeps credentials that do not expire soon', async () => {
    setKeys('role-a', new Date(Date.now() + 60 * 60_000));
    const provider = defaultProvider();
    await provider();
    setKeys('role-b');
    expect((await provider()).accessKeyId).toBe('role-a');
  });

  it('hands out credentials about to expire while it fetches new ones, and waits only for expired ones', async () => {
    setKeys('role-c', new Date(Date.now() + 60_000));
    const expiring = defaultProvider();
    expect((await expiring()).accessKeyId).toBe('role-c');
    setKeys('role-d', new Date(Date.now() + 60 * 60_000));
    // Still valid: returned at once, with a refresh started behind it.
    expect((await expiring()).accessKeyId).toBe('role-c');
    await new Promise((resolve) => setImmediate(resolve));
    expect((await expiring()).accessKeyId).toBe('role-d');

    setKeys('role-e', new Date(Date.now() - 1_000));
    const expired = defaultProvider();
    await expired();
    setKeys('role-f');
    expect((await expired()).accessKeyId).toBe('role-f');
  });

  it('shares one lookup between concurrent calls', async () => {
    setKeys('role-a');
    const provider = defaultProvider();
    const [first, second] = await Promise.all([provider(), provider()]);
    expect(second).toBe(first);
  });

  it('says where it looked when there are no credentials, and looks again on the next call', async () => {
    const provider = defaultProvider();
    const failure = await provider().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DatasyncError);
    expect(failure).toMatchObject({
      code: 'CONFIGURATION',
      message: expect.stringContaining('AWS_CONTAINER_CREDENTIALS_FULL_URI'),
    });

    setKeys('role-late');
    expect((await provider()).accessKeyId).toBe('role-late');
  });
});
