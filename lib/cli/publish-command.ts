import { randomUUID } from 'node:crypto';
import { ENV } from '../config.ts';
import { createFeedbackReader } from '../feedback/reader.ts';
import type { JsonValue } from '../model/json-value.ts';
import { createPublisher } from '../publish/publisher.ts';
import type { PublishOptions } from '../publish/types.ts';
import { EXIT, stringOption, UsageError, type CliContext } from './command.ts';
import { describePublished, feedbackHeader, feedbackRow } from './output.ts';
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from './target.ts';

/** The options of `put` and `delete`. */
export const PUBLISH_OPTIONS = {
  ...TARGET_OPTIONS,
  'correlation-id': { type: 'string' },
  'expected-version': { type: 'string' },
  wait: { type: 'boolean' },
  plugins: { type: 'string' },
  timeout: { type: 'string' },
  'feedback-queue-url': { type: 'string' },
} as const;

/** The help lines of `put` and `delete`. */
export const PUBLISH_HELP = `Options:
  --correlation-id <id>      carried into feedback (default: a new id when --wait is given)
  --expected-version <n>     DynamoDB only: write only if the item is at version n (0: absent)
  --wait                     wait for the plugins' feedback and print it (exit 1 on error or timeout)
    --plugins <a,b>          the plugins to wait for (default: the first record)
    --timeout <ms>           how long to wait (default 30000)
    --feedback-queue-url <url>  the feedback queue (env ${ENV.feedbackQueueUrl})

${TARGET_HELP}`;

/** Publishes the one change a `put` or `delete` command describes, and optionally waits for its feedback. */
export async function publishFromCli(context: CliContext, op: 'put' | 'delete'): Promise<number> {
  const expected = op === 'put' ? 2 : 1;
  if (context.positionals.length !== expected) {
    throw new UsageError(op === 'put' ? 'put needs a key and a JSON value' : 'delete needs a key');
  }
  const key = context.positionals[0]!;
  let value: JsonValue | undefined;
  if (op === 'put') {
    try {
      value = JSON.parse(context.positionals[1]!) as JsonValue;
    } catch (error) {
      throw new UsageError(`the value is not JSON: ${(error as Error).message}`);
    }
  }
  const wait = context.values.wait === true;
  const feedbackQueueUrl = stringOption(context, 'feedback-queue-url') ?? context.env[ENV.feedbackQueueUrl];
  if (wait && !feedbackQueueUrl) throw new UsageError(`--wait needs --feedback-queue-url or ${ENV.feedbackQueueUrl}`);
  const timeoutMs = Number(stringOption(context, 'timeout') ?? 30_000);
  if (!(timeoutMs > 0)) throw new UsageError('--timeout must be a positive number of milliseconds');
  const expectedVersion = stringOption(context, 'expected-version');
  const correlationId = stringOption(context, 'correlation-id') ?? (wait ? randomUUID() : undefined);
  const options: PublishOptions = {
    ...(correlationId ? { correlationId } : {}),
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
  };

  const publisher = createPublisher({ target: resolveTarget(context), clients: context.clients() });
  const published = op === 'put' ? await publisher.put(key, value!, options) : await publisher.delete(key, options);
  if (!wait) {
    context.out(
      context.json
        ? JSON.stringify({ ok: true, target: publisher.target, change: published })
        : describePublished(published),
    );
    return EXIT.ok;
  }

  if (!context.json) context.out(describePublished(published));
  const reader = createFeedbackReader({ queueUrl: feedbackQueueUrl!, clients: context.clients(), waitTimeSeconds: 5 });
  const plugins = stringOption(context, 'plugins')?.split(',').filter(Boolean);
  const results = await reader.waitFor([correlationId!], {
    timeoutMs,
    signal: context.signal,
    ...(plugins ? { plugins } : {}),
  });
  const records = results.get(correlationId!) ?? [];
  const failed = records.some((record) => record.status !== 'ok');
  if (context.json) {
    context.out(JSON.stringify({ ok: !failed, target: publisher.target, change: published, feedback: records }));
  } else {
    context.out(feedbackHeader());
    for (const record of records) context.out(feedbackRow(record));
  }
  return failed ? EXIT.failure : EXIT.ok;
}
