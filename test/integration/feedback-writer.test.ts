import { awsClients } from '../../lib/aws/clients.ts';
import {
  FEEDBACK_VERSION,
  FeedbackWriteError,
  SqsDeadLetterWriter,
  SqsFeedbackWriter,
  type ChangeFeedback,
  type DeadLetterMessage,
  type SqsBatchClient,
} from '../../lib/index.ts';
import { createQueue, receiveBodies, Resources } from '../support/emulator.ts';

// The emulator is shared and the machine small: allow for slow answers under load.
jest.setTimeout(30_000);
const resources = new Resources();
afterAll(() => resources.dispose(), 30_000);

const record = (plugin: string): ChangeFeedback => ({
  version: FEEDBACK_VERSION,
  event: 'change',
  plugin,
  status: 'ok',
  source: { type: 'local', name: 't' },
  changes: [{ key: 'config/a', op: 'put', revision: '1' }],
  time: new Date().toISOString(),
  durationMs: 0,
});

describe('SQS feedback and dead-letter writers against the emulator', () => {
  it('stores every record, ten per call', async () => {
    const queue = await createQueue(resources, { prefix: 'ds-writer' });
    let calls = 0;
    const { sqs } = awsClients();
    const counting: SqsBatchClient = {
      send: (command) => {
        calls += 1;
        return sqs.send(command);
      },
    };
    await new SqsFeedbackWriter({ sqs: counting, queueUrl: queue.url }).write(
      Array.from({ length: 23 }, (_, i) => record(`p${i}`)),
    );
    expect(calls).toBe(3);
    const stored = await receiveBodies<ChangeFeedback>(queue.url, { count: 23 });
    expect(stored.map((body) => body.plugin).sort()).toEqual(Array.from({ length: 23 }, (_, i) => `p${i}`).sort());
  });

  it('fails loudly when the queue cannot be written', async () => {
    const { sqs } = awsClients();
    const missing = `${(await createQueue(resources, { prefix: 'ds-writer' })).url}-missing`;
    const writer = new SqsFeedbackWriter({ sqs, queueUrl: missing, maxAttempts: 2, baseDelayMs: 1 });
    await expect(writer.write([record('p')])).rejects.toBeInstanceOf(FeedbackWriteError);
  });

  it('dead-letters a rejected input too large for one message with its raw text cut and marked', async () => {
    const queue = await createQueue(resources, { prefix: 'ds-dead' });
    const raw = `{"blob":"${'z'.repeat(300 * 1024)}"}`;
    await new SqsDeadLetterWriter({ sqs: awsClients().sqs, queueUrl: queue.url }).send([
      {
        source: { type: 'sqs', name: 'q', id: 'm1' },
        reason: { name: 'InvalidChangeError', code: 'INVALID_CHANGE', message: 'too big' },
        raw,
        time: new Date().toISOString(),
      },
    ]);
    const [message] = await receiveBodies<DeadLetterMessage>(queue.url, { count: 1 });
    expect(message).toMatchObject({
      event: 'rejected',
      source: { id: 'm1' },
      reason: { message: 'too big' },
      rawTruncated: { bytes: raw.length },
    });
    expect(raw.startsWith(message!.raw)).toBe(true);
    expect(message!.raw.length).toBeGreaterThan(200 * 1024);
  });
});
