// Every AWS call a function made, evaluated against that function's role in the packaged template
// (and the resource policy of the queue or bus it names) by an IAM policy evaluator, as AWS would
// evaluate it. moto authorizes by action only; this is where a missing resource grant shows.
import { existsSync, readFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { LoggedCall } from '../../../lib/aws/clients/call-log.ts';
import { NAME_PREFIX, PACKAGE_REGION, type Template } from '../deploy/packaged-service.ts';
import { refTarget, resourcesOfType } from '../deploy/template.ts';
import { authorizationsOf, type AuthorizationRequest, type NamedResource } from './authorization.ts';
import { ACCOUNT, TemplateValues } from './template-values.ts';

/** A line of the call log: a call, or which template resource a test's own resource stands for. */
type LogLine = LoggedCall | { readonly bind: string; readonly to: string };

/** What the log holds: the calls and the test resources bound to template resources. */
export interface CallLog {
  readonly calls: LoggedCall[];
  readonly bindings: ReadonlyMap<string, string>;
}

export function readCallLog(file: string): CallLog {
  const calls: LoggedCall[] = [];
  const bindings = new Map<string, string>();
  if (!existsSync(file)) return { calls, bindings };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as LogLine;
    if ('bind' in entry) bindings.set(entry.bind, entry.to);
    else calls.push(entry);
  }
  return { calls, bindings };
}

/** One evaluated authorization: who asked for what, on which template resource, and the answer. */
export interface Evaluation {
  readonly function: string;
  readonly role: string;
  readonly action: string;
  /** The template resource the call's resource stands for (or `*`). */
  readonly resource: string;
  readonly arn: string;
  readonly result: string;
  /** Why it was not allowed, with the grant that is missing. */
  readonly problem?: string;
}

