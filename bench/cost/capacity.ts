// What DynamoDB charges for a read or a write, from the sizes of the items involved, by the rules
// AWS documents (docs/benchmarks.md cites them). The emulator's ConsumedCapacity is not what AWS
// would charge, so the cost benchmark computes the units itself.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** Bytes one read unit covers (per item for GetItem/BatchGetItem, per call for Query/Scan). */
export const READ_UNIT_BYTES = 4 * 1024;
/** Bytes one write unit covers, per item. */
export const WRITE_UNIT_BYTES = 1024;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The size of a number: about one byte per two significant digits, plus one. Leading and
 * trailing zeros, the sign, the decimal point and an exponent are not significant digits.
 */
function numberSize(text: string): number {
  const mantissa = text.replace(/^[-+]/, '').split(/[eE]/)[0]!.replace('.', '');
  const digits = mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
  return Math.ceil(Math.max(1, digits) / 2) + 1;
}

/** The size of an attribute value (without its name), by DynamoDB's item size rules. */
export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, text) => sum + utf8(text), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, text) => sum + numberSize(text), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, bytes) => sum + bytes.byteLength, 0);
  // Lists and maps: 3 bytes of overhead, and one more per element.
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueSize(element), 0);
  throw new Error(`unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/** The size of an item: its attribute names and values. */
export function itemSize(item: Record<string, AttributeValue> | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

/** How a read is made: strongly consistent (one unit per 4 KB) or eventually (half that). */
export interface ReadKind {
  readonly consistent: boolean;
}

/**
 * Read units for `bytes` read as one unit of account: one item of GetItem or BatchGetItem, or all
 * items a Query or Scan call evaluated together. At least one block is charged, even when
 * nothing was found.
 */
export function readUnits(bytes: number, kind: ReadKind): number {
  const blocks = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return kind.consistent ? blocks : blocks / 2;
}

/**
 * Write units for writing one item: the larger of its size before and after, rounded up to 1 KB,
 * at least one; twice that in a transaction (DynamoDB prepares and commits each item).
 */
export function writeUnits(before: number, after: number, transactional = false): number {
  const blocks = Math.max(1, Math.ceil(Math.max(before, after) / WRITE_UNIT_BYTES));
  return transactional ? 2 * blocks : blocks;
}
