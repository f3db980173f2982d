import type { SnapshotEntry } from '../../lib/plugins/plugin.ts';
import { RunSpools, SnapshotSpool } from '../../lib/resync/spool.ts';
import { decodeSnapshotRow, encodeSnapshotRows, type SnapshotRecord } from '../../lib/state/snapshot-rows.ts';
import { bucketOf, groupEnd, groupOf } from '../../lib/state/table.ts';

describe('snapshot rows', () => {
  test('record every key and version once, a row per group, the shared start of the keys stored once', () => {
    const records: SnapshotRecord[] = Array.from({ length: 400 }, (_, n) =>
      n % 3 === 0 ? [`config/interfaces/eth${n}`] : [`config/interfaces/eth${n}`, String(n)],
    );
    const rows = encodeSnapshotRows(records);
    expect(new Set(rows.map((row) => row.group)).size).toBe(rows.length);
    for (const row of rows) {
      expect(row.attributes.prefix?.S).toBe('config/interfaces/eth');
      for (const [key] of decodeSnapshotRow(row.attributes)) expect(groupOf(bucketOf(key))).toBe(row.group);
    }
    const decoded = rows.flatMap((row) => decodeSnapshotRow(row.attributes));
    expect(decoded.sort()).toEqual([...records].sort());
    // Each key costs its own digits and version, not the 21 characters every key starts with.
    const text = rows.reduce((sum, row) => sum + row.attributes.keys!.S!.length, 0);
    expect(text).toBeLessThan(records.length * 12);
  });

  test('keep keys whole when they share nothing, or share part of a character', () => {
    const records: SnapshotRecord[] = [['a/x'], ['b/y', '7'], ['z/😀a'], ['z/😁b'], ['é/1']];
    const decoded = encodeSnapshotRows(records).flatMap((row) => decodeSnapshotRow(row.attributes));
    expect(decoded.sort()).toEqual([...records].sort());
  });

  test('split a group that would pass the item size limit into parts', () => {
    const long = 'k'.repeat(700);
    const records: SnapshotRecord[] = Array.from({ length: 3_000 }, (_, n) => [`${n}/${long}`, '1']);
    const rows = encodeSnapshotRows(records);
    expect(rows.some((row) => row.part > 0)).toBe(true);
    for (const row of rows) expect(Buffer.byteLength(row.attributes.keys!.S!)).toBeLessThan(120_000);
    expect(rows.flatMap((row) => decodeSnapshotRow(row.attributes))).toHaveLength(records.length);
  });
});

describe('the spool of a shared snapshot', () => {
  const put = (key: string): SnapshotEntry => ({ op: 'put', key, value: { key } });

  test('hands the pages back group by group, each entry once, from where a checkpoint left off', () => {
    const spool = new SnapshotSpool('s', 1_000_000);
    const pages = [0, 1, 2].map((page) => Array.from({ length: 50 }, (_, n) => put(`k/${page}/${n}`)));
    pages.forEach((entries, page) => {
      spool.add(page, 1_000 + page, entries);
    });
    expect(spool.complete).toBe(false);
    spool.finish();
    expect(spool.complete).toBe(true);
    const groups = [...spool.groups()];
    expect(groups.flatMap((group) => group.entries.map((entry) => entry.key)).sort()).toEqual(
      pages
        .flat()
        .map((entry) => entry.key)
        .sort(),
    );
    for (const group of groups) {
      const number = Number.parseInt(group.after[0]!, 16);
      expect(group.after).toBe(groupEnd(number));
      for (const entry of group.entries) expect(groupOf(bucketOf(entry.key))).toBe(number);
      // Fenced from when its first page was scanned.
      expect(group.at).toBe(1_000);
    }
    const rest = [...spool.groups(groups[2]!.after)];
    expect(rest.map((group) => group.after)).toEqual(groups.slice(3).map((group) => group.after));
  });

  test('drops its pages past its memory limit, and so never counts as complete', () => {
    const spools = new RunSpools(2_000);
    const spool = spools.open('s');
    spool.add(
      0,
      1,
      Array.from({ length: 100 }, (_, n) => put(`k/${n}`)),
    );
    spool.finish();
    expect(spool.complete).toBe(false);
    expect([...spool.groups()]).toEqual([]);
  });
});
