import type { Context } from 'aws-lambda';
import { createDatasync, createResyncHandler } from '../../lib/index.ts';

const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

describe('resync handler input', () => {
  const handler = createResyncHandler(createDatasync());

  test('a malformed invoke payload is refused with INVALID_REQUEST', async () => {
    await expect(handler({ datasync: 'resync', reason: 'whenever' }, context)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(handler({ hello: 'world' }, context)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  test('without a feedback queue configured the handler refuses to run rather than lose results', async () => {
    const saved = process.env.DATASYNC_FEEDBACK_QUEUE_URL;
    delete process.env.DATASYNC_FEEDBACK_QUEUE_URL;
    try {
      await expect(handler({ datasync: 'resync' }, context)).rejects.toMatchObject({
        code: 'CONFIGURATION',
        message: expect.stringContaining('DATASYNC_FEEDBACK_QUEUE_URL'),
      });
    } finally {
      if (saved !== undefined) process.env.DATASYNC_FEEDBACK_QUEUE_URL = saved;
    }
  });
});
