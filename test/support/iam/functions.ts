// How tests say which function of the service runs, and which template resource a test's own table,
// queue or bus stands for, so the calls logged while it runs are evaluated against the right role
// (see evaluate.ts and call-log-setup.ts).
import { appendFileSync } from 'node:fs';
import { runAsFunction, runOutsideFunctions } from '../../../lib/aws/clients/call-log.ts';

export { runOutsideFunctions };

/** A function of serverless.yml, by its key there. */
export type FunctionName = 'dynamodbStream' | 'sqs' | 'eventbridge' | 'http' | 'resync';

/** The handler, whose every invocation's AWS calls are those of function `name` of the service. */
export function asFunction<A extends unknown[], R>(name: FunctionName, handler: (...args: A) => R): (...args: A) => R {
  return (...args) => runAsFunction(name, () => handler(...args));
}

/**
 * Says that the resource a test made under `name` (a table or bus name, a queue's name or URL)
 * stands for the template resource `logicalId`, e.g. a test's state table for `StateTable`.
 */
export function bindTemplateResource(logicalId: string, name: string): void {
  const file = process.env.DATASYNC_AWS_CALL_LOG;
  if (!file) return;
  const bind = name.startsWith('http') ? name.split('/').pop()! : name;
  appendFileSync(file, `${JSON.stringify({ bind, to: logicalId })}\n`);
}
