import type { StandardSchemaV1 } from '@standard-schema/spec';
import { interfaceSchema } from '../../examples/plugins/index.ts';
import { checkChange } from '../../lib/model/change-rules.ts';
import {
  createDatasync,
  DatasyncError,
  parseEnvelope,
  SchemaMismatchError,
  type Change,
  type PrefixSchema,
} from '../../lib/index.ts';
import { event, put } from '../support/changes.ts';

/** A hand-written Standard Schema: any validator that speaks the interface works. */
function schema<T>(
  check: (value: unknown) => StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>,
): StandardSchemaV1<unknown, T> & { calls: number } {
  const counted = {
    calls: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: (value: unknown) => {
        counted.calls += 1;
        return check(value);
      },
    },
  };
  return counted;
}

/** Accepts objects whose `n` is a number below `max`, and outputs `{ n, checked: true }`. */
const below = (max: number) =>
  schema<{ n: number; checked: boolean }>((value) => {
    const n = (value as { n?: unknown } | null)?.n;
    return typeof n === 'number' && n < max
      ? { value: { n, checked: true } }
      : { issues: [{ message: `must be a number below ${max}`, path: [{ key: 'n' }] }] };
  });

const rules = (schemas: readonly PrefixSchema[]) => ({ origin: 'client' as const, schemas });
const draft = (key: string, value: unknown) => ({ key, op: 'put', hasValue: true, value });

describe('values checked against the schemas by prefix', () => {
  it('refuses a value any covering schema refuses, naming key, prefix, plugin and issues', () => {
    const broad = below(100);
    const narrow = below(10);
    const schemas = [
      { prefix: 'config', schema: broad, plugin: 'audit' },
      { prefix: 'config/interfaces', schema: narrow, plugin: 'interfaces' },
    ];
    // Overlapping prefixes: both must accept.
    expect(checkChange(draft('config/interfaces/eth0', { n: 5 }), rules(schemas))).toMatchObject({ value: { n: 5 } });
    let refused: unknown;
    try {
      checkChange(draft('config/interfaces/eth0', { n: 50 }), rules(schemas));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(SchemaMismatchError);
    expect(refused).toMatchObject({
      code: 'SCHEMA_MISMATCH',
      key: 'config/interfaces/eth0',
      prefix: 'config/interfaces',
      plugin: 'interfaces',
      issues: [{ message: 'must be a number below 10', path: ['n'] }],
      message:
        'value of config/interfaces/eth0 does not fit the schema of plugin "interfaces" (config/interfaces): n: must be a number below 10',
    });
    // Outside the narrow prefix only the broad schema applies; whole segments decide.
    expect(() => checkChange(draft('config/interfacesX/a', { n: 50 }), rules(schemas))).not.toThrow();
    expect(() => checkChange(draft('other/a', 'anything'), rules(schemas))).not.toThrow();
  });

  it('checks puts only: deletes and previous values pass, so a value that does not fit can be mended or removed', () => {
    const schemas = [{ prefix: 'a', schema: below(10) }];
    expect(() => checkChange({ key: 'a/x', op: 'delete', hasValue: false }, rules(schemas))).not.toThrow();
    expect(() =>
      checkChange({ ...draft('a/x', { n: 1 }), hasPrevValue: true, prevValue: { n: 99 } }, rules(schemas)),
    ).not.toThrow();
  });

  it('a bus envelope refused by a schema keeps its code and carries the sender correlation id', () => {
    expect(() =>
      parseEnvelope(
        { datasync: 1, key: 'a/x', op: 'put', value: { n: 99 }, correlationId: 'c-1' },
        { schemas: [{ prefix: 'a', schema: below(10) }] },
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_MISMATCH',
        details: expect.objectContaining({ key: 'a/x', correlationId: 'c-1', prefix: 'a' }),
      }),
    );
  });

  it('an asynchronous or throwing validator is a configuration error, not a refusal of the input', () => {
    const asynchronous = schema(async () => ({ value: 1 }));
    const throwing = schema(() => {
      throw new Error('validator bug');
    });
    for (const [broken, reason] of [
      [asynchronous, /validates asynchronously/],
      [throwing, /threw: validator bug/],
    ] as const) {
      let error: unknown;
      try {
        checkChange(draft('a/x', { n: 1 }), rules([{ prefix: 'a', schema: broken, plugin: 'p' }]));
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(DatasyncError);
      expect(error).not.toBeInstanceOf(SchemaMismatchError);
      expect(error).toMatchObject({ code: 'CONFIGURATION', message: expect.stringMatching(reason) });
    }
  });

  it('hands the plugin that declared the schema its output, for the value and the previous value', async () => {
    const seen: Change<{ n: number; checked: boolean }>[] = [];
    const datasync = createDatasync();
    datasync.watch('p', { schema: below(10), resync: () => {}, change: (changes) => void seen.push(...changes) }, 'a');
    await datasync.dispatch(event([{ ...put('a/x', { n: 3 }, 1), prevValue: { n: 2 } }]));
    expect(seen.map((change) => [change.value, change.prevValue])).toEqual([
      [
        { n: 3, checked: true },
        { n: 2, checked: true },
      ],
    ]);
  });
});

describe('a plugin with a schema', () => {
  it('lists its prefixes with its schema for the sources, as they change', () => {
    const datasync = createDatasync();
    const registration = datasync.watch(
      'interfaces',
      { schema: interfaceSchema, resync: () => {}, change: () => {} },
      'config/interfaces',
    );
    datasync.watch('plain', { resync: () => {}, change: () => {} }, 'config');
    expect(datasync.schemas()).toEqual([
      { prefix: 'config/interfaces', schema: interfaceSchema, plugin: 'interfaces' },
    ]);
    registration.register('lab/interfaces');
    expect(datasync.schemas().map((entry) => entry.prefix)).toEqual(['config/interfaces', 'lab/interfaces']);
    registration.close();
    expect(datasync.schemas()).toEqual([]);
  });

  it('refuses at registration a schema that is not a Standard Schema', () => {
    const datasync = createDatasync();
    expect(() =>
      datasync.watch('bad', { schema: { parse: () => 1 } as never, resync: () => {}, change: () => {} }, 'a'),
    ).toThrow(/not a Standard Schema/);
  });

  it('given a value that does not fit (handed to dispatch directly), fails that change in its feedback and applies the rest', async () => {
    const seen: string[] = [];
    const datasync = createDatasync();
    datasync.watch(
      'interfaces',
      { schema: interfaceSchema, resync: () => {}, change: (changes) => void seen.push(...changes.map((c) => c.key)) },
      'config/interfaces',
    );
    const [outcome] = await datasync.dispatch(
      event([put('config/interfaces/eth0', { mtu: 1500 }, 1), put('config/interfaces/eth1', { mtu: 'big' }, 1)]),
    );
    expect(seen).toEqual(['config/interfaces/eth0']);
    expect(outcome!.feedback).toMatchObject({
      status: 'error',
      changes: [{ key: 'config/interfaces/eth1' }],
      applied: [{ key: 'config/interfaces/eth0' }],
      error: { code: 'PLUGIN_FAILED', message: expect.stringContaining('mtu: Invalid type: Expected number') },
    });
  });
});
