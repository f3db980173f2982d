// What an operator reads from a handler: Powertools JSON logs with the Lambda context and no
// payload values, and EMF metrics lines CloudWatch turns into the service's metrics.
import { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { HandlerTelemetry } from '../../lib/lambda/telemetry.ts';
import { METRICS_NAMESPACE } from '../../lib/observability/metrics.ts';
import { DEFAULT_EVENT_DETAIL_TYPE, DEFAULT_EVENT_SOURCE } from '../../lib/model/envelope.ts';
import { createDatasync, createEventBridgeHandler, createSqsHandler, toEnvelope } from '../../lib/index.ts';
import { lambdaContext } from '../support/lambda-events.ts';
import { MemoryDeadLetter, MemorySink } from '../support/sinks.ts';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:changes';
const SECRET = 'value-that-must-not-be-logged';

/** Every line the handlers write to standard output while `work` runs, parsed. */
async function output(work: () => Promise<unknown>): Promise<Array<Record<string, any>>> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    await work();
  } finally {
    process.stdout.write = write;
  }
  return lines.map((line) => JSON.parse(line) as Record<string, any>);
}

/** The EMF lines among `lines`, as { dimension values, metric name: value }. */
function metricLines(lines: Array<Record<string, any>>) {
  return lines
    .filter((line) => line._aws)
    .map((line) => {
      const [directive] = line._aws.CloudWatchMetrics;
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      const names: string[] = directive.Metrics.map((metric: { Name: string }) => metric.Name);
      return {
        dimensions: Object.fromEntries(directive.Dimensions[0].map((name: string) => [name, line[name]])),
        values: Object.fromEntries(names.map((name) => [name, line[name]])),
        units: Object.fromEntries(
          directive.Metrics.map((metric: { Name: string; Unit: string }) => [metric.Name, metric.Unit]),
        ),
      };
    });
}

function sqsRecord(id: string, body: string, sentAt: number): SQSRecord {
  return {
    messageId: id,
    receiptHandle: id,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentAt),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

const saved = { ...process.env };
beforeEach(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  // As Lambda sets it for on-demand functions; Powertools reports a cold start only then.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  delete process.env.POWERTOOLS_SERVICE_NAME;
  delete process.env.POWERTOOLS_METRICS_NAMESPACE;
  delete process.env.POWERTOOLS_LOG_LEVEL;
  delete process.env.AWS_LAMBDA_LOG_LEVEL;
});
afterAll(() => {
  process.env = saved;
});

