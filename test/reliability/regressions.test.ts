import { planFor } from '../support/ledger.ts';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createAwsClients } from '../../lib/aws/clients.ts';
import type { SnapshotEntry } from '../../lib/plugins/plugin.ts';
import { runResync } from '../../lib/resync/engine.ts';
import { resyncRows } from '../../lib/resync/state-rows.ts';
import { DynamoDbLedger } from '../../lib/state/ledger.ts';
import { SyncStateStore } from '../../lib/state/store.ts';
import { runSchedule } from './support/run.ts';
import { createScheduleResources } from './support/resources.ts';
import type { Step } from './support/schedule.ts';

// Defects the randomized suite found, kept as fixed tests.
const clients = createAwsClients();

describe('reliability regressions', () => {
  // A change planned just before a resync began was delivered while the snapshot was read; the
  // snapshot then handed over the older scanned item and recorded its older revision, so the
  // plugin went back and the change's redelivery was applied again, and older changes after it.
  // The snapshot now reads such an item again and hands over its current form (every current
  // item is still handed over, so a plugin that replaces its state loses nothing).
  it('a resync reads again an item older than what the plugin already holds and hands over its current form', async () => {
    const resources = await createScheduleResources(clients);
    try {
      const store = new SyncStateStore({ stateTable: resources.stateTable, clients });
      for (const [id, version] of [
        ['a/one', '1'],
        ['a/two', '5'],
      ] as const) {
        await clients.dynamodb.send(
          new PutItemCommand({
            TableName: resources.table.name,
            Item: { id: { S: id }, n: { N: version }, version: { N: version } },
          }),
        );
      }
      // The plugin is in sync, so deliveries may be in flight as its resync begins.
      await resyncRows(store).finishResync('viewer', {
        resyncId: 'r-first',
        startedAt: Date.now(),
        items: 0,
        deleted: 0,
      });
      const seen: SnapshotEntry[] = [];
      await runResync(
        {
          plugins: () => [
            {
              name: 'viewer',
              prefixes: ['cfg'],
              change: () => {},
              async resync(snapshot) {
                for await (const page of snapshot.pages()) {
                  if (seen.length === 0) {
                    // While the first page is handled (the next one is already being fetched), a
                    // delivery planned before the resync applies revision 10 of the other key.
                    const other = page[0]!.key === 'cfg/a/one' ? 'a/two' : 'a/one';
                    await clients.dynamodb.send(
                      new PutItemCommand({
                        TableName: resources.table.name,
                        Item: { id: { S: other }, n: { N: '99' }, version: { N: '10' } },
                      }),
                    );
                    await store.writeKeys('viewer', [
                      { key: `cfg/${other}`, revision: '1100000000017454423099', version: '10', present: true },
                    ]);
                  }
                  seen.push(...page);
                }
              },
            },
          ],
        },
        { datasync: 'resync', resyncId: 'r-regression', reason: 'manual' },
        {
          tables: [resources.table],
          store,
          clients,
          pageSize: 1,
          sink: { write: async () => {} },
        },
      );
      const second = seen[1]!;
      expect(second).toMatchObject({ op: 'put', value: { n: 99 }, version: '10' });
      const { keys } = await store.heldKeys('viewer', [second.key]);
      expect(keys.get(second.key)).toMatchObject({ version: '10', present: true });
    } finally {
      await resources.remove();
    }
  });

  // A resync's deletion sweep dropped the plugin's tombstones (keys it saw deleted); a late
  // redelivery of a change older than the delete was then applied again and brought the key back.
  it('a resync keeps the tombstones that fence late redeliveries of older changes', async () => {
    const resources = await createScheduleResources(clients);
    try {
      const store = new SyncStateStore({ stateTable: resources.stateTable, clients });
      await store.writeKeys('viewer', [
        { key: 'cfg/b/gone', revision: '855', present: false },
        { key: 'other/x', revision: '3', present: true },
      ]);
      await runResync(
        {
          plugins: () => [
            {
              name: 'viewer',
              prefixes: ['cfg'],
              change: () => {},
              async resync(snapshot) {
                for await (const page of snapshot.pages()) void page;
              },
            },
          ],
        },
        { datasync: 'resync', resyncId: 'r-tombstone', reason: 'manual' },
        { tables: [resources.table], store, clients, sink: { write: async () => {} } },
      );
      const { keys } = await store.heldKeys('viewer', ['cfg/b/gone', 'other/x']);
      expect(keys.get('cfg/b/gone')).toMatchObject({ revision: '855', present: false });
      // A key outside the plugin's prefixes (it stopped watching it) is dropped.
      expect(keys.has('other/x')).toBe(false);
      const ledger = new DynamoDbLedger({ store });
      const late = await planFor(ledger, 'viewer', [
        {
          key: 'cfg/b/gone',
          op: 'put',
          value: { n: 1 },
          revision: '148',
          source: { type: 'sqs', name: 'q' },
          time: new Date().toISOString(),
        },
      ]);
      expect(late.deliver).toEqual([]);
    } finally {
      await resources.remove();
    }
  });

  // The schedules that found it (seed 99 and seed 372442929 of the model suite); timing decides
  // whether the race is hit, so they are replayed a few times.
  const schedules: Step[][] = [
    [
      { kind: 'publish', source: 'http', key: 2, op: 'put', value: 358 },
      { kind: 'publish', source: 'sqs', key: 0, op: 'put', value: 976 },
      { kind: 'aws-fault', fault: 'server-error', times: 5 },
      { kind: 'publish', source: 'sqs', key: 2, op: 'put', value: 668 },
      { kind: 'publish', source: 'dynamodb', key: 1, op: 'put', value: 4 },
      { kind: 'publish', source: 'dynamodb', key: 3, op: 'put', value: 585 },
      { kind: 'publish', source: 'sqs', key: 2, op: 'delete', value: 995 },
      { kind: 'deliver', source: 'eventbridge', max: 4, shuffle: true, duplicate: true, crash: false, seed: 542397462 },
      { kind: 'aws-fault', fault: 'server-error', times: 4 },
      { kind: 'publish', source: 'dynamodb', key: 3, op: 'put', value: 887 },
      { kind: 'deliver', source: 'stream', max: 3, shuffle: true, duplicate: false, crash: false, seed: 18 },
      { kind: 'plugin-fault', plugin: 0, fault: 'error', times: 3 },
      { kind: 'resync', plugin: 2, concurrent: true },
      { kind: 'deliver', source: 'sqs', max: 10, shuffle: false, duplicate: false, crash: false, seed: 17 },
      {
        kind: 'deliver',
        source: 'eventbridge',
        max: 2,
        shuffle: true,
        duplicate: false,
        crash: false,
        seed: 965586749,
      },
    ],
    [
      { kind: 'publish', source: 'sqs', key: 1, op: 'put', value: 229 },
      { kind: 'publish', source: 'sqs', key: 4, op: 'put', value: 1 },
      { kind: 'deliver', source: 'stream', max: 3, shuffle: true, duplicate: true, crash: true, seed: 1174583291 },
      { kind: 'plugin-fault', plugin: 0, fault: 'error', times: 1 },
      { kind: 'resync', plugin: 2, concurrent: true },
      { kind: 'publish', source: 'eventbridge', key: 1, op: 'put', value: 285 },
      { kind: 'publish', source: 'sqs', key: 1, op: 'put', value: 123 },
      { kind: 'publish', source: 'sqs', key: 1, op: 'delete', value: 889 },
      { kind: 'deliver', source: 'sqs', max: 10, shuffle: true, duplicate: false, crash: false, seed: 264252834 },
      { kind: 'deliver', source: 'stream', max: 10, shuffle: true, duplicate: false, crash: false, seed: 264252834 },
    ],
  ];
  // Seed 372588919: the sweep dropped a tombstone during a resync in the middle of traffic.
  schedules.push([
    { kind: 'publish', source: 'dynamodb', key: 3, op: 'put', value: 397 },
    { kind: 'deliver', source: 'stream', max: 9, shuffle: true, duplicate: true, crash: false, seed: 1 },
    { kind: 'publish', source: 'eventbridge', key: 3, op: 'delete', value: 718 },
    { kind: 'publish', source: 'http', key: 3, op: 'delete', value: 458 },
    { kind: 'deliver', source: 'eventbridge', max: 7, shuffle: true, duplicate: true, crash: true, seed: 1509260014 },
    { kind: 'deliver', source: 'eventbridge', max: 7, shuffle: true, duplicate: false, crash: false, seed: 2 },
    { kind: 'resync', concurrent: true },
    { kind: 'deliver', source: 'stream', max: 9, shuffle: true, duplicate: true, crash: false, seed: 284238282 },
    { kind: 'deliver', source: 'stream', max: 10, shuffle: false, duplicate: true, crash: true, seed: 2072263889 },
  ]);
  // Seed 390967039: a stream record whose three attempts all crashed before writing feedback was
  // dead-lettered with nothing to report it; the check now accepts that (the on-failure
  // destination holds it) and still requires error feedback when an attempt could write it.
  schedules.push([
    { kind: 'aws-fault', fault: 'server-error', times: 2 },
    { kind: 'deliver', source: 'stream', max: 8, shuffle: true, duplicate: true, crash: true, seed: 703142711 },
    { kind: 'publish', source: 'sqs', key: 4, op: 'put', value: 30 },
    { kind: 'deliver', source: 'eventbridge', max: 8, shuffle: false, duplicate: true, crash: false, seed: 1720669881 },
    { kind: 'resync', plugin: 2, concurrent: false },
    { kind: 'deliver', source: 'sqs', max: 7, shuffle: false, duplicate: true, crash: false, seed: 932472077 },
    { kind: 'aws-fault', fault: 'throttle', times: 1 },
    { kind: 'deliver', source: 'stream', max: 9, shuffle: true, duplicate: true, crash: true, seed: 457309306 },
    { kind: 'deliver', source: 'sqs', max: 8, shuffle: true, duplicate: true, crash: false, seed: 79798253 },
    { kind: 'publish', source: 'eventbridge', key: 4, op: 'delete', value: 639 },
    { kind: 'deliver', source: 'eventbridge', max: 8, shuffle: true, duplicate: false, crash: false, seed: 1513128753 },
    { kind: 'deliver', source: 'stream', max: 5, shuffle: true, duplicate: true, crash: true, seed: 501523265 },
    { kind: 'publish', source: 'eventbridge', key: 3, op: 'put', value: 577 },
    { kind: 'deliver', source: 'stream', max: 8, shuffle: false, duplicate: false, crash: true, seed: 1829986573 },
    { kind: 'publish', source: 'eventbridge', key: 3, op: 'put', value: 743 },
    { kind: 'deliver', source: 'stream', max: 3, shuffle: false, duplicate: false, crash: false, seed: 1429165419 },
    { kind: 'deliver', source: 'sqs', max: 7, shuffle: true, duplicate: false, crash: false, seed: 990893963 },
  ]);
  // Seed 392288437: a resync handed over a key older than a bus change the plugin had applied (the
  // table did not hold the change yet), and the change applied again from the table stream was
  // counted as a repeat; the check now counts repeats only since the last snapshot of the key.
  schedules.push([
    { kind: 'deliver', source: 'sqs', max: 10, shuffle: false, duplicate: true, crash: false, seed: 1116066076 },
    { kind: 'publish', source: 'sqs', key: 4, op: 'put', value: 581 },
    { kind: 'deliver', source: 'sqs', max: 4, shuffle: true, duplicate: false, crash: false, seed: 842666972 },
    { kind: 'deliver', source: 'stream', max: 3, shuffle: true, duplicate: true, crash: false, seed: 104516191 },
    { kind: 'publish', source: 'eventbridge', key: 2, op: 'put', value: 680 },
    { kind: 'deliver', source: 'eventbridge', max: 3, shuffle: true, duplicate: false, crash: false, seed: 2040418428 },
    { kind: 'deliver', source: 'stream', max: 5, shuffle: false, duplicate: false, crash: false, seed: 1590426759 },
    { kind: 'deliver', source: 'stream', max: 8, shuffle: true, duplicate: true, crash: true, seed: 456251326 },
    { kind: 'publish', source: 'dynamodb', key: 0, op: 'put', value: 772 },
    { kind: 'publish', source: 'eventbridge', key: 3, op: 'put', value: 369 },
    { kind: 'resync', plugin: 2, concurrent: true },
    { kind: 'publish', source: 'http', key: 4, op: 'delete', value: 676 },
    { kind: 'publish', source: 'sqs', key: 2, op: 'put', value: 805 },
    { kind: 'aws-fault', fault: 'throttle', times: 4 },
    { kind: 'deliver', source: 'sqs', max: 2, shuffle: true, duplicate: false, crash: false, seed: 598051717 },
  ]);
  // Seed 1012109414: an HTTP DELETE of a key the table did not hold left nothing behind, so a bus
  // put sent just before it, which the store wrote after it, brought the key back. The delete now
  // leaves its tombstone, and the check counts it as a write at that revision.
  schedules.push([
    { kind: 'publish', source: 'eventbridge', key: 0, op: 'put', value: 798 },
    { kind: 'publish', source: 'http', key: 0, op: 'delete', value: 41 },
    { kind: 'deliver', source: 'eventbridge', max: 10, shuffle: false, duplicate: true, crash: false, seed: 1 },
    { kind: 'deliver', source: 'stream', max: 10, shuffle: false, duplicate: false, crash: false, seed: 1 },
  ]);
  it.each(schedules.flatMap((steps, index) => [0, 1].map((round) => [index, round, steps] as const)))(
    'schedule %i (round %i) holds every invariant',
    async (_index, _round, steps) => {
      expect(await runSchedule(steps)).toEqual([]);
    },
    120_000,
  );

  // Random schedules seldom start two resyncs of one plugin at once, so this one does it on
  // purpose, under faults: three manual resyncs start together with a delivery, while AWS
  // throttles and a plugin fails. The plugins' leases keep them apart: the later ones wait and
  // continue after their delay, and every invariant still holds.
  const overlapping: Step[] = [
    { kind: 'publish', source: 'dynamodb', key: 0, op: 'put', value: 11 },
    { kind: 'publish', source: 'sqs', key: 3, op: 'put', value: 12 },
    { kind: 'publish', source: 'eventbridge', key: 1, op: 'put', value: 13 },
    { kind: 'resync', concurrent: true },
    { kind: 'resync', concurrent: true },
    { kind: 'resync', plugin: 1, concurrent: true },
    { kind: 'aws-fault', fault: 'throttle', times: 3 },
    { kind: 'plugin-fault', plugin: 1, fault: 'error', times: 1 },
    { kind: 'deliver', source: 'sqs', max: 10, shuffle: true, duplicate: true, crash: false, seed: 7 },
    { kind: 'publish', source: 'http', key: 0, op: 'delete', value: 14 },
    { kind: 'publish', source: 'dynamodb', key: 4, op: 'put', value: 15 },
    { kind: 'resync', concurrent: true },
    { kind: 'resync', plugin: 0, concurrent: true },
    { kind: 'deliver', source: 'stream', max: 10, shuffle: true, duplicate: true, crash: true, seed: 8 },
    { kind: 'deliver', source: 'eventbridge', max: 10, shuffle: true, duplicate: false, crash: false, seed: 9 },
  ];
  it('resyncs of the same plugins started together wait for each other and hold every invariant', async () => {
    let waits = 0;
    let resyncs = 0;
    expect(
      await runSchedule(overlapping, (counts) => {
        waits = counts.resyncWaits;
        resyncs = counts.resyncs;
      }),
    ).toEqual([]);
    // Three resyncs began at once on the first plugin; at most one of them can hold it.
    expect(waits).toBeGreaterThan(0);
    expect(resyncs).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
