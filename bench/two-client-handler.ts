// A second reference for the bundle benchmark: the baseline handler with the two SDK clients every
// function of this service needs (SQS for feedback, DynamoDB for the state table) and the commands
// the library sends with them. What a function adds over this is the library itself.
import middy from '@middy/core';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const sqs = new SQSClient({});
const dynamodb = new DynamoDBClient({});
const commands = [
  SendMessageBatchCommand,
  SendMessageCommand,
  GetItemCommand,
  PutItemCommand,
  DeleteItemCommand,
  UpdateItemCommand,
  QueryCommand,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
];

/** Two-client reference handler. */
export const handler = middy().handler(async () => {
  void sqs.config;
  void dynamodb.config;
  void commands;
  return { batchItemFailures: [] };
});
