// The credential chain of the deployed functions. serverless.yml builds every function with this
// module in place of `@aws-sdk/credential-provider-node` (an esbuild alias), whose `defaultProvider`
// each SDK client calls when no credentials are given.
//
// Why: the SDK's default chain also carries profiles, SSO, credential processes, web identity,
// login and instance metadata, with the nested STS/SSO clients they use. On Lambda none of them
// ever answers: the execution role's credentials are in the environment, or, where the platform
// runs functions in containers, behind the container credential endpoint. Leaving them out takes
// about 130 KiB from every bundle and 40 % of a one-client handler's load time
// (docs/benchmarks.md). Code that is not bundled (tests, the local runner, the CLI) keeps the
// SDK's full chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { DatasyncError } from '../../errors.ts';

type Provider = ReturnType<typeof fromEnv>;
type Credentials = Awaited<ReturnType<Provider>>;
/** What an SDK client passes: its own configuration, including its logger. */
type ProviderInit = Parameters<typeof fromHttp>[0];

/** Credentials are fetched again, in the background, from this long before they expire. */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

function sourceOf(init: ProviderInit): Provider {
  const env = process.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return fromEnv(init);
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return fromHttp(init);
  throw new DatasyncError(
    'CONFIGURATION',
    'no AWS credentials: a deployed function reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
      '(set by Lambda from the execution role) or from AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI; ' +
      'profiles, SSO and instance metadata are not part of the deployed bundle',
  );
}

/**
 * The SDK's `defaultProvider`, for Lambda: credentials from the environment, else from the
 * container credential endpoint. Credentials are kept while they are valid; from five minutes
 * before they expire, a call still gets them and starts a refresh in the background (a failed
 * refresh is tried again on the next call), and only expired or missing credentials are waited for.
 */
export function defaultProvider(init: ProviderInit = {}): Provider {
  let held: Credentials | undefined;
  let loading: Promise<Credentials> | undefined;
  const refresh = (): Promise<Credentials> =>
    (loading ??= (async () => sourceOf(init)())()
      .then((credentials) => (held = credentials))
      .finally(() => {
        loading = undefined;
      }));
  return async () => {
    const msLeft = held?.expiration === undefined ? Infinity : held.expiration.getTime() - Date.now();
    if (held && msLeft > 0) {
      // The held credentials still sign; the error of a background refresh surfaces only if they expire first.
      if (msLeft <= REFRESH_BEFORE_EXPIRY_MS) refresh().catch(() => {});
      return held;
    }
    return refresh();
  };
}
