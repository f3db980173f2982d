// Signed requests to AWS APIs that have no SDK client among the project's dependencies
// (CloudFormation, S3), made with the SDK's own SigV4 signer. Used to create the packaged stack on
// the emulator the way `serverless deploy` does.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 (HMAC when given a secret) in the shape the signer expects. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** An API error answered by the service: HTTP status, and the body (the service's error). */
export class AwsApiError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(message: string, status: number, body: string) {
    super(message);
    this.name = 'AwsApiError';
    this.status = status;
    this.body = body;
  }
}

function endpoint(): URL {
  const url = process.env.AWS_ENDPOINT_URL;
  if (!url) throw new Error('AWS_ENDPOINT_URL is not set; these requests only go to an emulator');
  return new URL(url);
}

function region(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

async function send(
  service: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Uint8Array,
): Promise<string> {
  const url = endpoint();
  const signer = new SignatureV4({
    service,
    region: region(),
    sha256: Sha256,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
    uriEscapePath: service !== 's3',
  });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path,
    query: {},
    headers: { host: url.host, ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const response = await fetch(new URL(path, url), {
    method,
    headers: signed.headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new AwsApiError(
      `${service} ${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`,
      response.status,
      text,
    );
  }
  return text;
}

/** Calls a Query-protocol action (CloudFormation) and returns the XML response. */
export function queryApi(
  service: string,
  version: string,
  action: string,
  params: Record<string, string> = {},
): Promise<string> {
  const body = new URLSearchParams({ Action: action, Version: version, ...params }).toString();
  return send(service, 'POST', '/', { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body);
}

/** Uploads one object to S3 (path-style addressing). */
export async function putObject(bucket: string, key: string, body: Uint8Array): Promise<void> {
  const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  await send(
    's3',
    'PUT',
    path,
    { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'), 'content-length': String(body.length) },
    body,
  );
}

/** Deletes one object from S3. */
export async function deleteObject(bucket: string, key: string): Promise<void> {
  const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  await send('s3', 'DELETE', path, { 'x-amz-content-sha256': createHash('sha256').update('').digest('hex') });
}

/** The text of every `<name>` element in an XML document, in order (enough for flat fields). */
export function xmlValues(xml: string, name: string): string[] {
  const pattern = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g');
  return [...xml.matchAll(pattern)].map((match) => unescapeXml(match[1] ?? ''));
}

/** The `<member>` blocks of an XML list element. */
export function xmlMembers(xml: string, list: string): string[] {
  return xmlValues(xml, list).flatMap((block) =>
    [...block.matchAll(/<member>([\s\S]*?)<\/member>/g)].map((match) => match[1] ?? ''),
  );
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}
