import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  createDatasync,
  createResyncHandler,
  SqsFeedbackWriter,
  SyncStateStore,
  type FeedbackRecord,
  type PluginState,
  type ResyncFeedback,
  type TableConfig,
} from '../../lib/index.ts';
import { resyncRows } from '../../lib/resync/state-rows.ts';
import { runDatasync } from '../support/cli.ts';
import { toLambdaSqsRecords } from '../support/lambda-events.ts';
import { recordingPlugin } from '../support/plugins.ts';
import {
  createQueue,
  createStateTable,
  createTable,
  drainQueue,
  putItems,
  Resources,
  testClients,
} from '../support/emulator.ts';
import { asFunction } from '../support/iam/functions.ts';

// Each run starts Node and loads the SDK; the followed resyncs run for a few seconds.
jest.setTimeout(60_000);
const clients = testClients();
const resources = new Resources(clients);
afterAll(() => resources.dispose());

const stateTable = (): Promise<string> => createStateTable(resources);
const queue = async (prefix: 'resync' | 'feedback'): Promise<string> =>
  (
    await createQueue(resources, {
      prefix: `ds-${prefix}`,
      standsFor: prefix === 'resync' ? 'ResyncQueue' : 'FeedbackQueue',
    })
  ).url;
const itemTable = async (): Promise<string> => (await createTable(resources, { stream: false })).name;

/** Waits for the request the CLI sends to the resync queue. */
async function nextRequest(queueUrl: string): Promise<Message[]> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const messages = await drainQueue(clients, queueUrl);
    if (messages.length > 0) return messages;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no resync request arrived');
}

function sqsEvent(messages: readonly Message[], queueUrl: string): SQSEvent {
  return { Records: toLambdaSqsRecords(messages, `arn:aws:sqs:us-east-1:123456789012:${queueUrl.split('/').pop()}`) };
}

const lambdaContext = {
  functionName: 'resync',
  awsRequestId: 'req',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/**
 * The deployed path in miniature: a state table, resync and feedback queues, a table of six
 * items, and the real resync handler (with the real SQS feedback writer) for two plugins whose
 * pages take a moment, so a follower sees the run progress.
 */
async function service(options: { failing?: string } = {}) {
  const [state, resyncQueue, feedbackQueue, items] = await Promise.all([
    stateTable(),
    queue('resync'),
    queue('feedback'),
    itemTable(),
  ]);
  await putItems(
    clients,
    items,
    Array.from({ length: 6 }, (_, index) => ({ pk: { S: `k/${index}` }, n: { N: String(index) } })),
  );
  const table: TableConfig = { name: items, prefix: 'config', keyAttributes: ['pk'] };
  const slowPages = (name: string) =>
    recordingPlugin(name, ['config/k'], [], {
      onPage: async (_page, index) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        if (name === options.failing && index === 1) throw new Error('backend down');
      },
    });
  const datasync = createDatasync({ plugins: [slowPages('alpha'), slowPages('beta')] });
  const handler = asFunction(
    'resync',
    createResyncHandler(datasync, {
      sink: new SqsFeedbackWriter({ sqs: clients.sqs, queueUrl: feedbackQueue }),
      store: new SyncStateStore({ stateTable: state, clients }),
      clients,
      tables: [table],
      resyncQueueUrl: resyncQueue,
      pageSize: 2,
    }),
  );
  /** Takes the next request off the resync queue and runs it, as the resync function would. */
  const runNextRequest = async () => {
    const response = (await handler(
      sqsEvent(await nextRequest(resyncQueue), resyncQueue),
      lambdaContext,
    )) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([]);
  };
  return { state, resyncQueue, feedbackQueue, runNextRequest };
}

