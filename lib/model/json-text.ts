import { InvalidValueError } from '../errors.ts';

/**
 * JSON text parsed without rounding a number silently. `JSON.parse` turns every number into a
 * double, so `9007199254740993` becomes `…992`, `0.10000000000000001` becomes `0.1` and `1e400`
 * becomes `Infinity`, with no error. Here such text is refused instead, with the number named
 * and the way to send it exactly: `{"$number": "<decimal>"}` (see `json-value.ts`).
 *
 * "Exactly" means the double prints back as the same decimal value: `0.1`, `1.0` and `1e3` pass.
 * @throws SyntaxError when the text is not JSON; InvalidValueError for a number that would change.
 */
export function parseJsonStrict(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // The common case costs one regular expression: a number of at most 15 significant digits and
  // no exponent is always held exactly, and such text has no run of 16 digits and no exponent.
  if (MAYBE_INEXACT.test(text)) {
    const inexact = firstInexactNumber(text);
    if (inexact !== undefined) {
      throw new InvalidValueError(
        `the number ${inexact.length > 48 ? `${inexact.slice(0, 48)}…` : inexact} cannot be read exactly as a JSON ` +
          `number (a double would change it); send it as {"$number": "${inexact.length > 48 ? '…' : inexact}"}`,
        { number: inexact.slice(0, 64) },
      );
    }
  }
  return value;
}

/** Whether a JSON number token's value is held exactly by the double it parses to. */
export function isExactNumber(token: string): boolean {
  const number = Number(token);
  return (
    Number.isFinite(number) &&
    (!Number.isInteger(number) || Number.isSafeInteger(number)) &&
    sameDecimal(canonicalDecimal(token), canonicalDecimal(String(number)))
  );
}

const MAYBE_INEXACT = /[0-9]{16}|[0-9.][eE]/;
const NUMBER_CHAR = /[0-9.eE+-]/;

/** The first number in the text (outside strings) that a double does not hold exactly. */
function firstInexactNumber(text: string): string | undefined {
  let index = 0;
  while (index < text.length) {
    const char = text.charCodeAt(index);
    if (char === 34 /* " */) {
      // Skip the string, escapes included.
      index += 1;
      while (index < text.length && text.charCodeAt(index) !== 34) index += text.charCodeAt(index) === 92 ? 2 : 1;
      index += 1;
    } else if (char === 45 /* - */ || (char >= 48 && char <= 57)) {
      const start = index;
      index += 1;
      while (index < text.length && NUMBER_CHAR.test(text[index]!)) index += 1;
      const token = text.slice(start, index);
      if (!isExactNumber(token)) return token;
    } else {
      index += 1;
    }
  }
  return undefined;
}

/** A decimal number as sign, significant digits and the exponent of the last digit. */
export interface Decimal {
  readonly negative: boolean;
  readonly digits: string;
  readonly exponent: number;
}

/** The decimal value of a JSON number token or of `String(number)`, leading and trailing zeros gone. */
export function canonicalDecimal(text: string): Decimal {
  const match = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!match) return { negative: false, digits: text, exponent: Number.NaN };
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  let digits = `${whole}${fraction}`;
  let exponent = Number(match[4] ?? 0) - fraction.length;
  digits = digits.slice(/^0*/.exec(digits)![0].length);
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  // Zero has no sign and no exponent worth keeping.
  if (digits === '') return { negative: false, digits: '0', exponent: 0 };
  return { negative: match[1] === '-', digits, exponent };
}

function sameDecimal(a: Decimal, b: Decimal): boolean {
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}
