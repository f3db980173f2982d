import { createLogger } from '../../lib/observability/logger.ts';
import { createMetrics, METRICS_NAMESPACE } from '../../lib/observability/metrics.ts';

describe('structured logs', () => {
  it('writes one JSON object per line with fixed fields, errors with their code and cause', () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 'datasync' }, (line) => lines.push(line)).child({ fn: 'sqs' });
    const error = Object.assign(new Error('boom', { cause: new Error('root') }), { code: 'X' });
    logger.error('batch failed', { error, records: 3 });
    logger.debug('hidden at the default level');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      message: 'batch failed',
      service: 'datasync',
      fn: 'sqs',
      records: 3,
      error: { name: 'Error', message: 'boom', code: 'X', cause: { name: 'Error', message: 'root' } },
    });
  });
});

describe('embedded-format metrics', () => {
  it('writes collected values as one EMF line and nothing when empty', () => {
    const lines: string[] = [];
    const metrics = createMetrics({ Function: 'sqs' }, (line) => lines.push(line));
    metrics.flush();
    metrics.add('Changes', 'Count', 10);
    metrics.add('PluginDuration', 'Milliseconds', 5);
    metrics.add('PluginDuration', 'Milliseconds', 7);
    metrics.flush();
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [['Function']],
      Metrics: [
        { Name: 'Changes', Unit: 'Count' },
        { Name: 'PluginDuration', Unit: 'Milliseconds' },
      ],
    });
    expect(line).toMatchObject({ Function: 'sqs', Changes: 10, PluginDuration: [5, 7] });
  });
});
