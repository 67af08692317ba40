import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSRecord } from 'aws-lambda';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { instance } from './helpers/ec2-assets.ts';
import { assetState, at, CHANGES, INVENTORY, snapshotPart } from './helpers/inventory-records.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { lambdaContext, sqsEvent } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';

type SlowSubscriber = ReturnType<typeof slowSubscriber>;

/**
 * A subscriber that reads at most `bytesPerSecond` (a consumer busy writing each change to its own store), over a raw
 * socket so that nothing reads faster on its behalf: what it does not read piles up in Redis' output buffer for it.
 */
function slowSubscriber(port: number, bytesPerSecond: number, onBytes?: (bytes: number) => void) {
  const socket = connect(port, '127.0.0.1');
  const state = { messages: 0, bytes: 0, droppedByRedis: false };
  const marker = Buffer.from('\r\n$7\r\nmessage\r\n');
  let tail = Buffer.alloc(0);
  let windowStart = Date.now();
  let windowBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    state.bytes += chunk.length;
    onBytes?.(chunk.length);
    // Count the pushed messages, markers split across chunks included.
    const text = Buffer.concat([tail, chunk]);
    for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + 1)) state.messages += 1;
    tail = text.subarray(Math.max(0, text.length - marker.length + 1));
    windowBytes += chunk.length;
    if (windowBytes >= bytesPerSecond) {
      socket.pause();
      setTimeout(
        () => {
          windowStart = Date.now();
          windowBytes = 0;
          socket.resume();
        },
        Math.max(0, windowStart + 1000 - Date.now()),
      );
    }
  });
  socket.on('error', () => undefined);
  socket.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(CHANGES)}\r\n${CHANGES}\r\n`);
  return { state, close: async () => void socket.destroy() };
}

/** A first reconcile of `instances` new instances in parts of `perPart`, through the handler in batches of 10 parts. */
async function firstReconcile(handler: ReturnType<typeof createHandler>, instances: number, perPart: number) {
  const parts = instances / perPart;
  const records = Array.from({ length: parts }, (_, index) =>
    snapshotPart({
      snapshotId: 'first',
      type: 'instance',
      part: index + 1,
      parts,
      items: Array.from({ length: perPart }, (_, k) => instance(index * perPart + k)),
      observedAt: at(0),
    }),
  );
  await applyAll(handler, records);
}

/**
 * Until the subscriber has every change, or Redis dropped it, or time is up. Redis' side tells: a dropped client's
 * socket still holds what the kernel buffered, and a slow reader sees its end only once it has read all of that.
 */
async function drained(subscriber: SlowSubscriber, port: number, expected: number) {
  const admin = new Redis(port, '127.0.0.1');
  try {
    const deadline = Date.now() + 90_000;
    while (subscriber.state.messages < expected && Date.now() < deadline) {
      const [, subscribers] = (await admin.call('PUBSUB', 'NUMSUB', CHANGES)) as [string, number];
      if (subscribers === 0) {
        subscriber.state.droppedByRedis = true;
        break;
      }
      await sleep(200);
    }
    return subscriber.state;
  } finally {
    admin.disconnect();
  }
}

describe('the change feed during a first reconcile of 5,000 instances, with a subscriber that reads 1 MB a second', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('keeps it connected, and it misses none of the new records', { timeout: 120_000 }, async (t) => {
    // Prepare: Redis' default limit for pub/sub clients (32 MB, or 8 MB for 60 s) stands.
    const subscriber = track(slowSubscriber(redis.port, 1_000_000));
    await sleep(100);
    const handler = track(createHandler({ env: { REDIS_URL: redis.url, INVENTORY: 'true' }, logger: captureLogs().logger }));

    // Act: the snapshot's parts in batches of 10, as the event source hands them out.
    await firstReconcile(handler, 5000, 100);
    const state = await drained(subscriber, redis.port, 5000);

    // Assess
    assert.equal(state.droppedByRedis, false, 'Redis did not disconnect the subscriber');
    assert.equal(state.messages, 5000);
    t.diagnostic(`5000 changes, ${(state.bytes / 1e6).toFixed(1)} MB read at 1 MB/s`);
  });
});

describe('the change feed is paced (INVENTORY_FEED_BYTES_PER_SECOND): one budget for every region writing to a Redis', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('three regions reconciling at once stay within 4 s of burst and 1 MB/s together, and everything arrives', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a subscriber that reads as fast as it can, noting when each byte arrived.
    const { arrivals, subscriber } = await watchFeed(track, redis.port);
    const started = Date.now();

    // Act: one function per region (one stack each), all on the one Redis, each retrying what was paced, as SQS would.
    await Promise.all(
      ['us-east-1', 'eu-west-1', 'ap-southeast-2'].map(async (region, r) => {
        const handler = track(createHandler({ env: { REDIS_URL: redis.url, INVENTORY: 'true' }, logger: captureLogs().logger }));
        const parts = Array.from({ length: 30 }, (_, p) =>
          snapshotPart({
            snapshotId: `first-${region}`,
            type: 'instance',
            part: p + 1,
            parts: 30,
            items: Array.from({ length: 100 }, (_, k) => instance(r * 100_000 + p * 100 + k)),
            observedAt: at(0),
            region,
          }),
        );
        await applyAll(handler, parts);
      }),
    );
    const state = await drained(subscriber, redis.port, 9000);

    // Assess: every change arrived, and at no moment had more arrived than the budget allows (4 MB, then 1 MB/s),
    // give or take one message's changes (a part's worth) per region.
    assert.equal(state.messages, 9000);
    assertWithinBudget(arrivals, started, { burst: 4_000_000, perSecond: 1_000_000, slack: 3 * 200_000 });
  });
});

/** Applies the records as SQS and Lambda would: what fails (paced) comes back in a later batch, until none is left. */
async function applyAll(handler: ReturnType<typeof createHandler>, records: readonly SQSRecord[]) {
  let pending = [...records];
  while (pending.length > 0) {
    const batch = pending.slice(0, 10);
    const failed = new Set(
      (await handler(sqsEvent(batch), lambdaContext())).batchItemFailures.map((failure) => failure.itemIdentifier),
    );
    pending = [...batch.filter((record) => failed.has(record.messageId)), ...pending.slice(10)];
    if (failed.size > 0) await sleep(300);
  }
}

describe("a snapshot's deletions are paced too: the sweep stops at the budget and goes on with the part's next delivery", () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('deletes every record the listing lacks, never ahead of the budget', { timeout: 60_000 }, async () => {
    // Prepare: 500 live instances (about 850 KB of changes each way) at 200 KB/s, 800 KB of burst.
    const { admin, arrivals, subscriber } = await watchFeed(track, redis.port);
    const logs = captureLogs();
    const handler = track(
      createHandler({
        env: { REDIS_URL: redis.url, INVENTORY: 'true', INVENTORY_FEED_BYTES_PER_SECOND: '200000' },
        logger: logs.logger,
      }),
    );
    const live = Array.from({ length: 500 }, (_, k) => instance(k));
    const started = Date.now();
    await applyAll(
      handler,
      Array.from({ length: 10 }, (_, p) =>
        assetState({ type: 'instance', items: live.slice(p * 50, p * 50 + 50), observedAt: at(-60) }),
      ),
    );

    // Act: a complete listing that lacks all of them.
    await applyAll(handler, [
      snapshotPart({ snapshotId: 'gone', type: 'instance', part: 1, parts: 1, items: [], observedAt: at(0) }),
    ]);
    const state = await drained(subscriber, redis.port, 1000);

    // Assess: all deleted; the part was paced at least once; the feed never ran ahead of the budget.
    const records = Object.values(await admin.hgetall(INVENTORY)).map((value) => JSON.parse(value));
    assert.equal(records.filter((record) => record.deleted && record.reason === 'absent-from-snapshot').length, 500);
    assert.equal(state.messages, 1000);
    assert.ok(logs.entries().some((entry) => entry.outcome === 'paced'));
    assertWithinBudget(arrivals, started, { burst: 800_000, perSecond: 200_000, slack: 200_000 });
  });
});

/** A fresh Redis and a subscriber that reads as fast as it can, noting when each byte arrived. */
async function watchFeed(track: ReturnType<typeof closeAfterEach>, port: number) {
  const admin = new Redis(port, '127.0.0.1');
  track({ close: () => admin.disconnect() });
  await admin.flushall();
  const arrivals: [number, number][] = [];
  const subscriber = track(slowSubscriber(port, 100_000_000, (bytes) => arrivals.push([Date.now(), bytes])));
  await sleep(100);
  return { admin, arrivals, subscriber };
}

/** At no moment had more arrived than the budget allows since `started`, give or take `slack`. */
function assertWithinBudget(
  arrivals: readonly [number, number][],
  started: number,
  budget: { readonly burst: number; readonly perSecond: number; readonly slack: number },
) {
  let total = 0;
  for (const [time, bytes] of arrivals) {
    total += bytes;
    const allowed = budget.burst + ((time - started) * budget.perSecond) / 1000 + budget.slack;
    assert.ok(total <= allowed, `${total} bytes by ${time - started} ms, more than ${allowed}`);
  }
}
