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
