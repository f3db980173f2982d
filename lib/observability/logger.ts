/**
 * Structured JSON logs, one object per line, as CloudWatch Logs Insights reads them. Only facts
 * about the work are logged (keys, counts, plugin names, errors), never payload values.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger bound to fixed fields (service, function, request id). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger with more fixed fields. */
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Creates a logger writing to `write` (stdout by default). The level comes from `LOG_LEVEL`
 * (default `info`); `DATASYNC_SILENT=1` turns logging off, for tests and the local demo's table view.
 */
export function createLogger(
  fields: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const threshold = ORDER[(process.env.LOG_LEVEL?.toLowerCase() as LogLevel) ?? 'info'] ?? ORDER.info;
  const silent = process.env.DATASYNC_SILENT === '1';
  const log = (level: LogLevel, message: string, extra?: Record<string, unknown>) => {
    if (silent || ORDER[level] < threshold) return;
    write(JSON.stringify({ level, time: new Date().toISOString(), message, ...fields, ...extra }, errorReplacer));
  };
  return {
    debug: (message, extra) => log('debug', message, extra),
    info: (message, extra) => log('info', message, extra),
    warn: (message, extra) => log('warn', message, extra),
    error: (message, extra) => log('error', message, extra),
    child: (more) => createLogger({ ...fields, ...more }, write),
  };
}

function errorReplacer(_name: string, value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...('code' in value ? { code: value.code } : {}),
      ...(value.cause === undefined ? {} : { cause: value.cause }),
    };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}
