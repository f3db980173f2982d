import fc from 'fast-check';

/** The table's keys schedules write: two subtrees, so plugins with different prefixes overlap on some. */
export const KEYS = ['cfg/a/k0', 'cfg/a/k1', 'cfg/a/k2', 'cfg/b/k0', 'cfg/b/k1'] as const;
/** Keys no table holds: only the buses carry them, through the ordered (FIFO) queue. */
export const BUS_KEYS = ['evt/k0', 'evt/k1'] as const;

/** The sources a change is published through. */
export type PublishSource = 'dynamodb' | 'http' | 'sqs' | 'eventbridge';
/** The event sources the harness delivers from (`ordered`: the FIFO queue bus keys move to). */
export type DeliverySource = 'stream' | 'sqs' | 'eventbridge' | 'ordered';

/** One step of a schedule. */
export type Step =
  | {
      readonly kind: 'publish';
      readonly source: PublishSource;
      readonly key: number;
      readonly op: 'put' | 'delete';
      readonly value: number;
    }
  | {
      readonly kind: 'deliver';
      readonly source: DeliverySource;
      readonly max: number;
      /** Pick messages in a random order (SQS standard and EventBridge are unordered). */
      readonly shuffle: boolean;
      /** Keep a copy of a delivered message for a later redelivery (at-least-once). */
      readonly duplicate: boolean;
      /** The invocation crashes after the plugins ran (its feedback write fails), so the source retries it. */
      readonly crash: boolean;
      /**
       * Two invocations at once, in two containers sharing the state table: the batch split in
       * two (for the FIFO queue, by message group, as SQS hands a group to one invocation).
       */
      readonly concurrent?: boolean;
      readonly seed: number;
    }
  | {
      readonly kind: 'plugin-fault';
      readonly plugin: number;
      readonly fault: 'error' | 'timeout';
      readonly times: number;
    }
  | { readonly kind: 'aws-fault'; readonly fault: 'throttle' | 'server-error'; readonly times: number }
  /** A resync of all plugins (or one), run alongside the next delivery (and other such resyncs) when `concurrent`. */
  | { readonly kind: 'resync'; readonly plugin?: number; readonly concurrent: boolean };

/** How large the schedules are. */
export interface ScheduleSize {
  readonly minSteps: number;
  readonly maxSteps: number;
}

/** The arbitrary of schedules: publishes dominate, deliveries interleave, faults and resyncs are rarer. */
export function scheduleArbitrary(size: ScheduleSize): fc.Arbitrary<Step[]> {
  const publish = fc.record({
    kind: fc.constant('publish' as const),
    source: fc.constantFrom<PublishSource>('dynamodb', 'http', 'sqs', 'eventbridge'),
    key: fc.nat(KEYS.length + BUS_KEYS.length - 1),
    op: fc.constantFrom<'put' | 'delete'>('put', 'put', 'delete'),
    value: fc.nat(999),
  });
  const deliver = fc.record({
    kind: fc.constant('deliver' as const),
    source: fc.constantFrom<DeliverySource>('stream', 'sqs', 'eventbridge', 'ordered'),
    max: fc.integer({ min: 1, max: 10 }),
    shuffle: fc.boolean(),
    duplicate: fc.boolean(),
    crash: fc.boolean().chain((crash) => (crash ? fc.boolean() : fc.constant(false))),
    concurrent: fc.boolean(),
    seed: fc.nat(),
  });
  const pluginFault = fc.record({
    kind: fc.constant('plugin-fault' as const),
    plugin: fc.nat(2),
    fault: fc.constantFrom<'error' | 'timeout'>('error', 'timeout'),
    times: fc.integer({ min: 1, max: 4 }),
  });
  const awsFault = fc.record({
    kind: fc.constant('aws-fault' as const),
    fault: fc.constantFrom<'throttle' | 'server-error'>('throttle', 'server-error'),
    times: fc.integer({ min: 1, max: 5 }),
  });
  const resync = fc
    .record({
      kind: fc.constant('resync' as const),
      plugin: fc.option(fc.nat(2), { nil: undefined }),
      concurrent: fc.boolean(),
    })
    .map((step) => (step.plugin === undefined ? { kind: step.kind, concurrent: step.concurrent } : step));
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 8, arbitrary: publish },
    { weight: 6, arbitrary: deliver },
    { weight: 1, arbitrary: pluginFault },
    { weight: 1, arbitrary: awsFault },
    { weight: 1, arbitrary: resync },
  );
  return fc.array(step, { minLength: size.minSteps, maxLength: size.maxSteps });
}

/** A small deterministic generator (mulberry32), so a step's choices replay from its seed. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
