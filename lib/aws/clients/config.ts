/** Options shared by every client; tests use them to add middleware or a custom endpoint. */
export interface ClientOptions {
  readonly region?: string;
  readonly endpoint?: string;
  /** Attempts per call, including the first (SDK default 3). */
  readonly maxAttempts?: number;
}

/**
 * The configuration every SDK client of the library is made with. Region and credentials come
 * from the environment (the SDK's default chain); `AWS_ENDPOINT_URL` (and the per-service
 * `AWS_ENDPOINT_URL_<SERVICE>`) is honoured by the SDK itself, so the same code reaches AWS,
 * LocalStack or the local emulator.
 */
export function clientConfig(options: ClientOptions = {}): { region: string; endpoint?: string; maxAttempts?: number } {
  return {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
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
