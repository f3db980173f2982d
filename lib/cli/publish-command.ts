import { randomUUID } from 'node:crypto';
import { ENV } from '../config.ts';
import { createFeedbackReader } from '../feedback/reader.ts';
import type { JsonValue } from '../model/json-value.ts';
import { createPublisher } from '../publish/publisher.ts';
import type { PublishOptions } from '../publish/types.ts';
import {
  EXIT,
  listOption,
  onlyWith,
  queueUrlOption,
  secondsOption,
  stringOption,
  UsageError,
  type CliContext,
} from './command.ts';
import type { OptionGroup } from './options.ts';
import { describePublished, feedbackHeader, feedbackRow } from './output.ts';
import { resolveTarget, TARGET_OPTIONS } from './target.ts';

/** Seconds `put`/`delete --wait` wait for feedback by default. */
const DEFAULT_WAIT_SECONDS = 30;

/** The options of `put` and `delete`. */
export const PUBLISH_OPTIONS: readonly OptionGroup[] = [
  {
    title: 'Options',
    options: [
      'correlation-id',
      'expected-version',
      { name: 'wait', description: "wait for the plugins' feedback and print it (exit 1 on error or timeout)" },
    ],
  },
  {
    title: 'With --wait',
    options: [
      { name: 'plugin', description: 'the plugins to wait for (repeat, or a,b; default the first record)' },
      { name: 'timeout', description: `how long to wait (default ${DEFAULT_WAIT_SECONDS})` },
      'feedback-queue-url',
    ],
  },
  TARGET_OPTIONS,
];

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
  onlyWith(context, 'wait', ['plugin', 'timeout', 'feedback-queue-url']);
  // Everything --wait needs is checked before publishing, so bad usage publishes nothing.
  const feedbackQueueUrl = wait ? queueUrlOption(context, 'feedback-queue-url', ENV.feedbackQueueUrl) : undefined;
  const timeoutMs = secondsOption(context, 'timeout', DEFAULT_WAIT_SECONDS);
  const plugins = listOption(context, 'plugin');
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
