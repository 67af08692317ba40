/*
 * The describer as deployed, on this machine: the handler with the real EC2 client (adaptive retries) against the
 * simulated EC2, sending into the FIFO queue in fauxqs; what it logs is kept, what it sent is read back.
 */
import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { createDescriberHandler, type DescriberHandlerOptions } from '../../describer/handler.ts';
import type { AssetStateDetail } from '../../lambda/inventory-events.ts';
import { type Ec2Simulator, type Ec2SimulatorOptions, startEc2Simulator } from '../../local/ec2-simulator.ts';
import { createEc2Client } from '../../reconcile/aws-clients.ts';
import { DESCRIBER_CONTEXT, describeEvent } from './describer-events.ts';
import { captureLogs } from './log-capture.ts';
import { type SnapshotQueue, startSnapshotQueue } from './snapshot-queue.ts';

export interface StateMessage {
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly account: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: AssetStateDetail;
  readonly bytes: number;
}

export interface Invocation {
  readonly response: SQSBatchResponse;
  /** Positions (in the events given) of the records SQS delivers again. */
  readonly failed: readonly number[];
  /** What reached the FIFO queue, in order. */
  readonly states: readonly StateMessage[];
  /** The invocation's summary line (`describe batch`). */
  readonly summary: Record<string, unknown>;
}

export interface DescriberRig {
  readonly ec2: Ec2Simulator;
  readonly queue: SnapshotQueue;
  /** Every log line so far, parsed. */
  logs(): Record<string, unknown>[];
  invoke(events: readonly (Record<string, unknown> | string)[]): Promise<Invocation>;
  close(): Promise<void>;
}

export interface RigOptions {
  readonly simulator?: Ec2SimulatorOptions;
  /** EC2 client settings beyond the deployed ones (fewer attempts, to see a failure). */
  readonly ec2Client?: EC2ClientConfig;
  readonly env?: Readonly<Record<string, string>>;
  readonly handler?: Omit<DescriberHandlerOptions, 'env' | 'logger' | 'ec2For' | 'sqs'>;
}

export async function startDescriberRig(options: RigOptions = {}): Promise<DescriberRig> {
  const ec2 = await startEc2Simulator(options.simulator);
  const queue = await startSnapshotQueue();
  const captured = captureLogs();
  const clients: EC2Client[] = [];
  const handler = createDescriberHandler({
    ...options.handler,
    env: { QUEUE_URL: queue.queueUrl, ...options.env },
    logger: captured.logger,
    ec2For: (region) => {
      const client = createEc2Client(region, { ...ec2.clientConfig(), ...options.ec2Client });
      clients.push(client);
      return client;
    },
    sqs: queue.sqs,
  });
  /** Receives and deletes what the queue holds, with the attributes SQS keeps for each message. */
  const drain = async (): Promise<StateMessage[]> => {
    const received: StateMessage[] = [];
    for (;;) {
      const { Messages = [] } = await queue.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
        }),
      );
      if (Messages.length === 0) return received;
      for (const message of Messages) {
        const body = JSON.parse(message.Body ?? '{}') as Record<string, unknown>;
        received.push({
          groupId: message.Attributes?.MessageGroupId ?? '',
          deduplicationId: message.Attributes?.MessageDeduplicationId ?? '',
          id: String(body.id),
          source: String(body.source),
          detailType: String(body['detail-type']),
          account: String(body.account),
          region: String(body.region),
          resources: body.resources as string[],
          detail: body.detail as AssetStateDetail,
          bytes: Buffer.byteLength(message.Body ?? ''),
        });
      }
      await queue.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
        }),
      );
    }
  };
  return {
    ec2,
    queue,
    logs: () => captured.entries(),
    async invoke(events) {
      const event = describeEvent(events);
      const response = await handler(event, DESCRIBER_CONTEXT);
      const failedIds = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      const states = await drain();
      const summary = captured.withMessage('describe batch').at(-1) ?? {};
      return {
        response,
        failed: event.Records.flatMap((record, index) => (failedIds.has(record.messageId) ? [index] : [])),
        states,
        summary,
      };
    },
    async close() {
      for (const client of clients) client.destroy();
      await queue.close();
      await ec2.close();
    },
  };
}

/** The ids an invocation's Asset State events describe, per type, and those it reports not found. */
export function described(states: readonly StateMessage[], type: AssetStateDetail['resourceType']) {
  const ofType = states.filter((state) => state.detail.resourceType === type);
  const idField = type === 'instance' ? 'InstanceId' : type === 'vpc' ? 'VpcId' : 'SubnetId';
  return {
    items: ofType.flatMap((state) => state.detail.items.map((item) => (item as Record<string, string>)[idField])),
    notFound: ofType.flatMap((state) => state.detail.notFound),
  };
}
