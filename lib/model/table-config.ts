/**
 * A DynamoDB table the service reads: its stream feeds changes and resync scans it. An item's
 * key is the table's `prefix` followed by its key attribute values, joined by `/`
 * (e.g. prefix `config`, partition key `path` = `interfaces/eth0` gives `config/interfaces/eth0`).
 */
export interface TableConfig {
  /** The table name. */
  readonly name: string;
  /** The key prefix of every item in the table. */
  readonly prefix: string;
  /** The key attributes, partition key first (then the sort key, if any); default `['pk']`. */
  readonly keyAttributes: readonly string[];
  /** An item attribute holding a per-item version; when present it is the change's revision. */
  readonly versionAttribute?: string;
}
