import { InvalidValueError } from '../errors.ts';
import { canonicalDecimal } from './json-text.ts';

// DynamoDB's number syntax; anything else in an `N` is malformed input, not a number to carry on.
const DYNAMO_NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** Significant digits a DynamoDB number holds. */
export const DYNAMO_NUMBER_DIGITS = 38;

/**
 * Checks that `text` is a number DynamoDB can store: its syntax, at most 38 significant digits,
 * and a magnitude from 1E-130 to below 1E+126 (or zero). Every `N` read from DynamoDB passes, so
 * a `{"$number": …}` that passes survives a round trip through a table unchanged.
 * @throws InvalidValueError saying which limit the number breaks.
 */
export function checkDynamoNumber(text: unknown, path = '$'): string {
  if (typeof text !== 'string' || !DYNAMO_NUMBER.test(text)) {
    throw new InvalidValueError(`${path}: ${JSON.stringify(text)} is not a number`, { path });
  }
  const { digits, exponent } = canonicalDecimal(text.replace(/^\+/, ''));
  if (digits === '0') return text;
  if (digits.length > DYNAMO_NUMBER_DIGITS) {
    throw new InvalidValueError(
      `${path}: ${text} has ${digits.length} significant digits; DynamoDB keeps at most ${DYNAMO_NUMBER_DIGITS}`,
      { path },
    );
  }
  // The exponent of the leading digit: 1E-130 is the smallest magnitude, 9.99…E+125 the largest.
  const magnitude = exponent + digits.length - 1;
  if (magnitude < -130 || magnitude > 125) {
    throw new InvalidValueError(`${path}: ${text} is outside DynamoDB's number range (1E-130 to 9.9E+125)`, { path });
  }
  return text;
}
