import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDocument, type CollectionTag, type ScalarTag, type YAMLSeq } from 'yaml';
import { inlineIncludes } from '../service-includes.ts';
import type { EventSourceMapping, LocalTopology, QueueResource, TableResource } from './topology.ts';

/**
 * Reads the deployable service's own definition (serverless.yml and the CloudFormation files it
 * includes from infra/) and turns it into what the local runner provisions and wires: the same
 * tables, queues, bus and event sources, with the names the stage gives them. Only what the
 * local pipeline needs is interpreted; IAM, alarms and the HTTP API's AWS resources are not.
 */
export interface LocalService {
  readonly topology: LocalTopology;
  /** The functions' environment (provider.environment with references resolved locally). */
  readonly environment: Readonly<Record<string, string>>;
  /** Module path (relative to the service folder) and export of each function's handler. */
  readonly handlers: Readonly<Record<string, { readonly module: string; readonly exportName: string }>>;
  /** Function timeouts in milliseconds. */
  readonly timeoutsMs: Readonly<Record<string, number>>;
}

/** A CloudFormation intrinsic left in the parsed document: `{ Ref: X }` / `{ 'Fn::GetAtt': [X, Attr] }`. */
type Intrinsic = { Ref: string } | { 'Fn::GetAtt': [string, string] };

const intrinsicTags: Array<ScalarTag | CollectionTag> = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) } as ScalarTag,
  { tag: '!GetAtt', resolve: (value: string) => ({ 'Fn::GetAtt': value.split('.', 2) }) } as ScalarTag,
  { tag: '!Sub', resolve: (value: string) => ({ 'Fn::Sub': value }) } as ScalarTag,
  {
    tag: '!Sub',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::Sub': seq.toJSON() }),
  } as unknown as CollectionTag,
  {
    tag: '!Join',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::Join': seq.toJSON() }),
  } as unknown as CollectionTag,
  {
    tag: '!If',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::If': seq.toJSON() }),
  } as unknown as CollectionTag,
  {
    tag: '!Equals',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::Equals': seq.toJSON() }),
  } as unknown as CollectionTag,
  {
    tag: '!Not',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::Not': seq.toJSON() }),
  } as unknown as CollectionTag,
  {
    tag: '!Select',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::Select': seq.toJSON() }),
  } as unknown as CollectionTag,
  {
    tag: '!Split',
    collection: 'seq',
    resolve: (seq: YAMLSeq) => ({ 'Fn::Split': seq.toJSON() }),
  } as unknown as CollectionTag,
];

// The service file is read as plain YAML whose shape the code checks as it goes, the way the
// framework reads it: a precise type for every CloudFormation property would add nothing.
// biome-ignore lint/suspicious/noExplicitAny: untyped YAML, checked where it is used
type Yaml = any;

