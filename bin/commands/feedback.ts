import { EXIT, queueUrlOption, UsageError, type CliCommand } from '../../lib/cli/command.ts';
import { feedbackHeader, feedbackRow } from '../../lib/cli/output.ts';
import { ENV } from '../../lib/config.ts';
import { createFeedbackReader } from '../../lib/feedback/reader.ts';

/** `datasync feedback`: follow the feedback queue as a table (or JSON lines). */
const feedback: CliCommand = {
  name: 'feedback',
  summary: 'Show the feedback the plugins write, as it arrives (deleting what it shows).',
  usage: 'feedback [--once] [options]',
  options: [{ title: 'Options', options: ['once', 'feedback-queue-url'] }],
  notes: `With --json, each record is printed as one JSON line. Messages that are not feedback records are
reported on stderr and left on the queue (its dead-letter queue gets them).`,
  async run(context) {
    if (context.positionals.length > 0) throw new UsageError(`unexpected argument "${context.positionals[0]}"`);
    const queueUrl = queueUrlOption(context, 'feedback-queue-url', ENV.feedbackQueueUrl);
    const reader = createFeedbackReader({ queueUrl, clients: context.clients() });
    let malformed = 0;
    if (!context.json) context.out(feedbackHeader());
    for await (const record of reader.stream({
      signal: context.signal,
      untilEmpty: context.values.once === true,
      onMalformed: (bad) => {
        malformed += 1;
        context.err(`message ${bad.messageId} is not a feedback record (left on the queue): ${bad.error.message}`);
      },
    })) {
      context.out(context.json ? JSON.stringify(record) : feedbackRow(record));
    }
    return malformed > 0 ? EXIT.failure : EXIT.ok;
  },
};

export default feedback;
