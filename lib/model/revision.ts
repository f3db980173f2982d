import { InvalidRevisionError } from '../errors.ts';

/**
 * A revision orders the changes of one key. It is an unsigned decimal integer written as a
 * string: an item version (`7`) or a DynamoDB stream sequence number (21 to 40 digits, beyond
 * what a JS number holds exactly). Revisions are compared only within one key.
 *
 * The rule for "newer": revision `a` is newer than `b` when `a` is numerically greater. Equal
 * revisions are the same change (a redelivery). A change with no revision cannot be ordered and
 * is always applied.
 */
export type Revision = string;

const DECIMAL = /^[0-9]{1,64}$/;

/**
 * Normalizes a revision given as a non-negative safe integer, a bigint or a decimal string.
 * Leading zeros are dropped so equal revisions have equal text.
 * @throws InvalidRevisionError for anything else (negative, fractional, unsafe numbers, text).
 */
export function toRevision(input: unknown): Revision {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new InvalidRevisionError(`revision must be a non-negative safe integer, got ${input}`);
    }
    return String(input);
  }
  if (typeof input === 'bigint') {
    if (input < 0n) throw new InvalidRevisionError(`revision must not be negative, got ${input}`);
    return input.toString();
  }
  if (typeof input === 'string' && DECIMAL.test(input)) return BigInt(input).toString();
  throw new InvalidRevisionError(`revision must be an unsigned decimal integer, got ${JSON.stringify(input)}`);
}

/**
 * Compares two revisions of the same key numerically (with BigInt, never as JS numbers).
 * @returns a negative number when `a` is older, 0 when equal, positive when `a` is newer.
 */
export function compareRevisions(a: Revision, b: Revision): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether `candidate` is strictly newer than `held`; anything is newer than no revision. */
export function isNewerRevision(candidate: Revision | undefined, held: Revision | undefined): boolean {
  if (candidate === undefined || held === undefined) return true;
  return compareRevisions(candidate, held) > 0;
}
