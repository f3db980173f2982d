import { planHeldChanges, keyRecordsAfter } from '../../lib/state/held.ts';
import {
  BUCKETS,
  bucketOf,
  bucketRange,
  bucketRuns,
  heldSort,
  keyOfSort,
  keyRowKey,
  keyRowRanges,
  keySort,
  padRevision,
  SNAPSHOT_GROUPS,
  SORT,
  groupOf,
  groupOfSnapshotSort,
  groupRange,
  snapshotSort,
  stateTableDefinition,
  unpadRevision,
} from '../../lib/state/table.ts';
import { toPluginState } from '../../lib/state/status.ts';
import { parseResyncRequest, newResyncId } from '../../lib/resync/request.ts';
import { addKeys, sameKeys } from '../../lib/resync/digest.ts';
import { chooseSegments, tablesForPrefixes } from '../../lib/resync/tables.ts';
import type { HeldKey } from '../../lib/state/store.ts';
import { del, put } from '../support/changes.ts';

const table = { name: 't', prefix: 'config', keyAttributes: ['pk'] };

describe('held changes after a resync', () => {
  const held = (entries: Array<[string, HeldKey]>) => new Map(entries);

  test('orders per key by revision and drops what the snapshot already had', () => {
    const plan = planHeldChanges(
      [put('k/a', 1, 5), put('k/a', 1, 3), put('k/b', 1, 2), put('k/a', 1, 4)],
      held([['k/a', { revision: '3', present: true }]]),
    );
    expect(plan.deliver.map((change) => `${change.key}@${change.revision}`)).toEqual(['k/a@4', 'k/a@5', 'k/b@2']);
    expect(plan.skipped.map((change) => change.revision)).toEqual(['3']);
  });

  test('a delete of a key the resync already reported deleted is not applied again', () => {
    const plan = planHeldChanges([del('k/a', 7)], held([['k/a', { revision: '1', present: false }]]));
    expect(plan.deliver).toEqual([]);
    expect(plan.skipped).toHaveLength(1);
  });

  test('a put then a delete of a deleted key are both applied', () => {
    const plan = planHeldChanges(
      [del('k/a', 7), put('k/a', 1, 8), del('k/a', 9)],
      held([['k/a', { revision: '1', present: false }]]),
    );
    expect(plan.deliver.map((change) => `${change.op}@${change.revision}`)).toEqual(['put@8', 'delete@9']);
  });

  test('a delete of a key the plugin holds or never saw is applied', () => {
    expect(planHeldChanges([del('k/a', 2)], held([['k/a', { revision: '1', present: true }]])).deliver).toHaveLength(1);
    expect(planHeldChanges([del('k/x', 2)], held([])).deliver).toHaveLength(1);
  });

  test('key records keep the last change per key and never lose a known revision', () => {
    expect(
      keyRecordsAfter([put('k/a', 1, 2), del('k/a', 3), put('k/b', 1)], new Map([['k/b', { revision: '9' }]])),
    ).toEqual([
      { key: 'k/a', revision: '3', present: false },
      { key: 'k/b', revision: '9', present: true },
    ]);
  });
});