/** `sqs` -> `Sqs`, `dynamodbStream` -> `DynamodbStream`: the prefix of the function's logical ids. */
const functionId = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * The logical id of the template resource a call's resource stands for: the one a test bound it
 * to, or the one with the same name in another stage of this service (the local runner and the
 * packaged bundles use the template's names, each in its own stage).
 */
function templateResourceOf(
  name: string,
  types: string[],
  values: TemplateValues,
  bindings: ReadonlyMap<string, string>,
): string | undefined {
  const bound = bindings.get(name);
  if (bound) return bound;
  const stageless = (physical: string) => /^serverless-datasync-[^-]+-(.+)$/.exec(physical)?.[1];
  const wanted = stageless(name);
  if (wanted === undefined) return undefined;
  return Object.entries(values.template.Resources).find(
    ([id, resource]) => types.includes(resource.Type) && stageless(values.physicalName(id)) === wanted,
  )?.[0];
}

interface Target {
  readonly id: string;
  readonly arn: string;
}

function targetOf(
  resource: NamedResource,
  values: TemplateValues,
  bindings: ReadonlyMap<string, string>,
): Target | string {
  const unbound = (name: string) =>
    `${name} stands for no resource of the template: a test names it with bindTemplateResource()`;
  switch (resource.kind) {
    case 'any':
      return { id: '*', arn: '*' };
    case 'table':
    case 'stream': {
      const id = templateResourceOf(resource.table, ['AWS::DynamoDB::Table'], values, bindings);
      if (!id) return unbound(`table ${resource.table}`);
      if (resource.kind === 'stream') return { id: `${id}.StreamArn`, arn: values.attribute(id, 'StreamArn') };
      const arn = values.attribute(id, 'Arn');
      return resource.index
        ? { id: `${id}/index/${resource.index}`, arn: `${arn}/index/${resource.index}` }
        : { id, arn };
    }
    case 'queue': {
      const id = templateResourceOf(resource.queue, ['AWS::SQS::Queue'], values, bindings);
      return id ? { id, arn: values.attribute(id, 'Arn') } : unbound(`queue ${resource.queue}`);
    }
    case 'bus': {
      if (resource.bus === 'default')
        return { id: 'default bus', arn: `arn:aws:events:${values.region}:${ACCOUNT}:event-bus/default` };
      const id = templateResourceOf(resource.bus, ['AWS::Events::EventBus'], values, bindings);
      return id ? { id, arn: values.attribute(id, 'Arn') } : unbound(`bus ${resource.bus}`);
    }
  }
}

/** The resource policy on a queue or bus of the template, resolved. */
function resourcePolicyOf(id: string, values: TemplateValues): unknown {
  for (const [, policy] of resourcesOfType(values.template, 'AWS::SQS::QueuePolicy')) {
    if ((policy.Properties!.Queues as unknown[]).some((queue) => refTarget(queue) === id))
      return values.value(policy.Properties!.PolicyDocument);
  }
  const bus = values.template.Resources[id];
  if (bus?.Type === 'AWS::Events::EventBus' && bus.Properties?.Policy) return values.value(bus.Properties.Policy);
  return undefined;
}

/** The role of a function of the template, and its inline policies, resolved. */
function roleOf(fn: string, values: TemplateValues): { id: string; arn: string; policies: unknown[] } | string {
  const lambda = values.template.Resources[`${functionId(fn)}LambdaFunction`];
  if (!lambda) return `the template has no function ${fn}`;
  const id = refTarget(lambda.Properties!.Role);
  if (!id) return `function ${fn} has no role of the template`;
  const role = values.resource(id);
  const policies = ((role.Properties?.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: unknown }>).map(
    (policy) => ({ name: policy.PolicyName, policy: values.value(policy.PolicyDocument) }),
  );
  return { id, arn: values.attribute(id, 'Arn'), policies };
}

/** Evaluates every distinct authorization of the logged calls; the result lists each one once. */
export async function evaluateCalls(template: Template, log: CallLog): Promise<Evaluation[]> {
  const values = new TemplateValues(template, { region: PACKAGE_REGION, stackName: NAME_PREFIX });
  const seen = new Map<string, { fn: string; request: AuthorizationRequest }>();
  const problems: Evaluation[] = [];
  for (const call of log.calls) {
    let requests: AuthorizationRequest[];
    try {
      requests = authorizationsOf(call);
    } catch (error) {
      problems.push({
        function: call.function,
        role: '?',
        action: `${call.service}:${call.operation}`,
        resource: '?',
        arn: '?',
        result: 'Unknown',
        problem: (error as Error).message,
      });
      continue;
    }
    for (const request of requests) seen.set(JSON.stringify([call.function, request]), { fn: call.function, request });
  }

  const evaluations: Evaluation[] = [...problems];
  for (const { fn, request } of seen.values()) {
    const role = roleOf(fn, values);
    const target = targetOf(request.resource, values, log.bindings);
    const base = { function: fn, action: request.action };
    if (typeof role === 'string' || typeof target === 'string') {
      evaluations.push({
        ...base,
        role: typeof role === 'string' ? '?' : role.id,
        resource: '?',
        arn: '?',
        result: 'Unknown',
        problem: typeof role === 'string' ? role : (target as string),
      });
      continue;
    }
    // A Lambda function calls as a session of its role, over TLS (the SDK's endpoints are HTTPS).
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/${values.physicalName(role.id)}/${fn}`;
    const resourcePolicy = target.id === '*' ? undefined : resourcePolicyOf(target.id, values);
    const simulation = await runSimulation(
      {
        request: {
          principal: session,
          action: request.action,
          resource: { resource: target.arn, accountId: ACCOUNT },
          contextVariables: {
            'aws:SecureTransport': 'true',
            'aws:PrincipalArn': role.arn,
            'aws:PrincipalAccount': ACCOUNT,
            'aws:PrincipalType': 'AssumedRole',
            ...request.context,
          },
        },
        identityPolicies: role.policies as never,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
      },
      { simulationMode: 'Strict' },
    );
    const result = simulation.resultType === 'error' ? 'Error' : simulation.overallResult;
    const evaluation = { ...base, role: role.id, resource: target.id, arn: target.arn, result };
    if (result === 'Allowed') evaluations.push(evaluation);
    else {
      const why =
        simulation.resultType === 'error'
          ? `the evaluator refused the policies: ${simulation.errors.message}`
          : result === 'ExplicitlyDenied'
            ? `a Deny in ${resourcePolicy ? "the resource's policy or " : ''}the role matches`
            : `missing grant: Allow ${request.action} on ${target.id} (${target.arn})`;
      evaluations.push({ ...evaluation, problem: why });
    }
  }
  return evaluations;
}

/**
 * How AWS answers a caller that has no grant of its own on a resource of the template beyond
 * `identityPolicy` (an IAM principal of the account, or an AWS service): the resource's policy
 * decides. For the controls the resource policies carry (who may send, TLS only).
 */
export async function resourcePolicyAnswer(
  values: TemplateValues,
  request: {
    readonly principal: string;
    readonly action: string;
    /** Logical id of the queue, bus or topic. */
    readonly resource: string;
    readonly context?: Record<string, string>;
    readonly identityPolicy?: unknown;
  },
): Promise<string> {
  const { Type } = values.resource(request.resource);
  const arn =
    Type === 'AWS::SNS::Topic'
      ? values.attribute(request.resource, 'TopicArn')
      : values.attribute(request.resource, 'Arn');
  const policy =
    Type === 'AWS::SNS::Topic'
      ? resourcesOfType(values.template, 'AWS::SNS::TopicPolicy')
          .filter(([, p]) => (p.Properties!.Topics as unknown[]).some((topic) => refTarget(topic) === request.resource))
          .map(([, p]) => values.value(p.Properties!.PolicyDocument))[0]
      : resourcePolicyOf(request.resource, values);
  const simulation = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: arn, accountId: ACCOUNT },
        contextVariables: { 'aws:SecureTransport': 'true', ...request.context },
      },
      identityPolicies: request.identityPolicy ? [{ name: 'caller', policy: request.identityPolicy }] : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(policy ? { resourcePolicy: policy } : {}),
    },
    { simulationMode: 'Strict' },
  );
  return simulation.resultType === 'error' ? `Error: ${simulation.errors.message}` : simulation.overallResult;
}

/** One line per evaluation that was not an allow. */
export function describeProblems(evaluations: readonly Evaluation[]): string[] {
  return evaluations
    .filter((evaluation) => evaluation.problem !== undefined)
    .map(
      (evaluation) =>
        `function ${evaluation.function} (role ${evaluation.role}): ${evaluation.action} on ${evaluation.resource} ` +
        `is ${evaluation.result}: ${evaluation.problem}`,
    );
}
