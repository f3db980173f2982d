import { awsClients } from '../aws/clients.ts';
import { DatasyncError } from '../errors.ts';
import { dynamoDbWriter } from './dynamodb.ts';
import { eventBridgeWriter } from './eventbridge.ts';
import { checkChange } from './pending.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../aws/retry.ts';
import { sqsWriter } from './sqs.ts';
import type { Publisher, PublisherOptions } from './types.ts';
import type { TargetWriter } from './writer.ts';

/**
 * Creates a publisher that writes changes to a DynamoDB table, an SQS queue or an EventBridge
 * bus, so an application need not care which one carries them to the plugins.
 * @throws DatasyncError `CONFIGURATION` for an incomplete target.
 */
export function createPublisher(options: PublisherOptions): Publisher {
  const policy = retryPolicy(options.retry);
  const clients = options.clients ?? awsClients();
  const writer = writerFor(options, clients, policy);

  return {
    target: writer.name,
    async put(key, value, putOptions = {}) {
      const change = checkChange({ ...putOptions, key, op: 'put', value }, 0, { allowExpectedRevision: writer.checksRevisions });
      const [result] = await writer.write([change], true);
      return result!;
    },
    async delete(key, deleteOptions = {}) {
      const change = checkChange({ ...deleteOptions, key, op: 'delete' }, 0, { allowExpectedRevision: writer.checksRevisions });
      const [result] = await writer.write([change], true);
      return result!;
    },
    async publish(changes) {
      if (!Array.isArray(changes)) throw new DatasyncError('INVALID_CHANGE', 'publish() takes a list of changes');
      const checked = changes.map((change, index) => checkChange(change, index, { allowExpectedRevision: writer.checksRevisions }));
      if (checked.length === 0) return [];
      return writer.write(checked, false);
    },
  };
}

function writerFor(options: PublisherOptions, clients: ReturnType<typeof awsClients>, policy: RetryPolicy): TargetWriter {
  const target = options.target as PublisherOptions['target'] | undefined;
  switch (target?.type) {
    case 'dynamodb':
      if (!target.table?.name || !target.table.prefix || !target.table.keyAttributes?.length) {
        throw new DatasyncError('CONFIGURATION', 'a dynamodb target needs a table config with name, prefix and keyAttributes');
      }
      return dynamoDbWriter(target, clients, policy);
    case 'sqs':
      if (!target.queueUrl) throw new DatasyncError('CONFIGURATION', 'an sqs target needs a queueUrl');
      return sqsWriter(target, clients, policy);
    case 'eventbridge':
      if (!target.busName) throw new DatasyncError('CONFIGURATION', 'an eventbridge target needs a busName');
      return eventBridgeWriter(target, clients, policy);
    default:
      throw new DatasyncError('CONFIGURATION', `unknown publish target type ${JSON.stringify((target as { type?: unknown } | undefined)?.type)}; use dynamodb, sqs or eventbridge`);
  }
}

function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (!(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1) || !(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) {
    throw new DatasyncError('CONFIGURATION', 'retry needs maxAttempts >= 1 and non-negative delays');
  }
  return policy;
}