describe('handler metrics', () => {
  it('count per plugin what was delivered, skipped, failed and timed out, and per function what came in', async () => {
    const datasync = createDatasync();
    let calls = 0;
    datasync.watch(
      'store',
      {
        resync: () => {},
        change: () => {
          calls += 1;
        },
      },
      'config',
    );
    datasync.watch(
      'routes',
      {
        resync: () => {},
        change: () => {
          throw new Error('route table full');
        },
      },
      'config/routes',
    );
    datasync.watch(
      'interfaces',
      { resync: () => {}, change: () => new Promise(() => {}), timeoutMs: 20 },
      'config/interfaces',
    );
    const handler = createSqsHandler(datasync, {
      feedback: new MemorySink(),
      deadLetter: new MemoryDeadLetter(),
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    const sentAt = Date.now() - 5_000;
    const change = (key: string, revision: number) =>
      JSON.stringify(toEnvelope({ key, op: 'put', value: { secret: SECRET }, revision }));
    const event: SQSEvent = {
      Records: [
        sqsRecord('m1', change('config/routes/r1', 1), sentAt),
        sqsRecord('m2', change('config/interfaces/eth0', 1), sentAt + 1_000),
        sqsRecord('m3', change('config/other', 1), sentAt + 2_000),
        sqsRecord('m4', '{"not":"an envelope"}', sentAt + 3_000),
      ],
    };

    const lines = await output(() => handler(event, lambdaContext()));
    const metrics = metricLines(lines);
    const byPlugin = (plugin: string) => metrics.find((line) => line.dimensions.plugin === plugin)?.values;
    expect(byPlugin('store')).toEqual({ ChangesDelivered: 3 });
    expect(byPlugin('routes')).toEqual({ PluginErrors: 1 });
    expect(byPlugin('interfaces')).toEqual({ PluginTimeouts: 1 });
    const functionLine = metrics.find((line) => 'RecordsReceived' in line.values);
    expect(functionLine?.dimensions).toEqual({ service: 'serverless-datasync', handler: 'sqs' });
    expect(functionLine?.values).toMatchObject({ RecordsReceived: 4, ChangesRejected: 1 });
    // The oldest message was sent five seconds before the invocation.
    expect(functionLine?.values.RecordAge).toBeGreaterThanOrEqual(5_000);
    expect(functionLine?.values.RecordAge).toBeLessThan(60_000);
    expect(functionLine?.units.RecordAge).toBe('Milliseconds');
    // The first invocation of a handler is its cold start.
    expect(metrics.find((line) => 'ColdStart' in line.values)?.dimensions).toMatchObject({
      service: 'serverless-datasync',
      function_name: 'test',
    });
    expect(calls).toBe(1);

    // A redelivered message: no second cold start, and the change the plugin holds is skipped.
    const again = metricLines(await output(() => handler({ Records: [event.Records[2]!] }, lambdaContext())));
    expect(again.some((line) => 'ColdStart' in line.values)).toBe(false);
    expect(again.find((line) => line.dimensions.plugin === 'store')?.values).toEqual({ ChangesSkipped: 1 });
  });

  it('count a resync per plugin: items, deletions and duration', async () => {
    const telemetry = new HandlerTelemetry('resync', new Logger({ logLevel: 'SILENT' }));
    const sink = telemetry.meter(new MemorySink());
    await sink.write([
      {
        version: 1,
        event: 'resync',
        plugin: 'store',
        resyncId: 'r1',
        status: 'ok',
        items: 1200,
        deleted: 3,
        time: new Date().toISOString(),
        durationMs: 4_500,
      },
    ]);
    const [line] = metricLines(await output(async () => telemetry.publish()));
    expect(line).toEqual({
      dimensions: { service: 'serverless-datasync', plugin: 'store' },
      values: { ResyncItems: 1200, ResyncDeleted: 3, ResyncDuration: 4_500 },
      units: { ResyncItems: 'Count', ResyncDeleted: 'Count', ResyncDuration: 'Milliseconds' },
    });
  });

  it('follow the Powertools variables for namespace, service and switching them off', async () => {
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'Custom';
    process.env.POWERTOOLS_SERVICE_NAME = 'sync-prod';
    const telemetry = new HandlerTelemetry('sqs', new Logger({ logLevel: 'SILENT' }));
    await telemetry.meter(new MemorySink()).write([]);
    telemetry.metrics.addMetric('RecordsReceived', 'Count', 1);
    const [line] = await output(async () => telemetry.publish());
    expect(line!._aws.CloudWatchMetrics[0].Namespace).toBe('Custom');
    expect(line!.service).toBe('sync-prod');

    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const off = new HandlerTelemetry('sqs', new Logger({ logLevel: 'SILENT' }));
    off.metrics.addMetric('RecordsReceived', 'Count', 1);
    expect(await output(async () => off.publish())).toEqual([]);
  });
});

describe('handler logs', () => {
  it('carry the Lambda context and the correlation id, never a payload value', async () => {
    const datasync = createDatasync();
    datasync.watch('store', { resync: () => {}, change: () => {} }, 'config');
    const handler = createEventBridgeHandler(datasync, {
      feedback: new MemorySink(),
      deadLetter: new MemoryDeadLetter(),
    });
    const envelope = toEnvelope({
      key: 'config/a',
      op: 'put',
      value: { secret: SECRET },
      revision: 1,
      correlationId: 'req-42',
    });
    const event = {
      id: 'e1',
      source: DEFAULT_EVENT_SOURCE,
      'detail-type': DEFAULT_EVENT_DETAIL_TYPE,
      time: new Date().toISOString(),
      detail: envelope,
    } as unknown as EventBridgeEvent<string, unknown>;

    const lines = await output(() => handler(event, lambdaContext()));
    const logs = lines.filter((line) => !line._aws);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'batch delivered',
        service: 'serverless-datasync',
        function_name: 'test',
        function_request_id: expect.any(String),
        cold_start: true,
        correlation_id: 'req-42',
        records: 1,
        changes: 1,
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('follow POWERTOOLS_LOG_LEVEL and AWS_LAMBDA_LOG_LEVEL', async () => {
    const datasync = createDatasync();
    const quietHandler = (variable: string, level: string) => {
      process.env[variable] = level;
      return createSqsHandler(datasync, { feedback: new MemorySink(), deadLetter: new MemoryDeadLetter() });
    };
    const logs = async (handler: ReturnType<typeof createSqsHandler>) =>
      (await output(() => handler({ Records: [] }, lambdaContext()))).filter((line) => !line._aws);
    expect(await logs(quietHandler('POWERTOOLS_LOG_LEVEL', 'WARN'))).toEqual([]);
    delete process.env.POWERTOOLS_LOG_LEVEL;
    expect(await logs(quietHandler('AWS_LAMBDA_LOG_LEVEL', 'ERROR'))).toEqual([]);
    delete process.env.AWS_LAMBDA_LOG_LEVEL;
    expect(await logs(quietHandler('POWERTOOLS_LOG_LEVEL', 'INFO'))).toHaveLength(1);
  });
});
