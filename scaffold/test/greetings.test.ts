// The example plugin as datasync delivers to it: through the core, which routes each change to the
// plugins watching its key and keeps every key's changes in revision order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatasyncCore, type Change } from 'serverless-datasync';
import { createGreetingsPlugin, GREETINGS_PREFIX } from '../plugins/greetings.ts';

const source = { type: 'sqs', name: 'test' } as const;
const change = (key: string, op: 'put' | 'delete', revision: string, value?: string): Change => ({
  key,
  op,
  revision,
  source,
  time: new Date(0).toISOString(),
  ...(value === undefined ? {} : { value: { text: value } }),
});

test('changes under the prefix reach the plugin in revision order; others do not', async () => {
  const greetings = createGreetingsPlugin(() => {});
  const datasync = createDatasyncCore({ plugins: [greetings] });
  const outcomes = await datasync.dispatch({
    source,
    changes: [
      change(`${GREETINGS_PREFIX}/en`, 'put', '2', 'Hello'),
      change(`${GREETINGS_PREFIX}/fr`, 'put', '1', 'Bonjour'),
      change(`${GREETINGS_PREFIX}/en`, 'put', '1', 'Hi'),
      change('config/other/x', 'put', '1', 'not mine'),
    ],
  });
  assert.deepEqual(
    outcomes.map((outcome) => [outcome.feedback.plugin, outcome.feedback.status]),
    [['greetings', 'ok']],
  );
  assert.deepEqual(greetings.get('en'), { text: 'Hello' });
  assert.deepEqual(greetings.names().sort(), ['en', 'fr']);

  await datasync.dispatch({ source, changes: [change(`${GREETINGS_PREFIX}/fr`, 'delete', '2')] });
  assert.deepEqual(greetings.names(), ['en']);
});
