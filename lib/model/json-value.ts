import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { InvalidValueError } from '../errors.ts';
import { checkDynamoNumber } from './dynamo-number.ts';

/**
 * A value as plugins, feedback and every bus see it: plain JSON.
 *
 * DynamoDB types with no JSON equivalent use one-member tagged objects, so a value read from a
 * stream can be forwarded, stored and written back without loss:
 *
 * | DynamoDB | JSON-safe form |
 * |---|---|
 * | `N` that a JS number holds exactly (integers within ±2^53) | a JSON number |
 * | any other `N` (beyond 2^53, or more digits than a double keeps) | `{ "$number": "<decimal text>" }` |
 * | `B` | `{ "$binary": "<base64>" }` |
 * | `SS` | `{ "$stringSet": [sorted strings] }` |
 * | `NS` | `{ "$numberSet": [decimal texts, sorted by value] }` |
 * | `BS` | `{ "$binarySet": [sorted base64] }` |
 * | `NULL` | `null` |
 *
 * Sets are sorted so that two equal sets have equal JSON. One-member objects whose only key is
 * one of these tags are read as the tagged type when converted back to DynamoDB.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** An object of JSON-safe values. */
export interface JsonObject {
  [member: string]: JsonValue;
}

/** Largest value accepted in a change, in bytes of its JSON text (a feedback or bus message must still fit). */
export const MAX_VALUE_BYTES = 200 * 1024;

const TAGS = ['$number', '$binary', '$stringSet', '$numberSet', '$binarySet'] as const;

/**
 * A DynamoDB attribute value as the SDK returns it (binary as bytes) or as a Lambda event carries
 * it (binary as base64 text).
 */
export type AnyAttributeValue = AttributeValue | LambdaAttributeValue;

interface LambdaAttributeValue {
  S?: string;
  N?: string;
  B?: string;
  SS?: string[];
  NS?: string[];
  BS?: string[];
  M?: Record<string, AnyAttributeValue>;
  L?: AnyAttributeValue[];
  NULL?: boolean;
  BOOL?: boolean;
}

/** Converts one DynamoDB attribute value to its JSON-safe form. */
export function fromAttributeValue(attribute: AnyAttributeValue): JsonValue {
  // The member's name is the type. Reading it once and switching on it is about twice as fast as
  // probing `attribute.S`, `attribute.N`, …: attribute objects come in ten shapes, so every probe
  // is a megamorphic property load, and a map or list is only found on the fifth or sixth.
  // (The member is read inside the for-in, where V8 loads it by the enumeration index: a keyed
  // load after the loop costs a third of the stream handler's throughput.)
  let type: string | undefined;
  let member: unknown;
  for (const name in attribute) {
    const value: unknown = (attribute as Record<string, unknown>)[name];
    if (value === undefined) continue;
    // DynamoDB never sends two; which one was meant cannot be known.
    if (type !== undefined) throw new InvalidValueError(`attribute value has more than one type: ${type}, ${name}`);
    type = name;
    member = value;
  }
  switch (type) {
    case 'S':
      return member as string;
    case 'N':
      return fromDynamoNumber(member as string);
    case 'BOOL':
      return member as boolean;
    case 'NULL':
      return null;
    case 'M':
      if (typeof member !== 'object' || member === null || Array.isArray(member))
        throw malformed('M', 'an attribute map');
      return fromAttributeMap(member as Record<string, AnyAttributeValue>);
    case 'L':
      if (!Array.isArray(member)) throw malformed('L', 'a list');
      return fromAttributeList(member as AnyAttributeValue[]);
    case 'B':
      return { $binary: toBase64(member as Uint8Array | string) };
    case 'SS':
      return { $stringSet: [...(member as string[])].sort() };
    case 'NS':
      return { $numberSet: [...(member as string[])].sort(compareDecimal) };
    case 'BS':
      return { $binarySet: (member as Array<Uint8Array | string>).map(toBase64).sort() };
  }
  throw new InvalidValueError(`unsupported DynamoDB attribute type: ${Object.keys(attribute).join(',') || 'none'}`);
}

/** Converts a DynamoDB item (attribute map) to a JSON object. */
export function fromAttributeMap(item: Record<string, AnyAttributeValue>): JsonObject {
  const out: JsonObject = {};
  for (const name in item) defineMember(out, name, fromAttributeValue(item[name]!));
  return out;
}

/**
 * Converts an item to a JSON object without the attributes `skip` names (an item's key and
 * version attributes), in one pass.
 */
export function fromAttributeMapExcept(
  item: Record<string, AnyAttributeValue>,
  skip: (name: string) => boolean,
): JsonObject {
  const out: JsonObject = {};
  for (const name in item) {
    if (!skip(name)) defineMember(out, name, fromAttributeValue(item[name]!));
  }
  return out;
}

function malformed(type: string, expected: string): InvalidValueError {
  return new InvalidValueError(`${type} attribute is not ${expected}`);
}

function fromAttributeList(list: readonly AnyAttributeValue[]): JsonValue[] {
  const out = new Array<JsonValue>(list.length);
  for (let index = 0; index < list.length; index += 1) out[index] = fromAttributeValue(list[index]!);
  return out;
}

/** Converts a JSON-safe value back to a DynamoDB attribute value (the inverse of `fromAttributeValue`). */
export function toAttributeValue(value: JsonValue): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      return { N: numberToDecimal(value) };
  }
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  const tag = taggedType(value);
  if (tag === '$number') return { N: checkDynamoNumber(value.$number) };
  if (tag === '$binary') return { B: fromBase64(value.$binary as string) };
  if (tag === '$stringSet') return { SS: value.$stringSet as string[] };
  if (tag === '$numberSet') return { NS: value.$numberSet as string[] };
  if (tag === '$binarySet') return { BS: (value.$binarySet as string[]).map(fromBase64) };
  return { M: toAttributeMap(value) };
}

