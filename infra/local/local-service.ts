import { join } from 'node:path';
import type { Handler } from 'aws-lambda';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { ensureEmulator, type Emulator } from './emulator.ts';
import type { Provisioned } from './provision.ts';
import { LocalRunner } from './runner.ts';
import { loadLocalService, SERVICE_DIR, type LocalService } from './service-definition.ts';

/** The whole service running locally: emulator, resources, event sources, handlers, HTTP API. */
export interface RunningService {
  readonly emulator: Emulator;
  readonly clients: AwsClients;
  readonly service: LocalService;
  readonly runner: LocalRunner;
  readonly provisioned: Provisioned;
  /** The functions' environment as set for this process. */
  readonly environment: Readonly<Record<string, string>>;
  /** The loaded handlers by function name. */
  readonly handlers: Readonly<Record<string, Handler<never, unknown>>>;
  /** Stops polling, the HTTP API, and the emulator when this process started it. */
  stop(): Promise<void>;
}

/**
 * Starts the service locally: uses `AWS_ENDPOINT_URL` or the embedded emulator, provisions the
 * resources serverless.yml and infra/ define (idempotently), sets the functions' environment,
 * loads the real handlers from functions/ and starts the event sources.
 */
export async function startLocalService(
  options: {
    /** The folder of the service's serverless.yml and functions/; default this repository. */
    serviceDir?: string;
    stage?: string;
    httpPort?: number;
    log?: (line: string) => void;
    onInvoke?: (fn: string, info: { records: number; failed: number; error?: unknown }) => void;
  } = {},
): Promise<RunningService> {
  const emulator = await ensureEmulator({ ...(options.log ? { log: options.log } : {}) });
  // The SDK reads these; the emulator accepts any credentials.
  process.env.AWS_ENDPOINT_URL = emulator.endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  try {
    const clients = createAwsClients({ endpoint: emulator.endpoint });
    const serviceDir = options.serviceDir ?? SERVICE_DIR;
    const loaded = loadLocalService({
      serviceDir,
      stage: options.stage ?? 'local',
      endpoint: emulator.endpoint,
    });
    const service: LocalService =
      options.httpPort === undefined
        ? loaded
        : {
            ...loaded,
            topology: {
              ...loaded.topology,
              mappings: loaded.topology.mappings.map((m) =>
                m.kind === 'http' ? { ...m, port: options.httpPort! } : m,
              ),
            },
          };
    const environment: Record<string, string> = {};
    const handlers: Record<string, Handler<never, unknown>> = {};
    const runner = new LocalRunner({
      clients,
      topology: service.topology,
      timeoutsMs: service.timeoutsMs,
      idleDelayMs: 100,
      ...(options.onInvoke ? { onInvoke: options.onInvoke } : {}),
      handlers: async (provisioned) => {
        // Queue URLs come from the emulator; the functions read them when their modules load.
        for (const [name, value] of Object.entries(service.environment)) {
          const queue = [...provisioned.queueUrls].find(([queueName]) => value.endsWith(`/${queueName}`));
          environment[name] = queue ? queue[1] : value;
        }
        Object.assign(process.env, environment);
        for (const [name, { module, exportName }] of Object.entries(service.handlers)) {
          // A plain absolute path loads under Node's ES modules and under the test runner alike.
          const loadedModule = (await import(join(serviceDir, module))) as Record<string, unknown>;
          const handler = loadedModule[exportName];
          if (typeof handler !== 'function') throw new Error(`${module} has no ${exportName} function`);
          handlers[name] = handler as Handler<never, unknown>;
        }
        return handlers;
      },
    });
    const provisioned = await runner.start();
    return {
      emulator,
      clients,
      service,
      runner,
      provisioned,
      environment,
      handlers,
      async stop() {
        await runner.stop();
        await emulator.stop();
      },
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}
