import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUTS, awsCallOptions } from './aws-clients.ts';
import { describeError } from './errors.ts';

/*
 * What the function does to its queue besides answering which records failed, because SQS FIFO hands out up to 10
 * messages of a group at once and counts each receive: a poison record would take the records behind it to the
 * dead-letter queue with it, and an outage longer than maxReceiveCount visibility timeouts would dead-letter
 * everything. So a record that can never be published is moved to the dead-letter queue by the function (its group
 * flows on), and a record that failed for a transient reason is made visible again after a growing delay.
 */

export interface ParkRequest {
  readonly record: SQSRecord;
  readonly group: string;
  readonly reason: Error;
}

export interface DelayRequest {
  readonly record: SQSRecord;
  readonly seconds: number;
}

export interface QueueActions {
  /** The dead-letter queue's name, for log lines. */
  readonly deadLetterQueue: string;
  /**
   * Sends each record to the dead-letter queue, body unchanged, in its message group. Resolves with the records
   * (by messageId) that could not be moved, and why: those stay failed, and hold back their group.
   */
  park(requests: readonly ParkRequest[], budgetMs: number): Promise<ReadonlyMap<string, Error>>;
  /** Makes each failed record visible again after its delay (ChangeMessageVisibility). */
  delay(requests: readonly DelayRequest[], budgetMs: number): Promise<void>;
}

/** The actions for a record's queue, or undefined where the function does not know it (failures then wait out the visibility timeout). */
export type QueueActionsFor = (record: SQSRecord) => QueueActions | undefined;

export interface SqsQueueActionsOptions {
  readonly sqs: () => Promise<Pick<SQSClient, 'send'>>;
  readonly queueUrl: string;
  /** None when the queue has no RedrivePolicy: a poison record then stays failed, and is retried. */
  readonly deadLetterQueueUrl: string | undefined;
  /** The local emulator cannot carry every character SQS accepts: it encodes such bodies (local/emulator-body.ts). */
  readonly encodeBody?: (body: string) => { body: string; attributes: Record<string, string> };
}

/** SQS takes at most 10 entries per batch call: a Lambda batch of a FIFO queue never has more. */
const MAX_BATCH_ENTRIES = 10;

export function sqsQueueActions(options: SqsQueueActionsOptions): QueueActions {
  const deadLetterQueueUrl = options.deadLetterQueueUrl;
  const fifo = deadLetterQueueUrl?.endsWith('.fifo') === true;
  return {
    deadLetterQueue: deadLetterQueueUrl?.split('/').at(-1) ?? '(none)',
    async park(requests, budgetMs) {
      const refused = new Map<string, Error>();
      if (deadLetterQueueUrl === undefined) {
        const none = new Error('the queue has no dead-letter queue (RedrivePolicy) to park it in');
        for (const { record } of requests) refused.set(record.messageId, none);
        return refused;
      }
      const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
      const sqs = await options.sqs();
      for (let start = 0; start < requests.length; start += MAX_BATCH_ENTRIES) {
        const chunk = requests.slice(start, start + MAX_BATCH_ENTRIES);
        try {
          const output = await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: deadLetterQueueUrl,
              Entries: chunk.map(({ record, group, reason }, index) => {
                const encoded = options.encodeBody?.(record.body) ?? { body: record.body, attributes: {} };
                const attributes: Record<string, string> = {
                  ...encoded.attributes,
                  'parked-reason': `${reason.name}: ${reason.message}`.slice(0, 1024),
                  'parked-message-id': record.messageId,
                  'parked-from': record.eventSourceARN,
                };
                return {
                  Id: String(index),
                  MessageBody: encoded.body,
                  // The same group and, as deduplication id, the message's own id: a second try is not queued twice.
                  ...(fifo ? { MessageGroupId: group, MessageDeduplicationId: record.messageId } : {}),
                  MessageAttributes: Object.fromEntries(
                    Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
                  ),
                };
              }),
            }),
            awsCallOptions(budgetMs),
          );
          for (const failure of output.Failed ?? []) {
            const request = chunk[Number(failure.Id)];
            if (request !== undefined) {
              refused.set(request.record.messageId, new Error(`SQS refused it: ${failure.Code}: ${failure.Message ?? ''}`));
            }
          }
        } catch (error) {
          const { name, message } = describeError(error);
          for (const { record } of chunk) refused.set(record.messageId, new Error(`${name}: ${message}`));
        }
      }
      return refused;
    },
    async delay(requests, budgetMs) {
      if (requests.length === 0) return;
      const { ChangeMessageVisibilityBatchCommand } = await import('@aws-sdk/client-sqs');
      const sqs = await options.sqs();
      for (let start = 0; start < requests.length; start += MAX_BATCH_ENTRIES) {
        const chunk = requests.slice(start, start + MAX_BATCH_ENTRIES);
        const output = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: chunk.map(({ record, seconds }, index) => ({
              Id: String(index),
              ReceiptHandle: record.receiptHandle,
              VisibilityTimeout: seconds,
            })),
          }),
          awsCallOptions(budgetMs),
        );
        const failed = output.Failed ?? [];
        if (failed.length > 0) throw new Error(`SQS refused ${failed.length} visibility changes: ${failed[0]?.Code ?? ''}`);
      }
    },
  };
}