describe('datasync status', () => {
  it('lists every plugin in the state table, and says so when there is none', async () => {
    const table = await stateTable();
    const empty = await runDatasync(['status', '--state-table', table]);
    expect(empty).toMatchObject({ code: 0, stdout: expect.stringContaining(`no plugin has a sync state in ${table}`) });
    expect(JSON.parse((await runDatasync(['status', '--json'], { DATASYNC_STATE_TABLE: table })).stdout)).toEqual({
      ok: true,
      stateTable: table,
      plugins: [],
    });

    const store = new SyncStateStore({ stateTable: table, clients });
    await resyncRows(store).finishResync('routes', {
      resyncId: 'r-1',
      startedAt: Date.parse('2026-01-02T03:04:05Z'),
      items: 12,
      deleted: 1,
    });
    await resyncRows(store).failResync('interfaces', 'r-2', {
      name: 'PluginFailedError',
      code: 'PLUGIN_FAILED',
      message: 'backend down',
    });
    await store.addFailure('interfaces', { name: 'PluginFailedError', code: 'PLUGIN_FAILED', message: 'backend down' });
    await resyncRows(store).saveCursor('addresses', {
      resyncId: 'r-3',
      part: 2,
      startedAt: Date.now(),
      items: 5,
      deleted: 0,
      invalid: 0,
      phase: 'items',
      table: 0,
      segments: [],
      estimatedItems: 20,
    });

    const text = await runDatasync(['status'], { DATASYNC_STATE_TABLE: table });
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PLUGIN\s+STATUS\s+LAST RESYNC\s+WHEN\s+ITEMS\s+FAILURES\s+LAST ERROR$/);
    expect(lines[1]).toMatch(/^[─ ]+$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^addresses\s+resyncing\s+r-3\s+\S+Z\s+5 of ~20\s+0\s+-$/),
      expect.stringMatching(/^interfaces\s+out-of-sync\s+r-2\s+\S+Z\s+0\s+1\s+PLUGIN_FAILED: backend down$/),
      expect.stringMatching(/^routes\s+in-sync\s+r-1\s+\S+Z\s+12\s+0\s+-$/),
    ]);

    const json = await runDatasync(['status', '--json', '--state-table', table, '--plugin', 'routes,never']);
    const plugins = JSON.parse(json.stdout).plugins as PluginState[];
    expect(plugins).toEqual([
      expect.objectContaining({
        plugin: 'routes',
        status: 'in-sync',
        resyncId: 'r-1',
        items: 12,
        deleted: 1,
        failures: 0,
      }),
      { plugin: 'never', status: 'never-synced', items: 0, deleted: 0, failures: 0 },
    ]);
  });

  it('exits 2 without a state table and 1 when the table cannot be read', async () => {
    const usage = await runDatasync(['status']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('DATASYNC_STATE_TABLE');
    const missing = await runDatasync(['status', '--state-table', 'no-such-table-for-datasync', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'STATE_FAILED' });
  });
});

