// What AWS authorizes for one SDK call: the IAM action(s) and the resource each names. Batch and
// transaction calls are authorized per table or per item, as the service documents them:
// BatchGetItem and BatchWriteItem as themselves on every table they name; TransactWriteItems as the
// PutItem, UpdateItem, DeleteItem and ConditionCheckItem of each item; SendMessageBatch as
// sqs:SendMessage, DeleteMessageBatch as sqs:DeleteMessage.
import type { LoggedCall } from '../../../lib/aws/clients/call-log.ts';

/** A resource as the call names it, before it is matched to a template resource. */
export type NamedResource =
  | { readonly kind: 'table'; readonly table: string; readonly index?: string }
  | { readonly kind: 'stream'; readonly table: string }
  | { readonly kind: 'queue'; readonly queue: string }
  | { readonly kind: 'bus'; readonly bus: string }
  /** An action IAM does not scope to a resource (dynamodb:ListStreams). */
  | { readonly kind: 'any' };

/** One authorization AWS makes for a call. */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: NamedResource;
  /** The service's condition keys the call sets (the global ones are the evaluation's). */
  readonly context?: Readonly<Record<string, string>>;
}

type Input = Record<string, any>;

const table = (name: unknown, index?: unknown): NamedResource => ({
  kind: 'table',
  table: tableName(String(name)),
  ...(typeof index === 'string' ? { index } : {}),
});

/** A table's name from its name or ARN (DynamoDB accepts either). */
function tableName(nameOrArn: string): string {
  const match = /:table\/([^/]+)/.exec(nameOrArn);
  return match ? match[1]! : nameOrArn;
}

/** The queue's name from its URL (https://sqs.<region>.amazonaws.com/<account>/<name>). */
const queue = (url: unknown): NamedResource => ({ kind: 'queue', queue: String(url).split('/').pop()! });

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** DynamoDB's request condition keys that a call's input sets. */
function itemConditionKeys(input: Input): Record<string, string> {
  const keys: Record<string, string> = {};
  if (typeof input.ReturnValues === 'string') keys['dynamodb:ReturnValues'] = input.ReturnValues;
  if (typeof input.Select === 'string') keys['dynamodb:Select'] = input.Select;
  if (typeof input.ReturnConsumedCapacity === 'string')
    keys['dynamodb:ReturnConsumedCapacity'] = input.ReturnConsumedCapacity;
  return keys;
}

const dynamodb = (operation: string, input: Input): AuthorizationRequest[] => {
  const action = (name: string) => `dynamodb:${name}`;
  switch (operation) {
    case 'BatchGetItemCommand':
    case 'BatchWriteItemCommand':
      return Object.keys(input.RequestItems ?? {}).map((name) => ({
        action: action(operation.replace(/Command$/, '')),
        resource: table(name),
      }));
    case 'TransactWriteItemsCommand':
    case 'TransactGetItemsCommand':
      return (input.TransactItems as Input[]).flatMap((item) =>
        Object.entries(item).map(([kind, request]) => {
          const itemAction = TRANSACT_ACTIONS[kind];
          if (!itemAction) throw new Error(`no IAM action known for a ${kind} item of ${operation}`);
          return {
            action: action(itemAction),
            resource: table((request as Input).TableName),
            context: { 'dynamodb:EnclosingOperation': operation.replace(/Command$/, '') },
          };
        }),
      );
    case 'ListTablesCommand':
      return [{ action: action('ListTables'), resource: { kind: 'any' } }];
    default:
      if (typeof input.TableName !== 'string') throw new Error(`no table named in ${operation}`);
      return [
        {
          action: action(operation.replace(/Command$/, '')),
          resource: table(input.TableName, input.IndexName),
          context: itemConditionKeys(input),
        },
      ];
  }
};

const streams = (operation: string, input: Input): AuthorizationRequest[] => {
  const action = `dynamodb:${operation.replace(/Command$/, '')}`;
  if (operation === 'ListStreamsCommand') return [{ action, resource: { kind: 'any' } }];
  // GetRecords names only a shard iterator, which AWS ties to the stream it was issued for.
  const arn = String(input.StreamArn ?? input.ShardIterator ?? '');
  const match = /:table\/([^/]+)\/stream\//.exec(arn);
  if (!match) throw new Error(`no stream ARN in ${operation} (${arn.slice(0, 80)})`);
  return [{ action, resource: { kind: 'stream', table: match[1]! } }];
};

const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatchCommand: 'SendMessage',
  DeleteMessageBatchCommand: 'DeleteMessage',
  ChangeMessageVisibilityBatchCommand: 'ChangeMessageVisibility',
};

const sqs = (operation: string, input: Input): AuthorizationRequest[] => {
  const action = `sqs:${SQS_ACTIONS[operation] ?? operation.replace(/Command$/, '')}`;
  if (operation === 'GetQueueUrlCommand') return [{ action, resource: { kind: 'queue', queue: input.QueueName } }];
  if (typeof input.QueueUrl !== 'string') throw new Error(`no queue named in ${operation}`);
  return [{ action, resource: queue(input.QueueUrl) }];
};

const eventbridge = (operation: string, input: Input): AuthorizationRequest[] => {
  if (operation !== 'PutEventsCommand') throw new Error(`no IAM mapping for eventbridge ${operation}`);
  const buses = new Set((input.Entries as Input[]).map((entry) => String(entry.EventBusName ?? 'default')));
  return [...buses].map((bus) => ({
    action: 'events:PutEvents',
    resource: { kind: 'bus', bus: bus.includes(':event-bus/') ? bus.split(':event-bus/')[1]! : bus },
  }));
};

const BY_SERVICE: Record<string, (operation: string, input: Input) => AuthorizationRequest[]> = {
  dynamodb,
  streams,
  sqs,
  eventbridge,
};

/** The authorizations AWS makes for one logged call. */
export function authorizationsOf(call: LoggedCall): AuthorizationRequest[] {
  const of = BY_SERVICE[call.service];
  if (!of) throw new Error(`no IAM mapping for service ${call.service}`);
  return of(call.operation, call.input as Input);
}
