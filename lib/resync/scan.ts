import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DatasyncError, withCause } from '../errors.ts';

/** Where one scan segment stands: the key its next page starts after, or done. */
export interface SegmentCursor {
  readonly lastKey?: Record<string, AttributeValue>;
  readonly done: boolean;
}

/** One page of one segment, and where that segment's next page starts (absent: segment done). */
export interface ScanPage {
  readonly segment: number;
  readonly items: Array<Record<string, AttributeValue>>;
  readonly next?: Record<string, AttributeValue>;
}

/** How a table is scanned. */
export interface ScanOptions {
  /** Items per page (Scan `Limit`); default DynamoDB's 1 MB pages. */
  readonly pageSize?: number;
  /** Strongly consistent reads (twice the read cost). */
  readonly consistentRead?: boolean;
}

/**
 * Scans a table page by page, its segments in parallel, starting from the given cursors (one per
 * segment; their count is the segment count). At most one page per unfinished segment is fetched
 * ahead, so memory is bounded by the segment count, not the table size. Pages come in the order
 * they arrive; the caller advances its cursors from each page's `segment` and `next`.
 */
export async function* scanPages(
  dynamodb: DynamoDBClient,
  tableName: string,
  cursors: readonly SegmentCursor[],
  options: ScanOptions = {},
): AsyncGenerator<ScanPage> {
  const total = cursors.length;
  type Settled = { segment: number; page?: ScanPage; error?: unknown };
  const fetch = (segment: number, startKey: Record<string, AttributeValue> | undefined): Promise<Settled> =>
    dynamodb
      .send(
        new ScanCommand({
          TableName: tableName,
          ...(total > 1 ? { Segment: segment, TotalSegments: total } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          ...(options.pageSize ? { Limit: options.pageSize } : {}),
          ...(options.consistentRead ? { ConsistentRead: true } : {}),
        }),
      )
      .then(
        (result): Settled => ({
          segment,
          page: {
            segment,
            items: result.Items ?? [],
            ...(result.LastEvaluatedKey ? { next: result.LastEvaluatedKey } : {}),
          },
        }),
        // Settled, never rejected: a page fetched ahead and then abandoned must not become an
        // unhandled rejection.
        (error: unknown): Settled => ({ segment, error }),
      );
  const inFlight = new Map<number, Promise<Settled>>();
  cursors.forEach((cursor, segment) => {
    if (!cursor.done) inFlight.set(segment, fetch(segment, cursor.lastKey));
  });
  while (inFlight.size > 0) {
    const settled = await Promise.race(inFlight.values());
    inFlight.delete(settled.segment);
    if (settled.error !== undefined || !settled.page) {
      throw new DatasyncError(
        'SCAN_FAILED',
        withCause(`scan of table "${tableName}" (segment ${settled.segment}) failed`, settled.error),
        {
          cause: settled.error,
          details: { table: tableName, segment: settled.segment },
        },
      );
    }
    if (settled.page.next) inFlight.set(settled.segment, fetch(settled.segment, settled.page.next));
    yield settled.page;
  }
}
