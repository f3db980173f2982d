import { compareRevisions, InvalidRevisionError, isNewerRevision, toRevision } from '../../lib/index.ts';

describe('revisions', () => {
  it('compares DynamoDB sequence numbers exactly, beyond the precision of JS numbers', () => {
    const a = '1100000000017454423009';
    const b = '1100000000017454423010';
    // As doubles these two are the same number: the comparator must not be fooled.
    expect(Number(a)).toBe(Number(b));
    expect(compareRevisions(a, b)).toBeLessThan(0);
    expect(compareRevisions(b, a)).toBeGreaterThan(0);
    expect(compareRevisions(a, a)).toBe(0);
  });

  it('orders by value, not by text, across lengths (a 40-digit number beats a 21-digit one)', () => {
    const short = '9'.repeat(21);
    const long = `1${'0'.repeat(39)}`;
    expect(compareRevisions(short, long)).toBeLessThan(0);
    expect(compareRevisions('9', '10')).toBeLessThan(0);
  });

  it('normalizes numbers, bigints and strings to one text form', () => {
    expect(toRevision(7)).toBe('7');
    expect(toRevision(7n)).toBe('7');
    expect(toRevision('007')).toBe('7');
    expect(toRevision('1100000000017454423009')).toBe('1100000000017454423009');
  });

  it.each([-1, 1.5, Number.MAX_SAFE_INTEGER + 2, Number.NaN, '-3', '1e3', '', 'abc', null, {}])(
    'rejects %p',
    (input) => {
      expect(() => toRevision(input)).toThrow(InvalidRevisionError);
    },
  );

  it('treats a missing revision as always newer (it cannot be ordered, so it is applied)', () => {
    expect(isNewerRevision(undefined, '5')).toBe(true);
    expect(isNewerRevision('5', undefined)).toBe(true);
    expect(isNewerRevision('5', '5')).toBe(false);
    expect(isNewerRevision('4', '5')).toBe(false);
    expect(isNewerRevision('6', '5')).toBe(true);
  });
});
