import { tablesFromEnvironment } from '../../lib/config.ts';
import { DeadLetterWriteError, FeedbackWriteError, StateFailedError, TableNotFoundError } from '../../lib/errors.ts';

describe('errors that wrap another', () => {
  const cause = new Error('AccessDeniedException: not authorized to perform dynamodb:UpdateItem');

  it('end their message with the wrapped error, which stays the cause', () => {
    const wrapped = [
      new StateFailedError('count a failure of store', cause),
      new FeedbackWriteError(2, 3, { cause }),
      new DeadLetterWriteError(1, 1, { cause }),
      new TableNotFoundError('config', cause),
    ];
    expect(wrapped.map((error) => error.message)).toEqual([
      `sync state: could not count a failure of store: ${cause.message}`,
      `2 of 3 feedback record(s) could not be written: ${cause.message}`,
      `1 of 1 rejected input(s) could not be dead-lettered: ${cause.message}`,
      `table "config" does not exist or cannot be described: ${cause.message}`,
    ]);
    for (const error of wrapped) expect(error.cause).toBe(cause);
  });

  it('read through every level when nested, and say only their own part without a cause', () => {
    const nested = new StateFailedError(
      'hold changes for routes',
      new FeedbackWriteError(1, 1, { cause: 'socket hang up' }),
    );
    expect(nested.message).toBe(
      'sync state: could not hold changes for routes: 1 of 1 feedback record(s) could not be written: socket hang up',
    );
    expect(new TableNotFoundError('config').message).toBe('table "config" does not exist or cannot be described');
  });

  it('say why a configuration could not be read, not only that it could not', () => {
    expect(() => tablesFromEnvironment({ DATASYNC_TABLES: '[{"name": "config",' })).toThrow(
      /^DATASYNC_TABLES is not JSON: .+/,
    );
  });
});