describe('datasync resync', () => {
  it('sends a manual request for the named plugins and prints its id', async () => {
    const resyncQueue = await queue('resync');
    const text = await runDatasync(['resync', '--plugin', 'alpha', '--plugin', 'beta'], {
      DATASYNC_RESYNC_QUEUE_URL: resyncQueue,
    });
    expect(text.code).toBe(0);
    const id = /^resync (\S+) requested for alpha, beta$/.exec(text.stdout.trim())?.[1];
    expect(id).toBeDefined();
    const json = await runDatasync(['resync', '--json', '--resync-queue-url', resyncQueue]);
    const printed = JSON.parse(json.stdout) as { ok: boolean; resyncId: string };
    expect(printed.ok).toBe(true);

    const bodies = (await drainQueue(clients, resyncQueue)).map((message) => JSON.parse(message.Body!));
    expect(bodies).toEqual(
      expect.arrayContaining([
        {
          datasync: 'resync',
          resyncId: id,
          reason: 'manual',
          plugins: ['alpha', 'beta'],
          requestedAt: expect.any(String),
        },
        { datasync: 'resync', resyncId: printed.resyncId, reason: 'manual', requestedAt: expect.any(String) },
      ]),
    );
    expect(bodies).toHaveLength(2);

    expect((await runDatasync(['resync'])).code).toBe(2);
    expect((await runDatasync(['resync', '--resync-queue-url', resyncQueue, '--timeout', '5'])).code).toBe(2);
    // --wait without a state table is refused before anything is sent.
    expect((await runDatasync(['resync', '--resync-queue-url', resyncQueue, '--wait'])).code).toBe(2);
    expect(await drainQueue(clients, resyncQueue)).toEqual([]);
  });

  it('follows a run of every plugin to the end, printing progress in registration order', async () => {
    const { state, resyncQueue, feedbackQueue, runNextRequest } = await service();
    const cli = runDatasync(['resync', '--wait', '--interval', '0.2', '--timeout', '45'], {
      DATASYNC_RESYNC_QUEUE_URL: resyncQueue,
      DATASYNC_STATE_TABLE: state,
    });
    await runNextRequest();
    const result = await cli;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const id = /^resync (\S+) requested for every plugin$/.exec(lines[0]!)?.[1];
    expect(id).toBeDefined();
    // Progress while alpha's pages were handed over, then each plugin's end, alpha first.
    expect(lines).toContainEqual(expect.stringMatching(/^alpha\s+\[[#-]{24}\]\s+resyncing: [24](?: of ~\d+)? items$/));
    const ends = lines.filter((line) => /\bok: /.test(line));
    expect(ends).toEqual([
      expect.stringMatching(/^alpha\s+\[#{24}\]\s+ok: 6 items, 0 deleted$/),
      expect.stringMatching(/^beta\s+\[#{24}\]\s+ok: 6 items, 0 deleted$/),
    ]);
    expect(lines.at(-1)).toBe(`resync ${id}: all 2 plugin(s) ok`);

    // The same run reported through the real feedback writer.
    const feedback = (await drainQueue(clients, feedbackQueue)).map(
      (message) => JSON.parse(message.Body!) as FeedbackRecord,
    );
    expect(
      feedback.map((record) => [
        (record as ResyncFeedback).plugin,
        record.status,
        (record as ResyncFeedback).resyncId,
        (record as ResyncFeedback).items,
      ]),
    ).toEqual([
      ['alpha', 'ok', id, 6],
      ['beta', 'ok', id, 6],
    ]);
  });

  it("exits 1 with the failed plugin when one plugin's resync fails (JSON)", async () => {
    const { state, resyncQueue, runNextRequest } = await service({ failing: 'beta' });
    const cli = runDatasync([
      'resync',
      '--wait',
      '--json',
      '--plugin',
      'beta,alpha',
      '--interval',
      '0.2',
      '--state-table',
      state,
      '--resync-queue-url',
      resyncQueue,
    ]);
    await runNextRequest();
    const result = await cli;
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({ ok: false, request: { plugins: ['beta', 'alpha'] } });
    // Registration order, whatever order the request named them in.
    expect(output.plugins).toEqual([
      { plugin: 'alpha', phase: 'ok', items: 6, deleted: 0 },
      expect.objectContaining({
        plugin: 'beta',
        phase: 'failed',
        items: expect.any(Number),
        error: expect.objectContaining({ code: 'PLUGIN_FAILED' }),
      }),
    ]);
  });

  it('gives up after --timeout on a run that never begins, and says so', async () => {
    const [state, resyncQueue] = await Promise.all([stateTable(), queue('resync')]);
    const started = Date.now();
    const result = await runDatasync(['resync', '--wait', '--timeout', '1', '--interval', '0.2', '--plugin', 'alpha'], {
      DATASYNC_RESYNC_QUEUE_URL: resyncQueue,
      DATASYNC_STATE_TABLE: state,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/resync \S+ did not end within 1 s: no plugin began its resync .*\[RESYNC_TIMEOUT\]/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await drainQueue(clients, resyncQueue)).toHaveLength(1);

    const json = await runDatasync([
      'resync',
      '--wait',
      '--timeout',
      '1',
      '--json',
      '--state-table',
      state,
      '--resync-queue-url',
      resyncQueue,
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      plugins: [],
      error: { code: 'RESYNC_TIMEOUT', details: { started: false } },
    });
  });
});
