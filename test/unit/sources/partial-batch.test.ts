import {
  batchResponse,
  fifoQueueFailures,
  standardQueueFailures,
  streamFailures,
} from '../../../lib/sources/partial-batch.ts';

const msg = (messageId: string, group?: string) => ({
  messageId,
  ...(group ? { attributes: { MessageGroupId: group } } : {}),
});

describe('partial batch responses', () => {
  it('standard queues report only the failed messages', () => {
    expect(standardQueueFailures([msg('a'), msg('b'), msg('c')], new Set(['b']))).toEqual(['b']);
  });

  it('FIFO queues report the failed message and the rest of its group only', () => {
    const records = [msg('1', 'g1'), msg('2', 'g2'), msg('3', 'g1'), msg('4', 'g2'), msg('5', 'g1'), msg('6', 'g3')];
    expect(fifoQueueFailures(records, new Set(['3']))).toEqual(['3', '5']);
    expect(fifoQueueFailures(records, new Set(['2', '5']))).toEqual(['2', '4', '5']);
    expect(fifoQueueFailures(records, new Set())).toEqual([]);
  });

  it('streams report the lowest failed sequence number and everything after it, compared as big integers', () => {
    const sequences = ['9', '10', '100000000000000000000001', '100000000000000000000002'];
    // As JS numbers the two long ones are equal; as text '9' > '10'. Neither may decide.
    expect(streamFailures(sequences, new Set(['100000000000000000000002', '10']))).toEqual([
      '10',
      '100000000000000000000001',
      '100000000000000000000002',
    ]);
    expect(streamFailures(sequences, new Set(['100000000000000000000002']))).toEqual(['100000000000000000000002']);
    expect(streamFailures(sequences, new Set())).toEqual([]);
  });

  it('builds the Lambda response shape', () => {
    expect(batchResponse(['a'])).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }] });
    expect(batchResponse([])).toEqual({ batchItemFailures: [] });
  });
});
