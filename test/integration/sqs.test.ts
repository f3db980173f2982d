import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { awsClients } from '../../lib/aws/clients.ts';
import {
  createDatasync,
  createSqsHandler,
  toEnvelope,
  type Change,
  type DeadLetterMessage,
  type FeedbackRecord,
} from '../../lib/index.ts';
import { createQueue, receiveAll, receiveBodies, Resources, settleLikeLambda } from '../support/emulator.ts';
import { lambdaContext, toLambdaSqsRecords } from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';
import { asFunction } from '../support/iam/functions.ts';

// The emulator is shared and the machine small: allow for slow answers under load.
jest.setTimeout(30_000);
const resources = new Resources();
afterAll(() => resources.dispose(), 30_000);
const noResync = () => {};
const body = (key: string, value: unknown, revision?: number) =>
  JSON.stringify(toEnvelope({ key, op: 'put', value: value as never, ...(revision ? { revision } : {}) }));

describe('SQS source against the emulator', () => {
  it('standard queue: reports only failed messages, dead-letters bad input with its reason, feeds back every result', async () => {
    const source = await createQueue(resources, { prefix: 'ds-changes' });
    const queues = await createFeedbackQueues(resources);
    const { sqs } = awsClients();
    const bodies = [
      body('config/interfaces/eth0', { mtu: 9000 }, 1),
      'not json at all',
      '{"datasync":1,"key":"config/__proto__/polluted","op":"put","value":1}',
      body('config/routes/r1', { via: 'eth0' }, 1),
      '{"datasync":1,"key":"config/interfaces/eth2","op":"rename"}',
    ];
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: source.url,
        Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
      }),
    );
    const messages = await receiveAll(source.url, { count: bodies.length });
    expect(messages).toHaveLength(bodies.length);

    const seen: Change[] = [];
    const datasync = createDatasync();
    datasync.watch(
      'interfaces',
      { resync: noResync, change: (changes) => void seen.push(...changes) },
      'config/interfaces',
    );
    datasync.watch(
      'routes',
      {
        resync: noResync,
        change: () => {
          throw new Error('no such interface');
        },
      },
      'config/routes',
    );
    const handler = asFunction(
      'sqs',
      createSqsHandler(datasync, { feedback: queues.feedback, deadLetter: queues.deadLetter, ...quiet }),
    );
    const response = await handler({ Records: toLambdaSqsRecords(messages, source.arn) }, lambdaContext());

    const routeMessage = messages.find((message) => message.Body!.includes('config/routes/r1'))!;
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: routeMessage.MessageId }] });
    expect(seen.map((change) => change.key)).toEqual(['config/interfaces/eth0']);

    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 5 });
    expect(
      feedback
        .filter((record) => record.event === 'change')
        .map((record) => [(record as { plugin: string }).plugin, record.status])
        .sort(),
    ).toEqual([
      ['interfaces', 'ok'],
      ['routes', 'error'],
    ]);
    const rejected = feedback.filter((record) => record.event === 'rejected');
    expect(rejected.map((record) => record.error!.message).sort()).toEqual([
      expect.stringMatching(/^key: invalid key: reserved segment "__proto__"/),
      expect.stringMatching(/^message body is not JSON/),
      expect.stringMatching(/^op must be "put" or "delete", got "rename"/),
    ]);
    expect(rejected.find((record) => record.error!.message.startsWith('op'))).toMatchObject({
      key: 'config/interfaces/eth2',
    });

    const dead = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 3 });
    expect(dead.map((message) => message.raw).sort()).toEqual([bodies[2], bodies[4], bodies[1]].sort());
    expect(dead.every((message) => message.source.type === 'sqs' && message.reason.code === 'INVALID_CHANGE')).toBe(
      true,
    );
  });

  it('FIFO queue: a failure holds back the rest of its group, other groups go on, and repeated failures end in the redrive queue', async () => {
    const source = await createQueue(resources, { fifo: true, maxReceiveCount: 2, prefix: 'ds-fifo' });
    const queues = await createFeedbackQueues(resources);
    const { sqs } = awsClients();
    const send = (group: string, key: string, revision: number) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: source.url,
          MessageGroupId: group,
          MessageBody: body(key, { revision }, revision),
        }),
      );
    await send('routes', 'config/routes/r1', 1);
    await send('ifaces', 'config/interfaces/eth0', 1);
    await send('routes', 'config/routes/r2', 2);
    await send('ifaces', 'config/interfaces/eth0', 2);

    const applied: string[] = [];
    const datasync = createDatasync();
    datasync.watch(
      'interfaces',
      { resync: noResync, change: (changes) => void applied.push(...changes.map((c) => `${c.key}@${c.revision}`)) },
      'config/interfaces',
    );
    datasync.watch(
      'routes',
      {
        resync: noResync,
        change: (changes) => {
          if (changes.some((change) => change.key === 'config/routes/r1'))
            throw new Error('r1 refers to a missing interface');
          applied.push(...changes.map((c) => `${c.key}@${c.revision}`));
        },
      },
      'config/routes',
    );
    const handler = asFunction(
      'sqs',
      createSqsHandler(datasync, { feedback: queues.feedback, deadLetter: queues.deadLetter, ...quiet }),
    );

    const delivered: string[][] = [];
    for (let round = 0; round < 3; round += 1) {
      const messages = await receiveAll(source.url, { idleMs: 200 });
      if (messages.length === 0) break;
      const response = await handler({ Records: toLambdaSqsRecords(messages, source.arn) }, lambdaContext());
      const keys = (ids: string[]) => ids.map((id) => JSON.parse(messages.find((m) => m.MessageId === id)!.Body!).key);
      delivered.push(keys(response.batchItemFailures.map((failure) => failure.itemIdentifier)));
      await settleLikeLambda(source.url, messages, response);
    }
    // Both routes messages are reported each time (r2 waits behind r1 in its group); the ifaces group is applied in order.
    expect(delivered).toEqual([
      ['config/routes/r1', 'config/routes/r2'],
      ['config/routes/r1', 'config/routes/r2'],
    ]);
    expect(applied).toEqual(['config/interfaces/eth0@1', 'config/interfaces/eth0@2']);
    const redriven = await receiveAll(source.dlq!.url, { count: 2 });
    expect(redriven.map((message) => JSON.parse(message.Body!).key)).toEqual(['config/routes/r1', 'config/routes/r2']);
  });
});
