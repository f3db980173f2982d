import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { DatasyncError } from '../../errors.ts';

/** How the SDK retries a whole call: `standard` (the SDK's default) or `adaptive` (adds client-side rate limiting). */
export type RetryMode = 'standard' | 'adaptive';

/** Options shared by every client; tests use them to add middleware or a custom endpoint. */
export interface ClientOptions {
  readonly region?: string;
  readonly endpoint?: string;
  /** Attempts per call, the first included; default `AWS_MAX_ATTEMPTS`, else {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
  /** Default `AWS_RETRY_MODE`, else `standard`. */
  readonly retryMode?: RetryMode;
}

/**
 * Attempts per call when neither the options nor `AWS_MAX_ATTEMPTS` set them. Throttling and
 * server errors are the SDK's to retry (with its backoff and retry quota); the library resends
 * only the entries a batch call left out (lib/aws/retry.ts). Five attempts wait up to about three
 * seconds in the standard mode, more patience than the SDK's three for a Lambda that would
 * otherwise redeliver the whole batch.
 */
export const DEFAULT_MAX_ATTEMPTS = 5;

/** The SDK client configuration the library makes every client with. */
export interface SdkClientConfig {
  region: string | (() => Promise<string>);
  endpoint?: string;
  maxAttempts?: number;
  retryMode?: RetryMode;
}

/**
 * The configuration every SDK client of the library is made with. The region comes from the
 * options, else `AWS_REGION`, `AWS_DEFAULT_REGION` (the AWS CLI's variable) or the profile's
 * `region` in the AWS config file; with none of them the first call fails with a configuration
 * error saying so, never a guessed region. Credentials come from the SDK's default chain, and
 * `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_<SERVICE>`) is honoured by the SDK
 * itself, so the same code reaches AWS, LocalStack or the local emulator.
 */
export function clientConfig(options: ClientOptions = {}): SdkClientConfig {
  const maxAttempts =
    options.maxAttempts ?? (process.env.AWS_MAX_ATTEMPTS === undefined ? DEFAULT_MAX_ATTEMPTS : undefined);
  return {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? profileRegion(),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // Left out when the environment sets them, so the SDK reads (and checks) the variables itself.
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
    ...(options.retryMode ? { retryMode: options.retryMode } : {}),
  };
}

/** The region of the AWS config file's profile, read as the SDK reads it (once), else a clear error. */
function profileRegion(): () => Promise<string> {
  const load = loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS);
  return async () => {
    try {
      return await load();
    } catch (cause) {
      throw new DatasyncError(
        'CONFIGURATION',
        'no AWS region: set AWS_REGION, or a region in the AWS config profile (the CLI also takes --region)',
        { cause, details: { variable: 'AWS_REGION' } },
      );
    }
  };
}

/**
 * A process-wide client made by `create` on first use and then reused (one per Lambda container):
 * created lazily, so importing a service's module costs nothing until a call needs it.
 */
export function sharedClient<T>(create: () => T): () => T {
  let client: T | undefined;
  return () => (client ??= create());
}
