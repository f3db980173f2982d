import {
  DescribeTableCommand,
  ResourceNotFoundException,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import type { TableConfig } from '../config.ts';
import { DatasyncError, TableNotFoundError, withCause } from '../errors.ts';
import { prefixesOverlap } from '../model/key.ts';

/** How many parallel scan segments a table gets. */
export interface SegmentOptions {
  /**
   * A fixed number of segments for every table, or a function choosing one per table from its
   * size. Default: one segment per `segmentBytes` of table size, at most `maxSegments`.
   */
  readonly segments?: number | ((table: TableConfig, sizeBytes: number, itemCount: number) => number);
  /** Table bytes per segment for the default choice; default 512 MiB. */
  readonly segmentBytes?: number;
  /** Upper bound of the default choice; default 8. */
  readonly maxSegments?: number;
}

/** A table ready to scan: its configuration, the segments to scan it in and its size estimate. */
export interface ScanTable {
  readonly config: TableConfig;
  readonly segments: number;
  /** DynamoDB's estimate of the item count (refreshed about every six hours). */
  readonly estimatedItems: number;
}

/** The configured tables that can hold keys under any of the prefixes, in configuration order. */
export function tablesForPrefixes(tables: readonly TableConfig[], prefixes: readonly string[]): TableConfig[] {
  return tables.filter((table) => prefixes.some((prefix) => prefixesOverlap(table.prefix, prefix)));
}

/** Checks that each table exists (DescribeTable) and decides its scan segments. */
export async function describeTables(
  dynamodb: DynamoDBClient,
  tables: readonly TableConfig[],
  options: SegmentOptions = {},
): Promise<ScanTable[]> {
  const described: ScanTable[] = [];
  for (const config of tables) {
    let table: TableDescription | undefined;
    try {
      ({ Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: config.name })));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) throw new TableNotFoundError(config.name, error);
      throw new DatasyncError('CONFIGURATION', withCause(`could not describe table "${config.name}"`, error), {
        cause: error,
        details: { table: config.name },
      });
    }
    if (!table) throw new TableNotFoundError(config.name);
    const sizeBytes = table.TableSizeBytes ?? 0;
    const itemCount = table.ItemCount ?? 0;
    described.push({
      config,
      segments: chooseSegments(config, sizeBytes, itemCount, options),
      estimatedItems: itemCount,
    });
  }
  return described;
}

/** The number of scan segments for a table (1 to 1,000,000, DynamoDB's limit). */
export function chooseSegments(
  config: TableConfig,
  sizeBytes: number,
  itemCount: number,
  options: SegmentOptions = {},
): number {
  const chosen =
    typeof options.segments === 'function'
      ? options.segments(config, sizeBytes, itemCount)
      : (options.segments ??
        Math.min(options.maxSegments ?? 8, Math.ceil(sizeBytes / (options.segmentBytes ?? 512 * 1024 * 1024))));
  if (!Number.isInteger(chosen)) {
    throw new DatasyncError(
      'CONFIGURATION',
      `scan segments for table "${config.name}" must be an integer, got ${chosen}`,
    );
  }
  return Math.min(1_000_000, Math.max(1, chosen));
}
