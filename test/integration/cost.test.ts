// The AWS calls of a batch and of a resync, pinned: the small version of `npm run bench:cost`
// (bench/cost/scenarios.ts), on the emulator through the real SDK. A change that makes the
// functions call AWS more often shows here first; docs/benchmarks.md has the full figures.
import { runCostScenarios, type ScenarioResult } from '../../bench/cost/scenarios.ts';

jest.setTimeout(120_000);

let results: ScenarioResult[];
beforeAll(async () => {
  results = await runCostScenarios({ plugins: [1, 3], items: 200, batch: 100 });
});

const calls = (name: string, plugins: number) => {
  const found = results.find((result) => result.name === name && result.plugins === plugins);
  if (!found) throw new Error(`no scenario "${name}" at ${plugins} plugin(s)`);
  return found.usage.calls;
};

describe('the cost of a batch of 100 changes', () => {
  test.each([1, 3])('is the same few calls whatever the number of plugins (%i)', (plugins) => {
    // 100 key rows and the plugins' status rows: two BatchGetItem calls (100 keys a call).
    expect(calls('stream batch of 100, warm container', plugins)).toEqual({
      BatchGetItem: 2,
      TransactWriteItems: 1,
      SendMessageBatch: 1,
    });
    // A cold container reads the snapshot the plugins share once, whole.
    expect(calls('stream batch of 100, cold container', plugins)).toEqual({
      BatchGetItem: 2,
      Query: 1,
      TransactWriteItems: 1,
      SendMessageBatch: 1,
    });
    // A redelivered batch writes nothing.
    expect(calls('stream batch of 100, duplicates', plugins)).toEqual({ BatchGetItem: 2, SendMessageBatch: 1 });
    // Through the FIFO queue, ten invocations of ten changes each.
    expect(calls('FIFO queue, 100 changes in batches of 10', plugins)).toEqual({
      BatchGetItem: 10,
      TransactWriteItems: 10,
      SendMessageBatch: 10,
    });
  });
});

describe('the cost of a resync', () => {
  test('scans the table once per run, whatever the number of plugins', () => {
    for (const plugins of [1, 3])
      for (const kind of ['first', 'steady']) expect(calls(`resync 200 items, ${kind}`, plugins).Scan).toBe(1);
    expect(calls('resync 200 items, first', 1)).toEqual({
      DescribeTable: 1,
      Scan: 1,
      BatchWriteItem: 1,
      Query: 18,
      GetItem: 4,
      PutItem: 2,
      UpdateItem: 9,
      DeleteItem: 1,
      SendMessageBatch: 1,
    });
    expect(calls('resync 200 items, steady', 3)).toEqual({
      DescribeTable: 3,
      Scan: 1,
      BatchWriteItem: 1,
      BatchGetItem: 1,
      Query: 102,
      GetItem: 15,
      PutItem: 8,
      UpdateItem: 57,
      DeleteItem: 1,
      SendMessageBatch: 3,
    });
  });
});

test('every scenario meets its targets', () => {
  const missed = results.flatMap((result) =>
    result.targets
      .filter((target) => !target.met)
      .map((target) => `${result.name} (P=${result.plugins}): ${target.what} ${target.value} > ${target.limit}`),
  );
  expect(missed).toEqual([]);
});
