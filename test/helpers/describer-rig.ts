/*
 * The describer as deployed, on this machine: the handler with the real EC2 client (adaptive retries) against the
 * simulated EC2, sending into the FIFO queue in fauxqs; what it logs is kept, what it sent is read back.
 */
import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { SQSBatchResponse } from 'aws-lambda';
import { createDescriberHandler, type DescriberHandlerOptions } from '../../describer/handler.ts';
import type { AssetStateDetail } from '../../lambda/inventory-events.ts';
import { createJsonLogger } from '../../lambda/log.ts';
import { type Ec2Simulator, type Ec2SimulatorOptions, startEc2Simulator } from '../../local/ec2-simulator.ts';
import { createEc2Client } from '../../reconcile/aws-clients.ts';
import { DESCRIBER_CONTEXT, describeEvent } from './describer-events.ts';
import { type SnapshotQueue, startSnapshotQueue } from './snapshot-queue.ts';

export interface StateMessage {
  readonly groupId: string;
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
  readonly logs: Record<string, unknown>[];
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
  const logs: Record<string, unknown>[] = [];
  const clients: EC2Client[] = [];
  const handler = createDescriberHandler({
    ...options.handler,
    env: { QUEUE_URL: queue.queueUrl, ...options.env },
    logger: createJsonLogger((line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
    ec2For: (region) => {
      const client = createEc2Client(region, { ...ec2.clientConfig(), ...options.ec2Client });
      clients.push(client);
      return client;
    },
    sqs: queue.sqs,
  });
  return {
    ec2,
    queue,
    logs,
    async invoke(events) {
      const event = describeEvent(events);
      const response = await handler(event, DESCRIBER_CONTEXT);
      const failedIds = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      const states = (await queue.drain()).map((message) => {
        const body = JSON.parse(message.body) as Record<string, unknown>;
        return {
          groupId: message.groupId,
          id: String(body.id),
          source: String(body.source),
          detailType: String(body['detail-type']),
          account: String(body.account),
          region: String(body.region),
          resources: body.resources as string[],
          detail: body.detail as AssetStateDetail,
          bytes: Buffer.byteLength(message.body),
        };
      });
      const summary = logs.findLast((line) => line.message === 'describe batch') ?? {};
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
