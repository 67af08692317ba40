import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_TOPIC_PREFIX } from '../lambda/config.ts';
import { createHandler, type SyncHandler } from '../lambda/handler.ts';
import type { Logger } from '../lambda/log.ts';
import { type InventoryMessage, type InventorySubscriber, parseEvent, startInventorySubscriber } from './inventory-subscriber.ts';
import { type LocalQueue, type LocalQueueOptions, startLocalQueue } from './local-queue.ts';
import { type Poller, startPoller } from './poller.ts';
import { type NotSent, type RoutedEvent, sendToQueue } from './router.ts';

export interface PipelineOptions {
  readonly region: string;
  /** Where the inventory subscribes. */
  readonly redisUrl: string;
  /** Where the function publishes; the subscriber's Redis unless a test puts a faulty network in between. */
  readonly functionRedisUrl?: string;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly groupBatching?: LocalQueueOptions['groupBatching'];
  readonly functionLogger: Logger;
  readonly functionEnv?: Readonly<Record<string, string | undefined>>;
  readonly concurrency?: number;
  readonly onMessage?: (message: InventoryMessage) => void;
}

export interface Progress {
  readonly sent: number;
  readonly delivered: number;
  /** Every message in the dead-letter queue, including any that did not come through `send`. */
  readonly deadLettered: number;
  /** Sent events neither delivered nor dead-lettered yet. */
  readonly pending: number;
  /** Events the queue refused (not in `sent`): never delivered. */
  readonly refused: number;
}

export interface Pipeline {
  readonly queue: LocalQueue;
  /** Event ids in the order the subscriber first received them; `deliveries` counts every receipt, duplicates too. */
  readonly firstDeliveries: string[];
  readonly deliveries: Map<string, number>;
  /** Sends in order; returns what the queue refused. */
  send(events: readonly RoutedEvent[]): Promise<NotSent[]>;
  progress(): Promise<Progress>;
  /** Waits until at most `limit` sent events are neither delivered nor dead-lettered: the queue's backlog stays bounded. */
  waitForRoom(limit: number): Promise<void>;
  /** Resolves once every sent event was delivered or dead-lettered, or with what it has after `idleMs` without progress. */
  settle(idleMs: number): Promise<Progress>;
  close(): Promise<void>;
}

/** The seed's diagram on one machine: local FIFO queue -> poller -> the unchanged function -> Redis -> subscriber. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const topicPrefix = options.functionEnv?.TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  const firstDeliveries: string[] = [];
  const deliveries = new Map<string, number>();
  const sentIds = new Set<string>();
  let refused = 0;
  // Sent events delivered at least once: the backlog without scanning every id.
  let deliveredSent = 0;

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
      const id = trackingId(message.body, message.event);
      const seen = deliveries.get(id) ?? 0;
      if (seen === 0) firstDeliveries.push(id);
      if (seen === 0 && sentIds.has(id)) deliveredSent += 1;
      deliveries.set(id, seen + 1);
      options.onMessage?.(message);
    });
    handler = createHandler({
      env: { ...options.functionEnv, REDIS_URL: options.functionRedisUrl ?? options.redisUrl },
      logger: options.functionLogger,
    });
    poller = startPoller({
      sqs: queue.sqs,
      queueUrl: queue.queueUrl,
      region: options.region,
      handler,
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

  const progress = async (): Promise<Progress> => {
    const deadLetterBodies = await localQueue.deadLetterBodies();
    let delivered = 0;
    for (const id of sentIds) if (deliveries.has(id)) delivered += 1;
    const pending = pendingEvents(sentIds, deliveries, deadLetterBodies).length;
    return { sent: sentIds.size, delivered, deadLettered: deadLetterBodies.length, pending, refused };
  };

  return {
    queue: localQueue,
    firstDeliveries,
    deliveries,
    async send(events) {
      // Tracked as the subscriber will see them: by `id`, or by the body for an event without one.
      for (const event of events) sentIds.add(trackingId(event.body));
      const notSent = await sendToQueue(localQueue.sqs, localQueue.queueUrl, events);
      for (const { event } of notSent) {
        const id = trackingId(event.body);
        if (deliveries.has(id)) deliveredSent -= 1;
        sentIds.delete(id);
      }
      refused += notSent.length;
      return notSent;
    },
    progress,
    async waitForRoom(limit) {
      while (sentIds.size - deliveredSent > limit) {
        // Dead-lettered events leave the backlog too (read only when the cheap count says it is full).
        const deadLettered = (await localQueue.deadLetterBodies()).length;
        if (sentIds.size - deliveredSent - deadLettered <= limit) return;
        await sleep(20);
      }
    },
    async settle(idleMs) {
      let last = await progress();
      let lastChange = Date.now();
      for (;;) {
        const now = await progress();
        if (now.pending === 0) return now;
        if (now.pending !== last.pending || now.deadLettered !== last.deadLettered) lastChange = Date.now();
        else if (Date.now() - lastChange > idleMs) return now;
        last = now;
        await sleep(50);
      }
    },
    close,
  };
}

/** The pipeline follows an event by its EventBridge `id`, and a body without one by the body itself. */
function trackingId(body: string, event = parseEvent(body)): string {
  return typeof event?.id === 'string' ? event.id : body;
}

/**
 * Sent events that are neither delivered nor in the dead-letter queue, matched by id: a count would let a message
 * that did not come through `send` (a poison body put on the queue directly) stand in for an event still on its way.
 */
export function pendingEvents(
  sent: Iterable<string>,
  deliveries: ReadonlyMap<string, number>,
  deadLetterBodies: readonly string[],
): string[] {
  const deadLettered = new Set(deadLetterBodies.map((body) => trackingId(body)));
  return [...sent].filter((id) => !deliveries.has(id) && !deadLettered.has(id));
}
