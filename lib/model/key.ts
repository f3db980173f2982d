import { InvalidKeyError } from '../errors.ts';

/** Longest key accepted, in UTF-8 bytes: DynamoDB's limit for a sort key. */
export const MAX_KEY_BYTES = 1024;

/**
 * Segments that would reach an object's prototype when a key is used to index a plain object.
 * Keys are routinely turned into object paths by plugins, so they are refused at the door.
 */
const HOSTILE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

// C0 controls, DEL and C1 controls: invisible in logs and unsafe in most stores.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

// Characters that change how text around them is shown without being seen: bidirectional
// embeddings, overrides, isolates and marks, and zero-width characters. In a key they make two
// different keys look the same, or make a log line read differently from what it says.
const INVISIBLE_FORMATTING = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
const ASCII = /^[\u0000-\u007f]*$/;

/**
 * Checks a key and returns it. A key is a `/`-separated path of one or more segments, e.g.
 * `config/interfaces/eth0`: no empty segment (so no leading, trailing or doubled `/`), no `.` or
 * `..`, no control characters, no bidirectional or zero-width formatting characters, no
 * prototype-reaching segment, in Unicode normalization form C, at most {@link MAX_KEY_BYTES} bytes.
 * @throws InvalidKeyError naming the rule that was broken.
 */
export function validateKey(key: unknown): string {
  return check(key, 'key', 'INVALID_KEY');
}

/**
 * Brings a key written by a client into normalization form C, then checks it: `café` typed with
 * a combining accent and with the precomposed letter are one key. The edges where clients write
 * (the publisher, the HTTP API, bus messages) use this; keys read from a table's items are only
 * checked, since a normalized key would name another item than the one that was read.
 * @throws InvalidKeyError as {@link validateKey}.
 */
export function normalizeKey(key: unknown): string {
  return validateKey(typeof key === 'string' ? key.normalize('NFC') : key);
}

/** Checks a prefix: the same rules as a key (a prefix names a subtree by its path). */
export function validatePrefix(prefix: unknown): string {
  return check(prefix, 'prefix', 'INVALID_PREFIX');
}

/** Whether `key` is `prefix` itself or lies under it; matching is on whole path segments. */
export function keyMatchesPrefix(key: string, prefix: string): boolean {
  return key.length === prefix.length
    ? key === prefix
    : key.length > prefix.length && key.charCodeAt(prefix.length) === 47 /* '/' */ && key.startsWith(prefix);
}

/** Whether one prefix's subtree contains the other's (overlapping watches). */
export function prefixesOverlap(a: string, b: string): boolean {
  return keyMatchesPrefix(a, b) || keyMatchesPrefix(b, a);
}

function check(input: unknown, what: 'key' | 'prefix', code: 'INVALID_KEY' | 'INVALID_PREFIX'): string {
  const fail = (reason: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidKeyError(`invalid ${what}: ${reason}`, { ...details, reason }, code);
  };
  if (typeof input !== 'string') return fail(`expected a string, got ${input === null ? 'null' : typeof input}`);
  if (input.length === 0) return fail('empty');
  const bytes = Buffer.byteLength(input, 'utf8');
  if (bytes > MAX_KEY_BYTES) return fail(`${bytes} bytes is longer than ${MAX_KEY_BYTES}`, { bytes });
  if (CONTROL_CHARACTER.test(input)) return fail('contains a control character');
  // Most keys are ASCII, which needs neither of the Unicode checks (normalizing costs more than
  // the rest of the validation together).
  if (!ASCII.test(input)) {
    const invisible = INVISIBLE_FORMATTING.exec(input);
    if (invisible) {
      const code = `U+${invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      return fail(`contains the invisible formatting character ${code} (bidirectional or zero-width)`, {
        character: code,
      });
    }
    if (input.normalize('NFC') !== input) return fail('is not in Unicode normalization form C (NFC)');
  }
  const segments = input.split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '') return fail(`empty segment at position ${index} (leading, trailing or doubled "/")`, { index });
    if (segment === '.' || segment === '..')
      return fail(`relative segment "${segment}" at position ${index}`, { index });
    if (HOSTILE_SEGMENTS.has(segment)) return fail(`reserved segment "${segment}" at position ${index}`, { index });
  }
  return input;
}
