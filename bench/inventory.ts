import { Redis } from 'ioredis';
import { eventReferences } from '../describer/references.ts';
import { DEFAULT_ASSET_TOPIC_PREFIX } from '../lambda/config.ts';
import { snapshotRunKey } from '../lambda/inventory-keys.ts';
import { createJsonLogger } from '../lambda/log.ts';
import { DESCRIBE_WINDOW_MS, type InventoryPipeline, startInventoryPipeline } from '../local/inventory-pipeline.ts';
import type { RedisServer } from '../local/redis-server.ts';
import { launch, randomStep, routed, seededRandom } from '../test/helpers/inventory-script.ts';

/*
 * The inventory's figures (issue 21), on this machine's whole local pipeline: the rules' two targets, the describer
 * with the deployed batching window against the simulated EC2, the sync function applying, Redis.
 */

const REGION = 'us-east-1';
const STEPS = 200;
const DROPPED = 0.1;

export interface InventoryFigures {
  /** Differences between the inventory and EC2 after the scripted run, before and after one reconcile. */
  readonly differencesBefore: number;
  readonly differencesAfter: number;
  readonly eventsSent: number;
  readonly eventsDropped: number;
  /** What the reconcile said it corrected, by kind. */
  readonly corrected: { readonly created: number; readonly updated: number; readonly deleted: number };
  /** Event into the queues -> its asset's record showing the change, for the events not dropped (ms). */
  readonly freshnessP50Ms: number;
  readonly freshnessP99Ms: number;
  readonly freshnessSamples: number;
  /** EC2 calls for a burst of 1,000 launches. */
  readonly burstCalls: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function start(redis: RedisServer): Promise<InventoryPipeline> {
  const quiet = createJsonLogger(() => undefined);
  const admin = new Redis(redis.url);
  await admin.flushall();
  admin.disconnect();
  return startInventoryPipeline({
    region: REGION,
    redisUrl: redis.url,
    maxReceiveCount: 1000,
    visibilityTimeoutSeconds: 5,
    functionLogger: quiet,
    describerLogger: quiet,
    // The deployed batching window.
    describeWindowMs: DESCRIBE_WINDOW_MS,
  });
}

/**
 * A scripted run of creates, changes and deletes of instances, VPCs and subnets, 10% of its events dropped: how fresh
 * the rest made the inventory, and how far from EC2 it is before and after one reconcile.
 */
async function scriptedRun(redis: RedisServer) {
  const inventory = await start(redis);
  const subscriber = new Redis(redis.url);
  try {
    const scope = inventory.ec2.region(REGION);
    const random = seededRandom(7);
    launch(scope, 20);
    scope.createVpc();
    await inventory.reconcile();
    await inventory.settle(60_000);

    // Each delivered event waits for the first change of its asset observed after it was sent.
    const pending = new Map<string, number[]>();
    const latencies: number[] = [];
    subscriber.on('pmessage', (_pattern: string, _channel: string, body: string) => {
      const { id, observedAt } = JSON.parse(body) as { id: string; observedAt: string };
      const waiting = pending.get(id) ?? [];
      const observed = Date.parse(observedAt);
      const now = Date.now();
      pending.set(
        id,
        waiting.filter((sentAt) => {
          if (sentAt > observed) return true;
          latencies.push(now - sentAt);
          return false;
        }),
      );
    });
    await subscriber.psubscribe(`${DEFAULT_ASSET_TOPIC_PREFIX}*`);

    let sent = 0;
    let dropped = 0;
    for (let step = 0; step < STEPS; step += 1) {
      const events = routed(randomStep(scope, random));
      const delivered = events.filter(() => random() >= DROPPED);
      sent += events.length;
      dropped += events.length - delivered.length;
      const sentAt = Date.now();
      for (const event of delivered) {
        for (const asset of eventReferences(JSON.parse(event.body)).assets) {
          pending.set(asset.id, [...(pending.get(asset.id) ?? []), sentAt]);
        }
      }
      await inventory.deliver(delivered);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await inventory.settle(120_000);
    const differencesBefore = (await inventory.differences()).length;
    const { snapshotId } = await inventory.reconcile();
    await inventory.settle(120_000);
    const differencesAfter = (await inventory.differences()).length;
    const admin = new Redis(redis.url);
    const [created, updated, deleted] = (
      await admin.hmget(snapshotRunKey(snapshotId, inventory.account, REGION), 'created', 'updated', 'deleted')
    ).map(Number);
    admin.disconnect();
    return {
      differencesBefore,
      differencesAfter,
      eventsSent: sent,
      eventsDropped: dropped,
      corrected: { created: created || 0, updated: updated || 0, deleted: deleted || 0 },
      freshnessP50Ms: percentile(latencies, 50),
      freshnessP99Ms: percentile(latencies, 99),
      freshnessSamples: latencies.length,
    };
  } finally {
    subscriber.disconnect();
    await inventory.close();
  }
}

/** EC2 calls the describer makes for 1,000 instance launches (pending, then running: 2,000 events). */
async function burst(redis: RedisServer): Promise<number> {
  const inventory = await start(redis);
  try {
    const scope = inventory.ec2.region(REGION);
    const { events } = launch(scope, 1000);
    inventory.ec2.resetCalls();
    await inventory.deliver(routed(events));
    await inventory.settle(120_000);
    return inventory.ec2.calls();
  } finally {
    await inventory.close();
  }
}

export async function inventoryFigures(redis: RedisServer): Promise<InventoryFigures> {
  const run = await scriptedRun(redis);
  return { ...run, burstCalls: await burst(redis) };
}
