/**
 * CloudWatch metrics in the embedded metric format: a log line CloudWatch turns into metrics with
 * no API call on the hot path. One line per flush carries every value collected since.
 */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds';

/** Collects metric values and writes them as one EMF line. */
export interface Metrics {
  add(name: string, unit: MetricUnit, value: number): void;
  /** Writes what was collected (nothing when empty) and starts over. */
  flush(): void;
}

/** Namespace of every metric the service emits. */
export const METRICS_NAMESPACE = 'ServerlessDatasync';

/** Creates a metrics collector with fixed dimensions (e.g. `{ Function: 'sqs' }`). */
export function createMetrics(
  dimensions: Record<string, string>,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Metrics {
  let values = new Map<string, { unit: MetricUnit; values: number[] }>();
  return {
    add(name, unit, value) {
      const entry = values.get(name) ?? { unit, values: [] };
      entry.values.push(value);
      values.set(name, entry);
    },
    flush() {
      if (values.size === 0 || process.env.DATASYNC_SILENT === '1') {
        values = new Map();
        return;
      }
      const line: Record<string, unknown> = {
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [Object.keys(dimensions)],
              Metrics: [...values].map(([name, { unit }]) => ({ Name: name, Unit: unit })),
            },
          ],
        },
        ...dimensions,
      };
      for (const [name, entry] of values) line[name] = entry.values.length === 1 ? entry.values[0] : entry.values;
      write(JSON.stringify(line));
      values = new Map();
    },
  };
}
