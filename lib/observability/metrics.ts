import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { SERVICE_NAME } from './logger.ts';

/** Namespace of every metric the service emits, unless `POWERTOOLS_METRICS_NAMESPACE` sets another. */
export const METRICS_NAMESPACE = 'ServerlessDatasync';

/**
 * The service's metrics, in the embedded metric format (a log line CloudWatch turns into metrics,
 * no API call on the hot path). Function metrics carry the dimensions `service` and `handler`;
 * plugin metrics `service` and `plugin`.
 */
export const METRIC = {
  /** Records in the invocation's event (function). */
  recordsReceived: 'RecordsReceived',
  /**
   * Age of the oldest record when the invocation started, from the time its source stamped on it
   * (stream record creation, SQS send, EventBridge event time): the stream's iterator age, or a
   * queue's lag (function).
   */
  recordAge: 'RecordAge',
  /** Input refused as malformed and dead-lettered (function). */
  changesRejected: 'ChangesRejected',
  /** Bus changes the store wrote to their table (function). */
  changesStored: 'ChangesStored',
  /** Bus changes the store did not write: the table held a newer version of the key (function). */
  changesSuperseded: 'ChangesSuperseded',
  /** Bus changes the store failed to write, retried by their source (function). */
  storeErrors: 'StoreErrors',
  /** Changes a plugin's change callback took (plugin). */
  changesDelivered: 'ChangesDelivered',
  /** Redeliveries not passed on because the plugin already held that revision (plugin). */
  changesSkipped: 'ChangesSkipped',
  /** Changes kept back until the plugin's resync (plugin). */
  changesHeld: 'ChangesHeld',
  /** Change or resync callbacks that failed (plugin). */
  pluginErrors: 'PluginErrors',
  /** Change or resync callbacks that ran out of time (plugin). */
  pluginTimeouts: 'PluginTimeouts',
  /** Items a resync handed to the plugin (plugin). */
  resyncItems: 'ResyncItems',
  /** Keys a resync reported deleted to the plugin (plugin). */
  resyncDeleted: 'ResyncDeleted',
  /** How long the plugin's resync took (plugin). */
  resyncDuration: 'ResyncDuration',
} as const;

export { MetricUnit };

/**
 * A Powertools Metrics instance with the service's namespace and name and the given dimensions.
 * `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME` override them, and
 * `POWERTOOLS_METRICS_DISABLED=true` stops the output (as `POWERTOOLS_DEV` does).
 */
export function createMetrics(dimensions: Record<string, string>): Metrics {
  // Explicit values would win over the variables, so they are given only when those are unset.
  return new Metrics({
    ...(process.env.POWERTOOLS_METRICS_NAMESPACE ? {} : { namespace: METRICS_NAMESPACE }),
    ...(process.env.POWERTOOLS_SERVICE_NAME ? {} : { serviceName: SERVICE_NAME }),
    defaultDimensions: dimensions,
  });
}