function readYaml(path: string): Yaml {
  const document = parseDocument(readFileSync(path, 'utf8'), { customTags: intrinsicTags });
  if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]!.message}`);
  return document.toJS();
}

/**
 * Loads the service definition for a stage (default `local`) from the folder holding
 * serverless.yml.
 */
export function loadLocalService(options: {
  serviceDir: string;
  stage?: string;
  region?: string;
  accountId?: string;
  endpoint?: string;
}): LocalService {
  const stage = options.stage ?? 'local';
  const region = options.region ?? 'us-east-1';
  const account = options.accountId ?? '123456789012';
  const raw = inlineIncludes(
    readYaml(join(options.serviceDir, 'serverless.yml')),
    options.serviceDir,
    readYaml,
  ) as Yaml;
  const params: Record<string, unknown> = { ...(raw.params?.default ?? {}), ...(raw.params?.[stage] ?? {}) };

  // Resolves ${self:...}, ${sls:stage}, ${opt:...}, ${param:...} and ${file(...)} as the CLI would.
  const resolve = (value: unknown, depth = 0): unknown => {
    if (depth > 20) throw new Error('variables nest too deeply');
    if (typeof value === 'string') {
      // Only the framework's variable sources; `${AWS::Region}` and the like belong to CloudFormation.
      const variable = /\$\{((?:self:|sls:|param:|opt:|file\()[^{}]*)\}/g;
      const whole = /^\$\{((?:self:|sls:|param:|opt:|file\()[^{}]*)\}$/.exec(value);
      if (whole) return resolve(lookup(whole[1]!), depth + 1);
      return value.replace(variable, (_match, expression: string) => String(resolve(lookup(expression), depth + 1)));
    }
    if (Array.isArray(value)) return value.map((item) => resolve(item, depth));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, depth)]));
    return value;
  };
  const lookup = (expression: string): unknown => {
    const [reference, fallback] = splitFallback(expression);
    let found: unknown;
    if (reference === 'sls:stage') found = stage;
    else if (reference.startsWith('self:')) found = path(raw, reference.slice(5));
    else if (reference.startsWith('param:')) found = params[reference.slice(6)];
    else if (reference.startsWith('opt:'))
      found = reference === 'opt:stage' ? stage : reference === 'opt:region' ? region : undefined;
    else if (reference.startsWith('file('))
      found = readYaml(join(options.serviceDir, reference.slice(5, reference.indexOf(')'))));
    if (found === undefined && fallback !== undefined) found = fallback.replace(/^'|'$/g, '');
    if (found === undefined) throw new Error(`serverless.yml: cannot resolve \${${expression}} for the local stage`);
    return found;
  };

  const resources: Record<string, { Type: string; Properties?: Yaml }> = {};
  for (const part of (raw.resources ?? []) as unknown[])
    Object.assign(resources, (resolve(part) as { Resources?: object }).Resources ?? {});
  const provider = resolve(raw.provider) as { timeout?: number; environment?: Record<string, unknown> };
  const functions = resolve(raw.functions ?? {}) as Record<string, Yaml>;

  const tables: TableResource[] = [];
  const queues: QueueResource[] = [];
  const queueNames = new Map<string, string>();
  let busName: string | undefined;
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::SQS::Queue') queueNames.set(id, String(props.QueueName ?? id));
    if (resource.Type === 'AWS::Events::EventBus') busName = String(props.Name ?? id);
    if (resource.Type === 'AWS::DynamoDB::Table') {
      const keys = props.KeySchema as Array<{ AttributeName: string; KeyType: string }>;
      tables.push({
        name: String(props.TableName ?? id),
        partitionKey: keys.find((k) => k.KeyType === 'HASH')!.AttributeName,
        ...(keys.some((k) => k.KeyType === 'RANGE')
          ? { sortKey: keys.find((k) => k.KeyType === 'RANGE')!.AttributeName }
          : {}),
        stream: props.StreamSpecification?.StreamViewType === 'NEW_AND_OLD_IMAGES',
      });
    }
  }
  const tableOf = (id: string) => String(resources[id]?.Properties?.TableName ?? id);
  const queueOf = (reference: unknown): string => {
    const id = logicalId(reference);
    const name = queueNames.get(id);
    if (!name) throw new Error(`no queue resource ${id}`);
    return name;
  };
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::SQS::Queue') continue;
    const props = resource.Properties ?? {};
    queues.push({
      name: queueNames.get(id)!,
      ...(props.FifoQueue ? { fifo: true } : {}),
      ...(props.ContentBasedDeduplication ? { contentBasedDeduplication: true } : {}),
      // Locally a failed message comes back after a second, not after minutes, so retries and
      // redrive to the dead-letter queue can be watched; the receive count is the deployed one.
      visibilityTimeoutSeconds: 1,
      ...(props.RedrivePolicy
        ? {
            deadLetter: {
              queue: queueOf(props.RedrivePolicy.deadLetterTargetArn),
              maxReceiveCount: Number(props.RedrivePolicy.maxReceiveCount),
            },
          }
        : {}),
    });
  }

  const mappings: EventSourceMapping[] = [];
  const rules: Array<{ name: string; pattern: object; targetQueue: string }> = [];
  const handlers: Record<string, { module: string; exportName: string }> = {};
  const timeoutsMs: Record<string, number> = {};
  for (const [name, fn] of Object.entries(functions)) {
    const handler = String(fn.handler);
    const dot = handler.lastIndexOf('.');
    handlers[name] = { module: `${handler.slice(0, dot)}.ts`, exportName: handler.slice(dot + 1) };
    timeoutsMs[name] = Number(fn.timeout ?? provider.timeout ?? 6) * 1000;
    for (const event of (fn.events ?? []) as Array<Record<string, Yaml>>) {
      if (event.stream) {
        mappings.push({
          kind: 'stream',
          function: name,
          table: tableOf(logicalId(event.stream.arn)),
          batchSize: Number(event.stream.batchSize ?? 100),
          maximumRetryAttempts: Number(event.stream.maximumRetryAttempts ?? 2),
          ...(event.stream.destinations?.onFailure?.arn
            ? { onFailureQueue: queueOf(event.stream.destinations.onFailure.arn) }
            : {}),
        });
      } else if (event.sqs) {
        mappings.push({
          kind: 'queue',
          function: name,
          queue: queueOf(event.sqs.arn),
          batchSize: Number(event.sqs.batchSize ?? 10),
        });
      } else if (event.eventBridge) {
        // The emulator cannot invoke a function from a rule, so the rule delivers to a local queue
        // that the runner drains into the function; retries and the dead-letter queue stay as deployed.
        const target = `${busName ?? 'bus'}-${name}-local`;
        const dlq = event.eventBridge.deadLetterQueueArn ? queueOf(event.eventBridge.deadLetterQueueArn) : undefined;
        queues.push({
          name: target,
          visibilityTimeoutSeconds: 1,
          ...(dlq
            ? {
                deadLetter: {
                  queue: dlq,
                  maxReceiveCount: Math.min(3, Number(event.eventBridge.retryPolicy?.maximumRetryAttempts ?? 2) + 1),
                },
              }
            : {}),
        });
        rules.push({ name: `${target}-rule`, pattern: event.eventBridge.pattern, targetQueue: target });
        mappings.push({ kind: 'bus-rule', function: name, queue: target });
      } else if (event.httpApi) {
        const route = `${String(event.httpApi.method).toUpperCase()} ${String(event.httpApi.path)}`;
        const http = mappings.find((m) => m.kind === 'http');
        if (http) (http.routes as string[]).push(route);
        else mappings.push({ kind: 'http', function: name, port: 3000, routes: [route] });
      }
    }
  }

  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(provider.environment ?? {})) {
    if (key === 'NODE_OPTIONS') continue;
    environment[key] =
      typeof value === 'string'
        ? value
        : referenceValue(value as Intrinsic, resources, queueNames, {
            region,
            account,
            endpoint: options.endpoint ?? 'http://127.0.0.1:4566',
          });
  }
  return {
    topology: { tables, queues, ...(busName ? { bus: { name: busName, rules } } : {}), mappings },
    environment,
    handlers,
    timeoutsMs,
  };
}

function referenceValue(
  value: Intrinsic,
  resources: Record<string, { Type: string; Properties?: Yaml }>,
  queues: Map<string, string>,
  where: { region: string; account: string; endpoint: string },
): string {
  const id = logicalId(value);
  const resource = resources[id];
  if (!resource) throw new Error(`environment refers to unknown resource ${id}`);
  if (resource.Type === 'AWS::SQS::Queue' && 'Ref' in value)
    return `${where.endpoint}/${where.account}/${queues.get(id)}`;
  if (resource.Type === 'AWS::DynamoDB::Table' && 'Ref' in value) return String(resource.Properties?.TableName ?? id);
  if (resource.Type === 'AWS::Events::EventBus') return String(resource.Properties?.Name ?? id);
  throw new Error(`environment reference to ${id} (${resource.Type}) is not supported locally`);
}

function logicalId(reference: unknown): string {
  if (reference && typeof reference === 'object') {
    if ('Ref' in reference) return String((reference as { Ref: string }).Ref);
    if ('Fn::GetAtt' in reference) return String((reference as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]);
  }
  throw new Error(`expected !Ref or !GetAtt, got ${JSON.stringify(reference)}`);
}

function splitFallback(expression: string): [string, string | undefined] {
  const comma = expression.indexOf(',');
  return comma < 0
    ? [expression.trim(), undefined]
    : [expression.slice(0, comma).trim(), expression.slice(comma + 1).trim()];
}

function path(root: unknown, dotted: string): unknown {
  return dotted
    .split('.')
    .reduce<unknown>(
      (node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined),
      root,
    );
}

/** The folder of this repository's serverless.yml. */
export const SERVICE_DIR = join(dirname(new URL(import.meta.url).pathname), '..', '..');
