import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import { awsClients } from '../../lib/aws/clients.ts';
import {
  createDatasync,
  createEventBridgeHandler,
  DatasyncError,
  toEnvelope,
  type Change,
  type DeadLetterMessage,
  type FeedbackRecord,
} from '../../lib/index.ts';
import { createQueue, receiveAll, receiveBodies, Resources, uniqueName } from '../support/emulator.ts';
import { lambdaContext } from '../support/lambda-events.ts';
import { createFeedbackQueues, quiet } from '../support/sinks.ts';
import { asFunction } from '../support/iam/functions.ts';

// The emulator is shared and the machine small: allow for slow answers under load.
jest.setTimeout(30_000);
const resources = new Resources();
afterAll(() => resources.dispose(), 30_000);
const noResync = () => {};
const SOURCE = 'acme.config';
const DETAIL_TYPE = 'ConfigChanged';

/** A bus whose rule sends every event of our source to a new queue. */
async function busToQueue() {
  const { eventbridge } = awsClients();
  const bus = uniqueName('ds-bus');
  const rule = uniqueName('ds-rule');
  await eventbridge.send(new CreateEventBusCommand({ Name: bus }));
  resources.add(() => eventbridge.send(new DeleteEventBusCommand({ Name: bus })));
  const queue = await createQueue(resources, { prefix: 'ds-events' });
  // The rule matches on source only, so events with a wrong detail-type reach the handler and are refused there.
  await eventbridge.send(
    new PutRuleCommand({ Name: rule, EventBusName: bus, EventPattern: JSON.stringify({ source: [SOURCE] }) }),
  );
  await eventbridge.send(
    new PutTargetsCommand({ Rule: rule, EventBusName: bus, Targets: [{ Id: 'queue', Arn: queue.arn }] }),
  );
  resources.add(async () => {
    await eventbridge.send(new RemoveTargetsCommand({ Rule: rule, EventBusName: bus, Ids: ['queue'] }));
    await eventbridge.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus }));
  });
  return { bus, queue };
}

describe('EventBridge source against the emulator', () => {
  it('delivers changes from bus events, refuses wrong detail-types and bad details, and throws so Lambda retries a plugin failure', async () => {
    const { bus, queue } = await busToQueue();
    const queues = await createFeedbackQueues(resources);
    const { eventbridge } = awsClients();
    const entry = (detailType: string, detail: unknown) => ({
      EventBusName: bus,
      Source: SOURCE,
      DetailType: detailType,
      Detail: JSON.stringify(detail),
    });
    const put = await eventbridge.send(
      new PutEventsCommand({
        Entries: [
          entry(
            DETAIL_TYPE,
            toEnvelope({
              key: 'config/interfaces/eth0',
              op: 'put',
              value: { mtu: 9000 },
              revision: 5,
              correlationId: 'c-eth0',
            }),
          ),
          entry('SomethingElse', toEnvelope({ key: 'config/interfaces/eth1', op: 'delete' })),
          entry(DETAIL_TYPE, { datasync: 1, key: 'config/interfaces/eth2', op: 'put' }),
          entry(DETAIL_TYPE, toEnvelope({ key: 'config/routes/r1', op: 'delete', revision: 2 })),
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    const events = (await receiveAll(queue.url, { count: 4 })).map(
      (message) => JSON.parse(message.Body!) as EventBridgeEvent<string, unknown>,
    );
    expect(events).toHaveLength(4);

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
          throw new Error('routes store offline');
        },
      },
      'config/routes',
    );
    const handler = asFunction(
      'eventbridge',
      createEventBridgeHandler(datasync, {
        source: SOURCE,
        detailType: DETAIL_TYPE,
        busName: bus,
        feedback: queues.feedback,
        deadLetter: queues.deadLetter,
        ...quiet,
      }),
    );
    const byKey = (key: string) => events.find((event) => (event.detail as { key?: string }).key === key)!;

    await expect(handler(byKey('config/interfaces/eth0'), lambdaContext())).resolves.toEqual({ status: 'ok' });
    expect(seen).toEqual([
      expect.objectContaining({
        key: 'config/interfaces/eth0',
        op: 'put',
        value: { mtu: 9000 },
        revision: '5',
        correlationId: 'c-eth0',
        source: { type: 'eventbridge', name: bus, id: byKey('config/interfaces/eth0').id },
      }),
    ]);
    await expect(handler(byKey('config/interfaces/eth1'), lambdaContext())).resolves.toEqual({ status: 'rejected' });
    await expect(handler(byKey('config/interfaces/eth2'), lambdaContext())).resolves.toEqual({ status: 'rejected' });
    const failure = handler(byKey('config/routes/r1'), lambdaContext());
    await expect(failure).rejects.toBeInstanceOf(DatasyncError);
    await expect(failure).rejects.toMatchObject({ code: 'PLUGIN_FAILED' });

    const feedback = await receiveBodies<FeedbackRecord>(queues.feedbackQueue.url, { count: 4 });
    expect(feedback.map((record) => `${record.event}:${record.status}`).sort()).toEqual([
      'change:error',
      'change:ok',
      'rejected:error',
      'rejected:error',
    ]);
    expect(feedback.find((record) => record.event === 'change' && record.status === 'ok')).toMatchObject({
      correlationId: 'c-eth0',
    });

    const dead = await receiveBodies<DeadLetterMessage>(queues.deadLetterQueue.url, { count: 2 });
    expect(dead.map((message) => message.reason.message).sort()).toEqual([
      'a put needs a value',
      'event detail-type must be "ConfigChanged", got "SomethingElse"',
    ]);
    expect(dead.map((message) => JSON.parse(message.raw).id).sort()).toEqual(
      [byKey('config/interfaces/eth1').id, byKey('config/interfaces/eth2').id].sort(),
    );
  });
});
