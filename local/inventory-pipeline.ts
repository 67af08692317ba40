import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance, Subnet, Vpc } from '@aws-sdk/client-ec2';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createDescriberHandler } from '../describer/handler.ts';
import { ASSET_TYPES, type AssetType, assetId } from '../lambda/inventory-events.ts';
import { inventoryKey } from '../lambda/inventory-keys.ts';
import type { Logger } from '../lambda/log.ts';
import { createEc2Client } from '../reconcile/aws-clients.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { listAssets } from '../reconcile/list-assets.ts';
import type { ReconcileSummary } from '../reconcile/run-reconcile.ts';
import { DEFAULT_SIMULATED_ACCOUNT, type Ec2Simulator, startEc2Simulator } from './ec2-simulator.ts';
import { localRedisClient } from './local-redis.ts';
import { type LoopbackSqs, startLoopbackSqs } from './loopback-sqs.ts';
import { type Pipeline, type PipelineOptions, startPipeline } from './pipeline.ts';
import { type Poller, startPoller } from './poller.ts';
import type { NotSent, RoutedEvent } from './router.ts';

/*
 * The inventory's diagram on one machine (docs/inventory.md): the rules' events go to the FIFO queue (raw, to the
 * seed's channel) and to a standard describe queue; the describer reads that queue with a batching window, asks a
 * simulated EC2, and sends Asset State events into the FIFO queue, where the sync function applies them to Redis.
 * The reconcile function lists the simulated EC2 into the same queue. `npm start -- --inventory`, the tests and the
 * bench run it.
 */

export interface InventoryPipelineOptions extends Omit<PipelineOptions, 'functionEnv'> {
  readonly functionEnv?: Readonly<Record<string, string | undefined>>;
  /** The account the describer and reconcile run in: the simulator's default account. */
  readonly account?: string;
  /** Lambda's batching window on the describe queue (the deployed default, 2 s, unless a test wants it shorter). */
  readonly describeWindowMs?: number;
  readonly describeBatchSize?: number;
  /** The describer's NOT_FOUND_GRACE_SECONDS (deployed: 60). */
  readonly notFoundGraceSeconds?: number;
  /** The describer's and reconcile's JSON log lines. */
  readonly describerLogger: Logger;
  /** A simulated EC2 of the caller's (else one is started and stopped with the pipeline). */
  readonly ec2?: Ec2Simulator;
}

export interface InventoryRecord {
  readonly type: AssetType;
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly observedAt: string;
  readonly deleted: boolean;
  readonly reason?: string;
  readonly source: string;
  readonly item: unknown;
}

export interface InventoryPipeline {
  readonly pipeline: Pipeline;
  readonly ec2: Ec2Simulator;
  readonly account: string;
  readonly region: string;
  /**
   * EventBridge delivering events about changes already made in EC2: each to the FIFO queue and the describe queue
   * (the rules' two targets). Events no rule matches are not delivered.
   */
  deliver(events: readonly RoutedEvent[]): Promise<NotSent[]>;
  /** One run of the reconcile function, its snapshot sent into the FIFO queue. */
  reconcile(): Promise<ReconcileSummary>;
  /**
   * Resolves once both queues are empty (everything described and applied), after `idleMs` without progress (fewer
   * messages in them), or on abort, with how many messages they still hold (0 when they emptied).
   */
  settle(idleMs: number, signal?: AbortSignal): Promise<number>;
  records(): Promise<InventoryRecord[]>;
  /** Where the inventory and the simulated EC2 disagree, one line each; none when they are equal. */
  differences(): Promise<string[]>;
  close(): Promise<void>;
}

/** Lambda's batching window the stack gives the describer (docs/inventory.md). */
export const DESCRIBE_WINDOW_MS = 2000;
export const DESCRIBE_BATCH_SIZE = 1000;