/**
 * The deployed function's actions: its dead-letter queue from `DEAD_LETTER_QUEUE_URL` (the stack sets it), its queue
 * from the record's ARN. None without the variable: failures then wait out the visibility timeout, as before.
 */
export function queueActionsFromEnvironment(env: Readonly<Record<string, string | undefined>>): QueueActionsFor | undefined {
  const deadLetterQueueUrl = env.DEAD_LETTER_QUEUE_URL?.trim();
  if (deadLetterQueueUrl === undefined || deadLetterQueueUrl === '') return undefined;
  const clients = new Map<string, Promise<SQSClient>>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = import('@aws-sdk/client-sqs').then(
        ({ SQSClient }) => new SQSClient({ region, requestHandler: AWS_REQUEST_TIMEOUTS, maxAttempts: AWS_MAX_ATTEMPTS }),
      );
      clients.set(region, client);
    }
    return client;
  };
  const actions = new Map<string, QueueActions>();
  return (record) => {
    const queueUrl = queueUrlOfArn(record.eventSourceARN);
    if (queueUrl === undefined) return undefined;
    let found = actions.get(queueUrl);
    if (found === undefined) {
      const region = record.eventSourceARN.split(':')[3] ?? '';
      found = sqsQueueActions({ sqs: () => clientFor(region), queueUrl, deadLetterQueueUrl });
      actions.set(queueUrl, found);
    }
    return found;
  };
}

/**
 * A queue's dead-letter queue from its RedrivePolicy: SQS keeps both in one account and region, so the URL is the
 * queue's with the dead-letter queue's name (whatever host the queue's URL has: AWS's or an emulator's).
 */
export function deadLetterQueueUrlOf(queueUrl: string, redrivePolicy: string | undefined): string | undefined {
  if (redrivePolicy === undefined) return undefined;
  try {
    const target = (JSON.parse(redrivePolicy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    const name = typeof target === 'string' ? target.split(':').at(-1) : undefined;
    return name === undefined || name === '' ? undefined : queueUrl.replace(/[^/]+$/, name);
  } catch {
    return undefined;
  }
}

/** `arn:aws:sqs:us-east-1:123456789012:name.fifo` -> `https://sqs.us-east-1.amazonaws.com/123456789012/name.fifo`. */
export function queueUrlOfArn(arn: string | undefined): string | undefined {
  const [, partition, service, region, account, name] = arn?.split(':') ?? [];
  if (service !== 'sqs' || !region || !account || !name) return undefined;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
