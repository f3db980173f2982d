import { DatasyncError } from '../errors.ts';
import type { FeedbackRecord } from '../feedback/record.ts';
import type { PublishedChange } from '../publish/types.ts';

/** The columns of the feedback table: header, width. */
const COLUMNS = [
  ['TIME', 24],
  ['EVENT', 8],
  ['PLUGIN', 16],
  ['STATUS', 7],
  ['CORRELATION', 20],
  ['DETAIL', 0],
] as const;

/** The header line of the feedback table. */
export function feedbackHeader(): string {
  return row(COLUMNS.map(([title]) => title));
}

/** One feedback record as a table line a person can scan. */
export function feedbackRow(record: FeedbackRecord): string {
  let detail: string;
  if (record.event === 'change' || record.event === 'stored') {
    const keys = record.changes.map(
      (change) => `${change.op} ${change.key}${change.revision ? `@${change.revision}` : ''}`,
    );
    detail = keys.slice(0, 3).join(', ') + (keys.length > 3 ? ` (+${keys.length - 3})` : '');
    if (record.skipped?.length) detail += `; skipped ${record.skipped.length}`;
    if (record.event === 'change' && record.held?.length) detail += `; held ${record.held.length}`;
  } else if (record.event === 'resync') {
    detail = `resync ${record.resyncId}: ${record.items} items, ${record.deleted} deleted`;
  } else {
    detail = `${record.source.type}:${record.source.name}${record.key ? ` ${record.key}` : ''}`;
  }
  if (record.error) detail += ` — ${record.error.code ?? record.error.name}: ${record.error.message}`;
  return row([
    record.time,
    record.event,
    'plugin' in record ? record.plugin : '-',
    record.status,
    record.correlationId ?? '-',
    detail,
  ]);
}

function row(cells: readonly string[]): string {
  return cells
    .map((cell, index) => {
      const width = COLUMNS[index]![1];
      if (width === 0) return cell;
      return cell.length > width ? `${cell.slice(0, width - 1)}…` : cell.padEnd(width);
    })
    .join(' ')
    .trimEnd();
}

/** A published change as a line of text. */
export function describePublished(change: PublishedChange): string {
  return (
    `published ${change.op} ${change.key}` +
    (change.revision ? ` at revision ${change.revision}` : '') +
    (change.version ? ` at version ${change.version}` : '') +
    (change.unchanged ? ' (there was nothing to delete)' : '') +
    (change.correlationId ? ` (correlation id ${change.correlationId})` : '') +
    (change.messageId ? ` [message ${change.messageId}]` : '')
  );
}

/** An error as JSON for `--json` output: code, name, message, details. */
export function errorJson(error: unknown): Record<string, unknown> {
  if (error instanceof DatasyncError)
    return { code: error.code, name: error.name, message: error.message, details: error.details };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { message: String(error) };
}
