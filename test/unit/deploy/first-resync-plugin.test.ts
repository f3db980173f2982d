// The local serverless plugin that starts a resync after `serverless deploy`.
import { parseResyncRequest } from '../../../lib/resync/request.ts';

type Hook = () => Promise<void>;
interface PluginInstance {
  hooks: Record<string, Hook>;
}
type PluginClass = new (
  serverless: unknown,
  options: unknown,
  utils: { log: { notice(message: string): void } },
) => PluginInstance;

// A CommonJS file (serverless loads plugins with require).
const FirstResyncPlugin = require('../../../infra/serverless-plugins/first-resync.cjs') as PluginClass;

function setUp(
  resyncAfterDeploy: unknown,
  request: (...args: unknown[]) => Promise<unknown> = async () => ({ StatusCode: 202 }),
) {
  const calls: unknown[][] = [];
  const notices: string[] = [];
  const serverless = {
    service: {
      custom: { datasync: { resyncAfterDeploy } },
      getFunction: (name: string) => ({ name: `serverless-datasync-prod-${name}` }),
    },
    getProvider: () => ({
      request: (...args: unknown[]) => {
        calls.push(args);
        return request(...args);
      },
    }),
  };
  const plugin = new FirstResyncPlugin(serverless, {}, { log: { notice: (message) => notices.push(message) } });
  return { plugin, calls, notices };
}

describe('post-deploy resync plugin', () => {
  it('runs only after the stack is deployed, never while packaging', () => {
    expect(Object.keys(setUp(true).plugin.hooks)).toEqual(['after:deploy:deploy']);
  });

  it('invokes the resync function asynchronously with reason first-start', async () => {
    const { plugin, calls } = setUp(true);
    await plugin.hooks['after:deploy:deploy']!();
    expect(calls).toEqual([
      [
        'Lambda',
        'invoke',
        {
          FunctionName: 'serverless-datasync-prod-resync',
          InvocationType: 'Event',
          Payload: '{"datasync":"resync","reason":"first-start"}',
        },
      ],
    ]);
    // The resync handler must accept exactly what the plugin sends.
    expect(parseResyncRequest(JSON.parse((calls[0]![2] as { Payload: string }).Payload))).toMatchObject({
      reason: 'first-start',
    });
  });

  it('is skipped, and says so, when the resyncAfterDeploy parameter is false', async () => {
    for (const off of [false, 'false']) {
      const { plugin, calls, notices } = setUp(off);
      await plugin.hooks['after:deploy:deploy']!();
      expect(calls).toEqual([]);
      expect(notices.join()).toMatch(/skipped/);
    }
  });

  it('fails the deploy command when the resync cannot be started', async () => {
    const { plugin } = setUp(true, async () => {
      throw new Error('AccessDenied');
    });
    await expect(plugin.hooks['after:deploy:deploy']!()).rejects.toThrow('AccessDenied');
  });
});