/** Converts a JSON object to a DynamoDB attribute map. */
export function toAttributeMap(value: JsonObject): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  // Defined, not assigned: a member named `__proto__` is data and must reach the item.
  for (const name of Object.keys(value)) defineMember(out, name, toAttributeValue(value[name]!));
  return out;
}

/** Deepest nesting of objects and arrays accepted in a value: DynamoDB's limit for an item. */
export const MAX_VALUE_DEPTH = 32;

/**
 * Checks that `value` is JSON-safe and fits where values go: plain objects and arrays of strings,
 * finite numbers, booleans and null; at most {@link MAX_VALUE_DEPTH} levels of objects and
 * arrays; tagged forms (`$number`, `$binary`, the sets) well formed, with numbers DynamoDB can
 * store; not larger than `maxBytes` as JSON text.
 * @returns the JSON text's size in bytes.
 * @throws InvalidValueError naming the first offending path.
 */
export function assertJsonSafe(value: unknown, maxBytes = MAX_VALUE_BYTES): number {
  checkShape(value, '$', 0);
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > maxBytes) {
    throw new InvalidValueError(`value is ${bytes} bytes of JSON, more than the ${maxBytes} allowed`, {
      bytes,
      maxBytes,
    });
  }
  return bytes;
}

function checkShape(value: unknown, path: string, depth: number): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidValueError(`${path} is ${value}, which JSON cannot carry`, { path });
    // Beyond 2^53 a double no longer holds every integer: the number may already have been
    // rounded on its way here, and a reader of the JSON may round it again.
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new InvalidValueError(
        `${path} is ${value}, beyond the integers a JSON number holds exactly (±2^53); send it as {"$number": "<digits>"}`,
        { path },
      );
    }
    return;
  }
  if (typeof value !== 'object') {
    throw new InvalidValueError(`${path} is of type ${typeof value}, which JSON cannot carry`, { path });
  }
  if (depth >= MAX_VALUE_DEPTH) {
    throw new InvalidValueError(`${path} is nested more than ${MAX_VALUE_DEPTH} levels deep`, { path });
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) checkShape(item, `${path}[${index}]`, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidValueError(`${path} is a ${proto?.constructor?.name ?? 'non-plain object'}, not a plain object`, {
      path,
    });
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record);
  if (names.length === 1 && (TAGS as readonly string[]).includes(names[0]!)) {
    checkTagged(names[0] as (typeof TAGS)[number], record[names[0]!], `${path}.${names[0]}`);
    return;
  }
  for (const name of names) checkShape(record[name], `${path}.${name}`, depth + 1);
}

/** A tagged form's member: the type each tag needs, numbers DynamoDB holds, sets as DynamoDB takes them. */
function checkTagged(tag: (typeof TAGS)[number], member: unknown, path: string): void {
  if (tag === '$number') {
    checkDynamoNumber(member, path);
    return;
  }
  if (tag === '$binary') {
    checkBase64(member, path);
    return;
  }
  if (!Array.isArray(member) || member.length === 0) {
    throw new InvalidValueError(`${path} must be a non-empty list (DynamoDB has no empty sets)`, { path });
  }
  for (const [index, item] of member.entries()) {
    if (tag === '$numberSet') checkDynamoNumber(item, `${path}[${index}]`);
    else if (tag === '$binarySet') checkBase64(item, `${path}[${index}]`);
    else if (typeof item !== 'string') throw new InvalidValueError(`${path}[${index}] must be a string`, { path });
  }
  if (new Set(member as string[]).size !== member.length) {
    throw new InvalidValueError(`${path} holds the same member twice (a set cannot)`, { path });
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkBase64(text: unknown, path: string): void {
  if (typeof text !== 'string' || !BASE64.test(text)) {
    throw new InvalidValueError(`${path} must be base64 text`, { path });
  }
}

// DynamoDB's number syntax; anything else in an `N` is malformed input, not a number to carry on.
const DYNAMO_NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function fromDynamoNumber(text: string): number | JsonObject {
  if (typeof text !== 'string' || !DYNAMO_NUMBER.test(text))
    throw new InvalidValueError(`N attribute ${JSON.stringify(text)} is not a number`);
  const number = Number(text);
  // A plain number only when a double holds it exactly and every JSON reader agrees on it.
  return Number.isFinite(number) &&
    String(number) === text &&
    (!Number.isInteger(number) || Number.isSafeInteger(number))
    ? number
    : { $number: text };
}

function numberToDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new InvalidValueError(`number ${value} cannot be stored`);
  // DynamoDB numbers are decimal text; avoid exponent notation for large integers.
  return checkDynamoNumber(
    Number.isInteger(value) && Math.abs(value) >= 1e21 ? BigInt(value).toString() : String(value),
  );
}

function taggedType(value: JsonObject): (typeof TAGS)[number] | undefined {
  const names = Object.keys(value);
  if (names.length !== 1) return undefined;
  const tag = TAGS.find((candidate) => candidate === names[0]);
  if (tag === undefined) return undefined;
  const member = value[tag];
  const valid =
    tag === '$number' || tag === '$binary'
      ? typeof member === 'string'
      : Array.isArray(member) && member.every((item) => typeof item === 'string');
  if (!valid) throw new InvalidValueError(`tagged value ${tag} has the wrong member type`);
  return tag;
}

/** Assigns without ever invoking the `__proto__` setter, so a hostile attribute name stays data. */
function defineMember<T>(target: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__')
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

function compareDecimal(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function toBase64(bytes: Uint8Array | string): string {
  if (typeof bytes === 'string') return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}
