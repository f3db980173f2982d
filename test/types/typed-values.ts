// The types of typed values, checked by `tsc --noEmit -p .` (the first step of `npm test`); this
// file is never run. Each `@ts-expect-error` must meet an error: if a type loosened (a value typed
// as any JSON again, a put no longer checked), the directive would be unused and tsc would fail.
// `Equal` asserts exact types where a looser one would still compile.
import * as v from 'valibot';
import { interfaceSchema, routeSchema, type InterfaceConfig } from '../../examples/plugins/index.ts';
import {
  createDatasync,
  createPublisher,
  createTablesPublisher,
  definePlugin,
  type Change,
  type JsonValue,
  type Plugin,
  type SnapshotEntry,
} from '../../lib/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

const datasync = createDatasync();

// watch(name, { schema, … }, prefix): the callbacks' values take the schema's output type.
datasync.watch(
  'interfaces',
  {
    schema: interfaceSchema,
    change(changes) {
      for (const change of changes) {
        assertType<Equal<typeof change, Change<InterfaceConfig>>>();
        const mtu: number | undefined = change.value?.mtu;
        const before: number | undefined = change.prevValue?.mtu;
        // @ts-expect-error: mtu is a number, not a string.
        const wrong: string | undefined = change.value?.mtu;
        void [mtu, before, wrong];
      }
    },
    async resync(snapshot) {
      for await (const page of snapshot.pages()) {
        for (const entry of page) {
          assertType<Equal<typeof entry, SnapshotEntry<InterfaceConfig>>>();
          // @ts-expect-error: a put entry's value is an interface config, whose mtu is a number.
          if (entry.op === 'put') entry.value.mtu.toUpperCase();
        }
      }
    },
  },
  'config/interfaces',
);

// The output type, not the input type: a transform shows in what the plugin receives.
const stamped = v.pipe(
  v.object({ at: v.string() }),
  v.transform((input) => ({ at: new Date(input.at) })),
);
datasync.watch(
  'stamped',
  {
    schema: stamped,
    change(changes) {
      const at: Date | undefined = changes[0]?.value?.at;
      void at;
    },
    resync() {},
  },
  'config/stamped',
);

// Without a schema the values are plain JSON, as before.
datasync.watch(
  'plain',
  {
    change(changes) {
      assertType<Equal<(typeof changes)[number]['value'], JsonValue | undefined>>();
    },
    resync() {},
  },
  'config/plain',
);

// A plugin object: definePlugin infers its type from the schema; Plugin<typeof schema> names it.
const routes = definePlugin({
  name: 'routes',
  prefixes: ['config/routes'],
  schema: routeSchema,
  sample: { interface: 'eth0' },
  change(changes) {
    const via: string = changes[0]?.value?.interface ?? '';
    void via;
  },
  resync() {},
});
const typed: Plugin<typeof routeSchema> = routes;
definePlugin({
  name: 'routes-bad-sample',
  prefixes: ['config/routes'],
  schema: routeSchema,
  // @ts-expect-error: the sample must be what the schema takes: a route names its interface.
  sample: { via: '192.0.2.1' },
  change() {},
  resync() {},
});
// Plugins of different schemas go in one list.
createDatasync({ plugins: [typed, { name: 'plain', prefixes: ['x'], change() {}, resync() {} }] });

// The publisher: put's value is checked at compile time where the key's prefix is a literal.
const publisher = createPublisher({
  target: { type: 'sqs', queueUrl: 'https://sqs.example/queue' },
  schemas: [
    { prefix: 'config/interfaces', schema: interfaceSchema },
    { prefix: 'config/routes', schema: routeSchema },
  ],
});
void publisher.put('config/interfaces/eth0', { mtu: 9000 });
void publisher.put('config/routes/default', { interface: 'eth0', via: '192.0.2.1' });
// @ts-expect-error: mtu must be a number.
void publisher.put('config/interfaces/eth0', { mtu: 'big' });
// @ts-expect-error: a route names its interface.
void publisher.put('config/routes/default', { via: '192.0.2.1' });
// Whole segments, as at run time: `config/interfacesX` is not under `config/interfaces`.
void publisher.put('config/interfacesX/eth0', { mtu: 'anything' });
// A key known only as a string cannot be matched at compile time: any JSON value, checked at run time.
const someKey: string = 'config/interfaces/eth0';
void publisher.put(someKey, { mtu: 'big' });
// A template literal key is still under its prefix.
const name: string = 'eth1';
// @ts-expect-error: the key is `config/interfaces/${string}`, so the interface schema applies.
void publisher.put(`config/interfaces/${name}`, { mtu: 'big' });

// Overlapping prefixes: a value must fit both schemas.
const overlapping = createTablesPublisher([{ name: 'config', prefix: 'config', keyAttributes: ['pk'] }], {
  schemas: [
    { prefix: 'config', schema: v.object({ owner: v.string() }) },
    { prefix: 'config/interfaces', schema: interfaceSchema },
  ],
});
void overlapping.put('config/interfaces/eth0', { owner: 'noc', mtu: 1500 });
// @ts-expect-error: the `config` schema wants an owner too.
void overlapping.put('config/interfaces/eth0', { mtu: 1500 });

// Without schemas, put takes any JSON value, as before.
const untyped = createPublisher({ target: { type: 'sqs', queueUrl: 'https://sqs.example/queue' } });
void untyped.put('config/interfaces/eth0', { mtu: 'big' });
// @ts-expect-error: still JSON only.
void untyped.put('config/interfaces/eth0', { at: new Date() });
