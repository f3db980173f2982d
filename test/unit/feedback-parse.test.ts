import { describe, expect, it } from '@jest/globals';
import { correlationIdsOf, parseFeedbackRecord } from '../../lib/feedback/parse.ts';
import { feedbackRow } from '../../lib/cli/output.ts';

const record = {
  version: 1,
  event: 'change',
  plugin: 'routes',
  status: 'ok',
  source: { type: 'sqs', name: 'q' },
  changes: [
    { key: 'config/a', op: 'put', correlationId: 'c-1' },
    { key: 'config/b', op: 'delete', correlationId: 'c-2' },
  ],
  time: '2026-11-26T04:00:00.000Z',
  durationMs: 1,
};

describe('feedback parsing', () => {
  it('reads a record and every correlation id it reports on', () => {
    const parsed = parseFeedbackRecord(JSON.stringify(record));
    expect([...correlationIdsOf(parsed)].sort()).toEqual(['c-1', 'c-2']);
    expect(feedbackRow(parsed)).toMatch(
      /^2026-11-26T04:00:00\.000Z\s+change\s+routes\s+ok\s+-\s+put config\/a, delete config\/b$/,
    );
  });

  it('refuses what is not a feedback record, saying why', () => {
    expect(() => parseFeedbackRecord('nope')).toThrow(expect.objectContaining({ code: 'INVALID_FEEDBACK' }));
    expect(() => parseFeedbackRecord(JSON.stringify({ ...record, version: 2 }))).toThrow(/version 2/);
    expect(() => parseFeedbackRecord(JSON.stringify({ ...record, status: 'fine' }))).toThrow(/status/);
    expect(() => parseFeedbackRecord(JSON.stringify({ ...record, plugin: undefined }))).toThrow(/plugin/);
  });
});
