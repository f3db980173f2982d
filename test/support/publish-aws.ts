// The call shapes test/e2e/cli.test.ts was written against, over the one set of emulator helpers
// in emulator.ts. New tests use emulator.ts directly.
import type { Message } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { createQueue, createTable, receiveAll, Resources, type TestQueue, type TestTable } from './emulator.ts';

export { sendJson, testClients } from './emulator.ts';

/** A table with a stream, removed by `drop()`. */
export async function createTestTable(clients: AwsClients, options: Parameters<typeof createTable>[1] = {}): Promise<TestTable & { drop(): Promise<void> }> {
  const resources = new Resources(clients);
  return { ...await createTable(resources, options), drop: () => resources.dispose() };
}

/** A queue, removed by `drop()`. */
export async function createTestQueue(clients: AwsClients, options: { fifo?: boolean; prefix?: string } = {}): Promise<TestQueue & { drop(): Promise<void> }> {
  const resources = new Resources(clients);
  return { ...await createQueue(resources, options), drop: () => resources.dispose() };
}

/** Receives (and deletes) messages until `expected` arrived or `timeoutMs` passed. */
export function receiveMessages(clients: AwsClients, queueUrl: string, expected: number, timeoutMs = 5_000): Promise<Message[]> {
  return receiveAll(queueUrl, { clients, count: expected, deadlineMs: timeoutMs, remove: true });
}
