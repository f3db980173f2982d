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

/**
 * The revision a clock makes at a wall-clock time: `(ms × 1000 + counter) × 1000 + node`, the
 * layout of the publishers' `RevisionClock`. Stream sequence numbers are larger than any of
 * these (21 digits and up), so the two never meet within one key (see docs/state.md).
 */
export function clockRevision(ms: number, counter = 0, node = 0): Revision {
  return ((BigInt(Math.floor(ms)) * 1000n + BigInt(counter)) * 1000n + BigInt(node)).toString();
}

/** How far ahead of the clock a sender's revision may run (clocks of different hosts disagree a little). */
export const MAX_CLOCK_LEAD_MS = 5 * 60_000;

/**
 * The highest revision a sender may put on a bus message now: the clock's revision
 * {@link MAX_CLOCK_LEAD_MS} from now. A larger one would hold back every later change of its
 * key for as long as it runs ahead, so it is refused instead.
 */
export function revisionLimit(now: number = Date.now()): Revision {
  return clockRevision(now + MAX_CLOCK_LEAD_MS, 999, 999);
}
