import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The service's name in logs and metrics (the `service` key and dimension), unless
 * `POWERTOOLS_SERVICE_NAME` names it otherwise.
 */
export const SERVICE_NAME = 'serverless-datasync';

/** What the library logs through: the methods of a Powertools Logger it calls. */
export type DatasyncLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * A Powertools Logger as the service's handlers use it: one JSON object per line, read by
 * CloudWatch Logs Insights. Its level follows the Powertools conventions: `AWS_LAMBDA_LOG_LEVEL`
 * (Lambda's advanced logging controls) first, then `POWERTOOLS_LOG_LEVEL` (or `LOG_LEVEL`), else
 * `INFO`; `SILENT` turns it off. Only facts about the work are logged (keys, counts, plugin names,
 * errors), never payload values.
 */
export function createLogger(): Logger {
  // An explicit name would win over the variable, so it is given only when the variable is unset.
  return new Logger(process.env.POWERTOOLS_SERVICE_NAME ? {} : { serviceName: SERVICE_NAME });
}