export async function startInventoryPipeline(options: InventoryPipelineOptions): Promise<InventoryPipeline> {
  const { region } = options;
  const account = options.account ?? DEFAULT_SIMULATED_ACCOUNT;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    const ec2 = options.ec2 ?? (await startEc2Simulator({ defaultAccount: account }));
    if (options.ec2 === undefined) closers.push(() => ec2.close());
    const pipeline = await startPipeline({ ...options, functionEnv: { ...options.functionEnv, INVENTORY: 'true' } });
    closers.push(() => pipeline.close());
    const sqs: LoopbackSqs = await startLoopbackSqs(region);
    closers.push(() => sqs.stop());
    const describeQueue = await sqs.createQueue(`management-events-${region}-describe`, {
      region,
      attributes: { VisibilityTimeout: String(options.visibilityTimeoutSeconds) },
    });
    const ec2Client = createEc2Client(region, ec2.clientConfig(account));
    closers.push(async () => ec2Client.destroy());
    const describer = createDescriberHandler({
      env: {
        QUEUE_URL: pipeline.queue.queueUrl,
        ...(options.notFoundGraceSeconds === undefined ? {} : { NOT_FOUND_GRACE_SECONDS: String(options.notFoundGraceSeconds) }),
      },
      logger: options.describerLogger,
      ec2For: (other) => (other === region ? ec2Client : createEc2Client(other, ec2.clientConfig(account))),
      sqs: pipeline.queue.sqs,
    });
    const poller: Poller = startPoller({
      sqs: sqs.client(region),
      queueUrl: describeQueue.queueUrl,
      region,
      handler: describer,
      logger: options.describerLogger,
      waitTimeSeconds: 1,
      concurrency: 1,
      batching: {
        windowMs: options.describeWindowMs ?? DESCRIBE_WINDOW_MS,
        size: options.describeBatchSize ?? DESCRIBE_BATCH_SIZE,
      },
      functionArn: `arn:aws:lambda:${region}:${account}:function:management-events-describer-${region}`,
    });
    closers.push(() => poller.stop());
    const reconcileHandler = createReconcileHandler({
      env: { QUEUE_URL: pipeline.queue.queueUrl, INVENTORY: 'true', AWS_REGION: region },
      ec2: ec2Client,
      sqs: pipeline.queue.sqs,
      logger: options.describerLogger,
    });
    const redis = localRedisClient(options.redisUrl, { maxRetriesPerRequest: 1 });
    closers.push(async () => redis.disconnect());

    /** Every account's and region's records (the local queue's region, and any other its events named). */
    const records = async (): Promise<InventoryRecord[]> => {
      const keys = new Set([inventoryKey(account, region)]);
      for await (const found of redis.scanStream({ match: inventoryKey('*', '*'), count: 100 })) {
        for (const key of found as string[]) keys.add(key);
      }
      const all: InventoryRecord[] = [];
      for (const key of keys) {
        for (const value of Object.values(await redis.hgetall(key))) all.push(JSON.parse(value) as InventoryRecord);
      }
      return all;
    };

    return {
      pipeline,
      ec2,
      account,
      region,
      async deliver(events) {
        const notSent = await pipeline.send(events);
        const refused = new Set(notSent.map(({ event }) => event));
        const taken = events.filter((event) => !refused.has(event));
        for (let start = 0; start < taken.length; start += 10) {
          const chunk = taken.slice(start, start + 10);
          await sqs.client(region).send(
            new SendMessageBatchCommand({
              QueueUrl: describeQueue.queueUrl,
              Entries: chunk.map((event, index) => ({ Id: String(index), MessageBody: event.body })),
            }),
          );
        }
        return notSent;
      },
      reconcile: () =>
        reconcileHandler(
          {},
          { invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:management-events-reconcile-${region}` },
        ),
      async settle(idleMs, signal) {
        let until = Date.now() + idleMs;
        // Empty twice in a row: an invocation in flight may still send to the FIFO queue.
        let emptyTimes = 0;
        let left = 0;
        let fewest = Number.POSITIVE_INFINITY;
        while (Date.now() < until && emptyTimes < 2 && signal?.aborted !== true) {
          left =
            (await messagesIn(sqs.client(region), describeQueue.queueUrl)) +
            (await messagesIn(pipeline.queue.sqs, pipeline.queue.queueUrl));
          if (left < fewest) {
            fewest = left;
            until = Date.now() + idleMs;
          }
          emptyTimes = left === 0 ? emptyTimes + 1 : 0;
          await sleep(left === 0 ? 300 : 50);
        }
        return left;
      },
      records,
      async differences() {
        const inventory = new Map(
          (await records())
            .filter((record) => record.account === account && record.region === region)
            .map((record) => [`${record.type}/${record.id}`, record]),
        );
        const lines: string[] = [];
        for (const type of ASSET_TYPES) {
          const listed = (await listAssets(ec2Client, type)).map(
            (item) => JSON.parse(JSON.stringify(item)) as Instance | Vpc | Subnet,
          );
          const ids = new Set<string>();
          for (const item of listed) {
            const id = assetId(type, item) ?? '';
            ids.add(id);
            const record = inventory.get(`${type}/${id}`);
            const terminated = (item as Instance).State?.Name === 'terminated';
            if (record === undefined) lines.push(`${type}/${id}: in EC2, not in the inventory`);
            else if (record.deleted !== terminated) {
              lines.push(
                `${type}/${id}: ${terminated ? 'terminated in EC2' : 'in EC2'}, ${record.deleted ? `deleted (${record.reason})` : 'alive'} in the inventory`,
              );
            } else if (!terminated && JSON.stringify(record.item) !== JSON.stringify(item)) {
              lines.push(`${type}/${id}: the inventory's item differs from EC2's description`);
            }
          }
          for (const [key, record] of inventory) {
            if (record.type === type && !record.deleted && !ids.has(record.id))
              lines.push(`${key}: gone from EC2, alive in the inventory`);
          }
        }
        return lines;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Messages in a queue: waiting, in flight and delayed. */
async function messagesIn(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(Attributes).reduce((sum, count) => sum + Number(count), 0);
}
