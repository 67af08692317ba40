import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSEvent } from 'aws-lambda';
import { DEFAULT_TOPIC_PREFIX } from '../lambda/config.ts';
import { createHandler, type SyncHandler } from '../lambda/handler.ts';
import type { Logger } from '../lambda/log.ts';
import { sqsQueueActions } from '../lambda/queue-actions.ts';
import { createDeliveryTally, type Progress } from './delivery-tally.ts';
import { encodeForEmulator } from './emulator-body.ts';
import { type InventoryMessage, type InventorySubscriber, startInventorySubscriber } from './inventory-subscriber.ts';
import { type LocalQueue, type LocalQueueOptions, startLocalQueue } from './local-queue.ts';
import { type Poller, startPoller } from './poller.ts';
import { type NotSent, type RoutedEvent, sendToQueue } from './router.ts';

export type { Progress } from './delivery-tally.ts';

export interface PipelineOptions {
  readonly region: string;
  /** Where the inventory subscribes. */
  readonly redisUrl: string;
  /** Where the function publishes: REDIS_URL as given (its secret is the function's to read), or a faulty network. */
  readonly functionRedisUrl?: string;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly groupBatching?: LocalQueueOptions['groupBatching'];
  readonly functionLogger: Logger;
  readonly functionEnv?: Readonly<Record<string, string | undefined>>;
  readonly concurrency?: number;
  readonly onMessage?: (message: InventoryMessage) => void;
}

export interface Pipeline {
  readonly queue: LocalQueue;
  /** Event ids in the order the subscriber first received them; `deliveries` counts every receipt, duplicates too. */
  readonly firstDeliveries: string[];
  readonly deliveries: Map<string, number>;
  /** Sends in order; returns what the queue refused. */
  send(events: readonly RoutedEvent[]): Promise<NotSent[]>;
  progress(): Promise<Progress>;
  /**
   * Waits until at most `limit` sent events are still in the queue, so that the backlog stays bounded, or until
   * `idleMs` passed without progress (Redis down, say) or `signal` aborted: then it returns false rather than wait.
   */
  waitForRoom(limit: number, idleMs: number, signal?: AbortSignal): Promise<boolean>;
  /**
   * Resolves once every sent event was delivered, missed or dead-lettered, or with what it has after `idleMs` without
   * progress, or at once when `signal` aborts.
   */
  settle(idleMs: number, signal?: AbortSignal): Promise<Progress>;
  close(): Promise<void>;
}

/** How long a message the function published may take to reach the subscriber before it counts as missed. */
const IN_TRANSIT_MS = 1000;

/** The seed's diagram on one machine: local FIFO queue -> poller -> the unchanged function -> Redis -> subscriber. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const topicPrefix = options.functionEnv?.TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  const firstDeliveries: string[] = [];
  const deliveries = new Map<string, number>();
  const tally = createDeliveryTally();

  let queue: LocalQueue | undefined;
  let subscriber: InventorySubscriber | undefined;
  let handler: SyncHandler | undefined;
  let poller: Poller | undefined;
  const close = async () => {
    await poller?.stop();
    await handler?.close();
    await subscriber?.close();
    await queue?.close();
  };

  try {
    queue = await startLocalQueue(options);
    subscriber = await startInventorySubscriber(options.redisUrl, topicPrefix, (message) => {
      tally.delivered(message.body);
      const id = typeof message.event?.id === 'string' ? message.event.id : message.body;
      const seen = deliveries.get(id) ?? 0;
      if (seen === 0) firstDeliveries.push(id);
      deliveries.set(id, seen + 1);
      options.onMessage?.(message);
    });
    const local = queue;
    // As deployed: poison records parked in the dead-letter queue, failed ones back after growing delays.
    const queueActions = sqsQueueActions({
      sqs: async () => local.sqs,
      queueUrl: local.queueUrl,
      deadLetterQueueUrl: local.deadLetterQueueUrl,
      encodeBody: (body) => {
        const { MessageBody, MessageAttributes = {} } = encodeForEmulator(body);
        return {
          body: MessageBody,
          attributes: Object.fromEntries(
            Object.entries(MessageAttributes).map(([name, value]) => [name, value.StringValue ?? '']),
          ),
        };
      },
    });
    // Locally a failed record is back within the visibility timeout chosen for the run, not minutes later.
    const capped = {
      ...queueActions,
      delay: (requests: Parameters<typeof queueActions.delay>[0], budgetMs: number) =>
        queueActions.delay(
          requests.map((request) => ({ ...request, seconds: Math.min(request.seconds, options.visibilityTimeoutSeconds) })),
          budgetMs,
        ),
    };
    const syncHandler = createHandler({
      env: { ...options.functionEnv, REDIS_URL: options.functionRedisUrl ?? options.redisUrl },
      logger: options.functionLogger,
      queueActions: () => capped,
    });
    handler = syncHandler;
    poller = startPoller({
      sqs: queue.sqs,
      queueUrl: queue.queueUrl,
      region: options.region,
      // What the function reports handled has left the queue: published, whether or not the subscriber was there.
      handler: async (event: SQSEvent, context) => {
        const response = await syncHandler(event, context);
        const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
        for (const record of event.Records) if (!failed.has(record.messageId)) tally.handled(record.body);
        return response;
      },
      logger: options.functionLogger,
      waitTimeSeconds: 1,
      concurrency: options.concurrency ?? 2,
      decodeEmulatorBodies: true,
      // The channel fallback for events without an account, as the deployed function's ARN would give.
      functionArn: `arn:aws:lambda:${options.region}:000000000000:function:management-events-sync-${options.region}`,
    });
  } catch (error) {
    await close();
    throw error;
  }
  const localQueue = queue;
  const progress = async () => tally.progress(await localQueue.deadLetterBodies());

  /** Polls `progress` until `done` says so, or it has not changed for `idleMs`, or `signal` aborts; returns the last one. */
  const waitUntil = async (done: (now: Progress) => boolean, idleMs: number, signal?: AbortSignal): Promise<Progress> => {
    let last = await progress();
    let lastChange = Date.now();
    for (;;) {
      if (done(last) || signal?.aborted) return last;
      await sleep(50);
      const now = await progress();
      if (now.pending !== last.pending || now.deadLettered !== last.deadLettered || now.missed !== last.missed) {
        lastChange = Date.now();
      } else if (Date.now() - lastChange > idleMs) {
        return now;
      }
      last = now;
    }
  };

  return {
    queue: localQueue,
    firstDeliveries,
    deliveries,
    async send(events) {
      const fresh = new Set(events.filter((event) => tally.sent(event.body)));
      let notSent: NotSent[];
      try {
        notSent = await sendToQueue(localQueue.sqs, localQueue.queueUrl, events, localQueue.maxMessageBytes);
      } catch (error) {
        for (const event of fresh) tally.refused(event.body);
        throw error;
      }
      for (const { event } of notSent) if (fresh.has(event)) tally.refused(event.body);
      return notSent;
    },
    progress,
    async waitForRoom(limit, idleMs, signal) {
      return (await waitUntil((now) => now.pending <= limit, idleMs, signal)).pending <= limit && signal?.aborted !== true;
    },
    async settle(idleMs, signal) {
      await waitUntil((now) => now.pending === 0, idleMs, signal);
      // Published a moment ago, a message may still be on its way to the subscriber.
      return waitUntil((now) => now.missed === 0, IN_TRANSIT_MS, signal);
    },
    close,
  };
}
