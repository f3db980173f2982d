// Reading a packaged CloudFormation template: references between resources and IAM statements.
import type { Resource, Template } from './packaged-service.ts';

/** The logical id a `Ref` or `Fn::GetAtt` points at, if the value is one. */
export function refTarget(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return object.Ref;
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string') return getAtt.split('.')[0];
  }
  return undefined;
}

/** The attribute of a `Fn::GetAtt` (`Arn`, `StreamArn`, ...). */
export function getAttName(value: unknown): string | undefined {
  const getAtt = (value as Record<string, unknown> | undefined)?.['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[1] === 'string' ? getAtt[1] : undefined;
}

/** Resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** One IAM policy statement, normalized to lists. */
export interface Statement {
  readonly sid?: string;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: unknown[];
}

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of a role's inline policies. */
export function roleStatements(role: Resource): Statement[] {
  return asList(role.Properties?.Policies as Array<{ PolicyDocument: { Statement: unknown } }> | undefined)
    .flatMap((policy) => asList(policy.PolicyDocument.Statement as Record<string, unknown>[]))
    .map((statement) => ({
      ...(typeof statement.Sid === 'string' ? { sid: statement.Sid } : {}),
      effect: String(statement.Effect),
      actions: asList(statement.Action as string | string[]),
      resources: asList(statement.Resource),
    }));
}

/** Whether a role allows `action` on the resource that `resourceValue` (a Ref/GetAtt) names. */
export function allows(statements: Statement[], action: string, resourceValue: unknown): boolean {
  const target = JSON.stringify(resourceValue);
  return statements.some(
    (statement) =>
      statement.effect === 'Allow' &&
      statement.actions.includes(action) &&
      statement.resources.some((resource) => JSON.stringify(resource) === target),
  );
}
