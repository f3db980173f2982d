import type { Change, ChangeEvent, JsonValue } from '../../lib/index.ts';

/** A put change from a test source. */
export function put(key: string, value: JsonValue, revision?: string | number): Change {
  return {
    key,
    op: 'put',
    value,
    source: { type: 'local', name: 'test' },
    time: new Date(0).toISOString(),
    ...(revision === undefined ? {} : { revision: String(revision) }),
  };
}

/** A delete change from a test source. */
export function del(key: string, revision?: string | number): Change {
  return {
    key,
    op: 'delete',
    source: { type: 'local', name: 'test' },
    time: new Date(0).toISOString(),
    ...(revision === undefined ? {} : { revision: String(revision) }),
  };
}

/** A change event of the given changes. */
export function event(changes: Change[], correlationId?: string): ChangeEvent {
  return { changes, source: { type: 'local', name: 'test' }, ...(correlationId ? { correlationId } : {}) };
}

/** A put as a table's stream delivers it: ordered by its sequence number, carrying the item's version. */
export function streamPut(key: string, value: JsonValue, sequence: string | number, version?: string | number): Change {
  return {
    ...put(key, value, sequence),
    source: { type: 'dynamodb', name: 'test' },
    ...(version === undefined ? {} : { version: String(version) }),
  };
}

/** A delete as a table's stream delivers it: its sequence number and the removed item's version. */
export function streamDel(key: string, sequence: string | number, version?: string | number): Change {
  return {
    ...del(key, sequence),
    source: { type: 'dynamodb', name: 'test' },
    ...(version === undefined ? {} : { version: String(version) }),
  };
}
