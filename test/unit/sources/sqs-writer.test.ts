import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { chunkBodies } from '../../../lib/aws/sqs-batch.ts';
import { serializeFeedback } from '../../../lib/feedback/sqs-writer.ts';
import {
  FEEDBACK_VERSION,
  FeedbackWriteError,
  SqsFeedbackWriter,
  type ChangeFeedback,
  type SqsBatchClient,
} from '../../../lib/index.ts';

/** Answers SendMessageBatch like SQS would, failing chosen entries on chosen calls. */
class ScriptedSqs implements SqsBatchClient {
  readonly calls: Array<Array<{ Id: string; MessageBody: string }>> = [];
  readonly fail: (body: string, call: number) => 'ok' | 'retryable' | 'sender' | 'throw';
  constructor(fail: (body: string, call: number) => 'ok' | 'retryable' | 'sender' | 'throw' = () => 'ok') {
    this.fail = fail;
  }
  async send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> {
    const entries = command.input.Entries!.map((entry) => ({ Id: entry.Id!, MessageBody: entry.MessageBody! }));
    const call = this.calls.push(entries);
    if (entries.some((entry) => this.fail(entry.MessageBody, call) === 'throw')) throw new Error('connection reset');
    const verdicts = entries.map((entry) => ({ entry, verdict: this.fail(entry.MessageBody, call) }));
    return {
      $metadata: {},
      Successful: verdicts
        .filter((v) => v.verdict === 'ok')
        .map((v) => ({ Id: v.entry.Id, MessageId: 'x', MD5OfMessageBody: '' })),
      Failed: verdicts
        .filter((v) => v.verdict !== 'ok')
        .map((v) => ({ Id: v.entry.Id, Code: 'InternalError', SenderFault: v.verdict === 'sender' })),
    };
  }
}

const feedback = (plugin: string, changes = 1): ChangeFeedback => ({
  version: FEEDBACK_VERSION,
  event: 'change',
  plugin,
  status: 'ok',
  source: { type: 'local', name: 't' },
  changes: Array.from({ length: changes }, (_, i) => ({
    key: `config/k${i}/${'x'.repeat(200)}`,
    op: 'put' as const,
    revision: String(i),
  })),
  time: '2026-01-01T00:00:00.000Z',
  durationMs: 1,
});
const noWait = { sleep: async () => {}, random: () => 0.5 };

describe('SQS feedback writer', () => {
  it('chunks by ten entries and by 256 KiB', () => {
    expect(chunkBodies(Array.from({ length: 25 }, () => 'x')).map((chunk) => chunk.length)).toEqual([10, 10, 5]);
    const big = 'y'.repeat(100 * 1024);
    expect(chunkBodies([big, big, big, 'z'])).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('writes 25 records in three SendMessageBatch calls', async () => {
    const sqs = new ScriptedSqs();
    await new SqsFeedbackWriter({ sqs, queueUrl: 'q', ...noWait }).write(
      Array.from({ length: 25 }, (_, i) => feedback(`p${i}`)),
    );
    expect(sqs.calls.map((call) => call.length)).toEqual([10, 10, 5]);
    expect(sqs.calls.flat().map((entry) => JSON.parse(entry.MessageBody).plugin)).toEqual(
      Array.from({ length: 25 }, (_, i) => `p${i}`),
    );
  });

  it('resends only the entries that failed, backing off with jitter', async () => {
    const waits: number[] = [];
    const sqs = new ScriptedSqs((body, call) => (body.includes('"p3"') && call < 3 ? 'retryable' : 'ok'));
    await new SqsFeedbackWriter({
      sqs,
      queueUrl: 'q',
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
      baseDelayMs: 100,
    }).write([feedback('p1'), feedback('p2'), feedback('p3')]);
    expect(sqs.calls.map((call) => call.map((entry) => JSON.parse(entry.MessageBody).plugin))).toEqual([
      ['p1', 'p2', 'p3'],
      ['p3'],
      ['p3'],
    ]);
    expect(waits).toEqual([50, 100]);
  });

  it('leaves a call that threw to the SDK and fails the write naming how many records were lost and why', async () => {
    const sqs = new ScriptedSqs((body) => (body.includes('"p2"') ? 'throw' : 'ok'));
    const write = new SqsFeedbackWriter({ sqs, queueUrl: 'q', maxAttempts: 3, ...noWait }).write([
      feedback('p1'),
      feedback('p2'),
    ]);
    await expect(write).rejects.toThrow(FeedbackWriteError);
    await expect(
      new SqsFeedbackWriter({
        sqs: new ScriptedSqs((body) => (body.includes('"p2"') ? 'throw' : 'ok')),
        queueUrl: 'q',
        maxAttempts: 3,
        ...noWait,
      }).write([feedback('p1'), feedback('p2')]),
    ).rejects.toMatchObject({
      code: 'FEEDBACK_FAILED',
      unwritten: 2,
      message: '2 of 2 feedback record(s) could not be written: connection reset',
    });
    // The client's own retries (the SDK's) are under the call; the writer does not send it again.
    expect(sqs.calls).toHaveLength(1);
  });

  it("does not resend an entry SQS refused as the sender's fault", async () => {
    const sqs = new ScriptedSqs((body) => (body.includes('"p1"') ? 'sender' : 'ok'));
    await expect(
      new SqsFeedbackWriter({ sqs, queueUrl: 'q', ...noWait }).write([feedback('p1'), feedback('p2')]),
    ).rejects.toMatchObject({ unwritten: 1, details: { unwritten: 1, total: 2, queueUrl: 'q' } });
    expect(sqs.calls).toHaveLength(1);
  });

  it('splits a record listing too many changes for one message into numbered parts', () => {
    const record = feedback('big', 2_000);
    const parts = serializeFeedback(record).map((body) => JSON.parse(body));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((part) => Buffer.byteLength(JSON.stringify(part)) <= 256 * 1024)).toBe(true);
    expect(parts.map((part) => part.part)).toEqual(parts.map((_, index) => ({ index, count: parts.length })));
    expect(parts.flatMap((part) => part.changes)).toEqual(record.changes);
  });
});