describe('state table layout', () => {
  test('padded revisions sort as numbers, even beyond 2^53', () => {
    const revisions = [
      '10',
      '9',
      '100000000000000000000000000000000000009',
      '100000000000000000000000000000000000010',
      '0',
    ];
    const sorted = [...revisions].map(padRevision).sort().map(unpadRevision);
    expect(sorted).toEqual([
      '0',
      '9',
      '10',
      '100000000000000000000000000000000000009',
      '100000000000000000000000000000000000010',
    ]);
  });

  test('held changes sort by arrival', () => {
    const keys = [heldSort(1000), heldSort(1000), heldSort(999), heldSort(1001)];
    expect([...keys].sort()).toEqual([keys[2], keys[0], keys[1], keys[3]]);
  });

  test('the table definition has string pk and sk and on-demand capacity', () => {
    expect(stateTableDefinition('s')).toMatchObject({
      TableName: 's',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  test('key rows name their key, whatever characters it has', () => {
    for (const key of ['config/a', 'a#b$c', 'ünïcödé/é', '']) expect(keyOfSort(keySort(key))).toBe(key);
  });

  test('a key bucket is fixed, and keys spread over all buckets', () => {
    // Stored in sort keys: a change of the hash would strand every row written before it.
    expect([bucketOf(''), bucketOf('config/interfaces/eth0'), bucketOf('item/42')]).toEqual([197, 228, 173]);
    const counts = new Array<number>(BUCKETS).fill(0);
    for (let n = 0; n < 25_600; n += 1) counts[bucketOf(`item/${n}`)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(160);
  });

  test("a bucket range holds exactly its buckets' key and snapshot rows", () => {
    const inRange = (sort: string, [from, to]: readonly [string, string]) => from <= sort && sort <= to;
    for (const key of ['config/a', 'a#b', 'x$y', 'item/7', 'z']) {
      const bucket = bucketOf(key);
      expect(inRange(keySort(key), bucketRange('', bucket, bucket))).toBe(true);
      if (bucket > 0) expect(inRange(keySort(key), bucketRange('', 0, bucket - 1))).toBe(false);
      if (bucket < BUCKETS - 1) expect(inRange(keySort(key), bucketRange('', bucket + 1, BUCKETS - 1))).toBe(false);
      // The key's row lies in one partition's range of the buckets around it.
      const covering = keyRowRanges(Math.max(0, bucket - 20), Math.min(BUCKETS - 1, bucket + 20));
      expect(
        covering.filter(({ partition, range }) => partition === keyRowKey(key).pk && inRange(keySort(key), range)),
      ).toHaveLength(1);
      // A snapshot row of the key's group lies in the range of that group, and of no other.
      const group = groupOf(bucket);
      expect(inRange(snapshotSort(group, 12, 1), groupRange(group, group))).toBe(true);
      if (group > 0) expect(inRange(snapshotSort(group, 12, 1), groupRange(0, group - 1))).toBe(false);
      if (group < SNAPSHOT_GROUPS - 1)
        expect(inRange(snapshotSort(group, 12, 1), groupRange(group + 1, SNAPSHOT_GROUPS - 1))).toBe(false);
      expect(groupOfSnapshotSort(snapshotSort(group, 12, 1))).toBe(group);
      expect(inRange(SORT.meta, groupRange(0, SNAPSHOT_GROUPS - 1))).toBe(false);
    }
  });

  test('snapshot digests agree on a bucket exactly when it holds the same keys, in any order', () => {
    const keys = Array.from({ length: 2_000 }, (_, n) => `item/${n}`);
    const forward = addKeys(addKeys({}, keys.slice(0, 700)), keys.slice(700));
    const backward = addKeys({}, [...keys].reverse());
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) expect(sameKeys(forward, backward, bucket)).toBe(true);
    // One key gone, one key swapped for another of the same bucket: only that bucket differs.
    const gone = keys[17]!;
    const without = addKeys(
      {},
      keys.filter((key) => key !== gone),
    );
    const swapped = keys.find((key, n) => n > 1_000 && bucketOf(key) === bucketOf(gone))!;
    const other = Array.from({ length: 10_000 }, (_, n) => `other/${n}`).find(
      (key) => bucketOf(key) === bucketOf(gone),
    )!;
    const replaced = addKeys(
      {},
      keys.map((key) => (key === swapped ? other : key)),
    );
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
      expect(sameKeys(forward, without, bucket)).toBe(bucket !== bucketOf(gone));
      expect(sameKeys(forward, replaced, bucket)).toBe(bucket !== bucketOf(gone));
    }
    expect(sameKeys({}, {}, 3)).toBe(true);
    expect(sameKeys({}, addKeys({}, ['a']), bucketOf('a'))).toBe(false);
  });

  test('buckets to compare are read in runs of consecutive buckets', () => {
    expect(bucketRuns([5, 1, 2, 3, 9, 10, 255])).toEqual([
      [1, 3],
      [5, 5],
      [9, 10],
      [255, 255],
    ]);
    expect(bucketRuns([])).toEqual([]);
  });

  test('a plugin with no status row never synced', () => {
    expect(toPluginState('p', undefined)).toEqual({
      plugin: 'p',
      status: 'never-synced',
      items: 0,
      deleted: 0,
      failures: 0,
    });
  });
});

describe('resync requests', () => {
  test('a minimal request gets an id and the manual reason', () => {
    const request = parseResyncRequest({ datasync: 'resync' });
    expect(request).toMatchObject({ datasync: 'resync', reason: 'manual' });
    expect(request.resyncId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  });

  test.each([
    [null, 'JSON object'],
    [{ datasync: 1 }, '"datasync": "resync"'],
    [{ datasync: 'resync', reason: 'whim' }, 'reason must be one of'],
    [{ datasync: 'resync', plugins: 'a' }, 'list of plugin names'],
    [{ datasync: 'resync', resyncId: 'a b' }, 'resyncId'],
    [{ datasync: 'resync', reason: 'continuation' }, 'must name the resync'],
  ])('refuses %j', (input, message) => {
    expect(() => parseResyncRequest(input)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining(message) }),
    );
  });

  test('ids are unique', () => {
    expect(newResyncId(0)).not.toEqual(newResyncId(0));
  });
});

describe('tables and segments', () => {
  test('a plugin reads the tables whose prefix overlaps its own', () => {
    const tables = [table, { ...table, name: 'u', prefix: 'routes' }, { ...table, name: 'v', prefix: 'config/acl' }];
    expect(tablesForPrefixes(tables, ['config/if']).map((t) => t.name)).toEqual(['t']);
    expect(tablesForPrefixes(tables, ['config']).map((t) => t.name)).toEqual(['t', 'v']);
  });

  test('segments grow with table size up to the bound, or are fixed', () => {
    expect(chooseSegments(table, 0, 0)).toBe(1);
    expect(chooseSegments(table, 3 * 512 * 1024 * 1024, 0)).toBe(3);
    expect(chooseSegments(table, 100 * 1024 ** 3, 0)).toBe(8);
    expect(chooseSegments(table, 0, 0, { segments: 4 })).toBe(4);
    expect(chooseSegments(table, 0, 50, { segments: (_t, _b, items) => items / 10 })).toBe(5);
    expect(() => chooseSegments(table, 0, 0, { segments: 1.5 })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION' }),
    );
  });
});
