import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { StateRow } from '../state/store.ts';

/**
 * One invocation's hold on a plugin's resync lease. The lease names the resync (`resyncId`, so a
 * continuation of it can take it back) and the invocation holding it (`token`, so two copies of
 * one resync, such as a duplicate queue delivery, are kept apart too).
 */
export interface LeaseHold {
  readonly resyncId: string;
  readonly token: string;
  /** How long each renewal lasts. */
  readonly ms: number;
}

/** The lease as a status row records it, when someone holds it. */
export interface RecordedLease {
  readonly resyncId: string;
  readonly until: number;
}

/** Status-row attributes of the lease: `leaseToken` is absent while a resync is between parts. */
const NAMES = { '#leaseHolder': 'leaseHolder', '#leaseToken': 'leaseToken', '#leaseUntil': 'leaseUntil' } as const;

/** Parts of an UpdateItem call, merged into a status-row update. */
export interface LeaseClause {
  readonly condition: string;
  readonly set?: string;
  readonly remove?: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/**
 * Takes the lease: it is free, ran out, or is this resync's while none of its invocations runs
 * (a continuation after the part before it parked the lease). Already holding it counts too, so
 * an SDK retry of a take that did succeed succeeds again.
 */
export function takeClause(hold: LeaseHold, now: number): LeaseClause {
  return {
    condition:
      'attribute_not_exists(#leaseHolder) OR #leaseUntil < :leaseClock OR #leaseToken = :leaseToken OR (#leaseHolder = :leaseHolder AND attribute_not_exists(#leaseToken))',
    set: '#leaseHolder = :leaseHolder, #leaseToken = :leaseToken, #leaseUntil = :leaseUntil',
    names: { ...NAMES },
    values: {
      ':leaseHolder': { S: hold.resyncId },
      ':leaseToken': { S: hold.token },
      ':leaseUntil': { N: String(now + hold.ms) },
      ':leaseClock': { N: String(now) },
    },
  };
}

/** Renews the lease, only while this invocation still holds it. */
export function renewClause(hold: LeaseHold, now: number): LeaseClause {
  return {
    condition: '#leaseToken = :leaseToken',
    set: '#leaseUntil = :leaseUntil',
    names: { '#leaseToken': NAMES['#leaseToken'], '#leaseUntil': NAMES['#leaseUntil'] },
    values: { ':leaseToken': { S: hold.token }, ':leaseUntil': { N: String(now + hold.ms) } },
  };
}

/**
 * Keeps the lease for the resync's next part, which another invocation runs. A lease already
 * parked by this resync counts as done (an SDK retry of a park that did succeed).
 */
export function parkClause(hold: LeaseHold, now: number): LeaseClause {
  return {
    condition: '#leaseToken = :leaseToken OR (#leaseHolder = :leaseHolder AND attribute_not_exists(#leaseToken))',
    set: '#leaseUntil = :leaseUntil',
    remove: '#leaseToken',
    names: { ...NAMES },
    values: {
      ':leaseToken': { S: hold.token },
      ':leaseHolder': { S: hold.resyncId },
      ':leaseUntil': { N: String(now + hold.ms) },
    },
  };
}

/**
 * Releases the lease this invocation holds. No lease at all counts as done too (an SDK retry of a
 * release that did succeed).
 */
export function releaseClause(hold: LeaseHold): LeaseClause {
  return {
    condition: '#leaseToken = :leaseToken OR attribute_not_exists(#leaseHolder)',
    remove: '#leaseHolder, #leaseToken, #leaseUntil',
    names: { ...NAMES },
    values: { ':leaseToken': { S: hold.token } },
  };
}

/** Writes for a resync that holds no lease: only while nobody holds a running one, which it clears. */
export function unheldClause(now: number): LeaseClause {
  return {
    condition: 'attribute_not_exists(#leaseHolder) OR #leaseUntil < :leaseClock',
    remove: '#leaseHolder, #leaseToken, #leaseUntil',
    names: { ...NAMES },
    values: { ':leaseClock': { N: String(now) } },
  };
}

/** The lease a status row records, if any. */
export function recordedLease(row: StateRow | undefined): RecordedLease | undefined {
  const holder = row?.leaseHolder?.S;
  const until = row?.leaseUntil?.N;
  return holder !== undefined && until !== undefined ? { resyncId: holder, until: Number(until) } : undefined;
}

/**
 * Joins an update's own `SET` and `REMOVE` parts with a lease clause into one UpdateExpression
 * and its condition.
 */
export function withLease(
  update: {
    set?: string;
    remove?: string;
    add?: string;
    names?: Record<string, string>;
    values?: Record<string, AttributeValue>;
  },
  clause: LeaseClause | undefined,
): {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
} {
  const set = [update.set, clause?.set].filter(Boolean).join(', ');
  const remove = [update.remove, clause?.remove].filter(Boolean).join(', ');
  const expression = [set && `SET ${set}`, remove && `REMOVE ${remove}`, update.add && `ADD ${update.add}`]
    .filter(Boolean)
    .join(' ');
  const names = { ...update.names, ...clause?.names };
  const values = { ...update.values, ...clause?.values };
  return {
    UpdateExpression: expression,
    ...(clause ? { ConditionExpression: clause.condition } : {}),
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}
