import type { ChildProcess } from 'node:child_process';
import { BatchWriteItemCommand, CreateTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { lambdaContext } from '../../infra/local/lambda-shapes.ts';
import { createAwsClients } from '../../lib/aws/clients.ts';
import { createDatasync } from '../../lib/datasync.ts';
import type { FeedbackRecord } from '../../lib/feedback/record.ts';
import { createResyncHandler } from '../../lib/resync/handler.ts';
import type { ResyncRunResult } from '../../lib/resync/engine.ts';
import { stateTableDefinition } from '../../lib/state/table.ts';
import { SyncStateStore } from '../../lib/state/store.ts';
import { freePort, startPrivateEmulator, stopPrivateEmulator } from '../support/private-emulator.ts';
import { asFunction, bindTemplateResource } from '../support/iam/functions.ts';

// An emulator restart in the middle of a resync, on a private moto_server (the shared one on 4566
// serves other tests). moto keeps its state in memory, so the restart loses the tables: the
// resync cannot complete after it and must report failure — never a silent success.
describe('emulator restart during a resync', () => {
  let port: number;
  let moto: ChildProcess;

  beforeAll(async () => {
    port = await freePort();
    moto = await startPrivateEmulator(port);
  }, 60_000);

  afterAll(async () => {
    await stopPrivateEmulator(moto);
  });

  it('reports the resync as failed (or fails the invocation) instead of succeeding silently', async () => {
    const endpoint = `http://127.0.0.1:${port}`;
    const clients = createAwsClients({ endpoint, maxAttempts: 2 });
    const table = { name: 'restart-data', prefix: 'cfg', keyAttributes: ['id'] };
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: table.name,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await clients.dynamodb.send(new CreateTableCommand(stateTableDefinition('restart-state')));
    await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: 'restart-state' });
    bindTemplateResource('ConfigTable', 'restart-data');
    bindTemplateResource('StateTable', 'restart-state');
    for (let start = 0; start < 30; start += 25) {
      await clients.dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [table.name]: Array.from({ length: Math.min(25, 30 - start) }, (_, index) => ({
              PutRequest: { Item: { id: { S: `item${start + index}` }, n: { N: String(start + index) } } },
            })),
          },
        }),
      );
    }

    let pages = 0;
    let restarted = false;
    const feedback: FeedbackRecord[] = [];
    const datasync = createDatasync({
      plugins: [
        {
          name: 'viewer',
          prefixes: ['cfg'],
          change: () => {},
          async resync(snapshot) {
            for await (const page of snapshot.pages()) {
              void page;
              pages += 1;
              if (pages === 2) {
                await stopPrivateEmulator(moto);
                moto = await startPrivateEmulator(port);
                restarted = true;
              }
            }
          },
        },
      ],
    });
    const store = new SyncStateStore({ stateTable: 'restart-state', clients });
    const handler = asFunction(
      'resync',
      createResyncHandler(datasync, {
        tables: [table],
        store,
        clients,
        pageSize: 3,
        sink: { write: async (records) => void feedback.push(...records) },
      }),
    );
    let result: ResyncRunResult | undefined;
    let failure: unknown;
    try {
      result = (await handler(
        { datasync: 'resync', resyncId: 'r-restart', reason: 'manual' } as never,
        lambdaContext('resync', 60_000),
      )) as ResyncRunResult;
    } catch (error) {
      failure = error;
    }
    expect(restarted).toBe(true);
    // Either the invocation failed (the resync queue delivers it again) or the plugin's resync
    // was reported failed; in no case is it reported ok.
    const reportedOk = result?.plugins.some((plugin) => plugin.status === 'ok') ?? false;
    expect(reportedOk).toBe(false);
    expect(failure !== undefined || result!.plugins.every((plugin) => plugin.status === 'error' && plugin.error)).toBe(
      true,
    );
    expect(feedback.filter((record) => record.event === 'resync' && record.status === 'ok')).toEqual([]);
    // The retry (the queue's redelivery) cannot succeed either on an emulator that lost its tables.
    await expect(
      handler(
        { datasync: 'resync', resyncId: 'r-restart', reason: 'manual' } as never,
        lambdaContext('resync', 60_000),
      ),
    ).rejects.toThrow();
    expect(feedback.filter((record) => record.event === 'resync' && record.status === 'ok')).toEqual([]);
  }, 120_000);
});
