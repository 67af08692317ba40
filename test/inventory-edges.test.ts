import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { INVENTORY_COMMANDS } from '../lambda/redis-script.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { instance, vpc } from './helpers/ec2-assets.ts';
import { startInventoryHandler } from './helpers/inventory-handler.ts';
import { assetState, at, CHANGES, INVENTORY, snapshotPart } from './helpers/inventory-records.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { ACCOUNT, CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const KEYS = [
  '~{management-events-sync}',
  '~{management-events-sync}:inventory*',
  '~{management-events-sync}:snapshot:*',
  '~{management-events-sync}:topic-account-*',
];

describe('the inventory when Redis refuses a command in the middle of a message (an ACL not updated for it)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  async function setUp(channels: string[], commands: readonly string[] = INVENTORY_COMMANDS) {
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await admin.flushall();
    await admin.call('ACL', 'DELUSER', 'sync');
    await admin.call(
      'ACL',
      'SETUSER',
      'sync',
      'on',
      '>pw',
      'resetchannels',
      ...channels,
      'resetkeys',
      ...KEYS,
      ...commands.map((command) => `+${command}`),
    );
    const feed = track(await subscribe(redis.url, CHANGES, CHANNEL));
    const logs = captureLogs();
    const handler = track(
      createHandler({
        env: { REDIS_URL: `redis://sync:pw@127.0.0.1:${redis.port}`, INVENTORY: 'true', REDIS_CLUSTER: 'false' },
        logger: logs.logger,
      }),
    );
    const run = async (...records: Parameters<typeof sqsEvent>[0]) =>
      (await handler(sqsEvent(records), lambdaContext())).batchItemFailures.map((failure) => failure.itemIdentifier);
    return { admin, feed, logs, run };
  }

  it('announces the created change once the change feed is allowed again, though its first try was refused', async () => {
    // Prepare: the user can write the inventory but not yet publish on the change feed (an ACL not updated for it).
    const { admin, feed, run } = await setUp(['&topic-account-management-events-*']);
    const message = assetState({ type: 'instance', items: [instance(1)], observedAt: at(0) });
    assert.deepEqual(await run(message), [message.messageId], 'refused: SQS keeps it');

    // Act: the operator fixes the ACL; SQS delivers the same message again.
    await admin.call('ACL', 'SETUSER', 'sync', '&topic-account-asset-changes-*');
    assert.deepEqual(await run(message), [], 'applied on redelivery');
    await sleep(200);

    // Assess: the record exists, and the change feed announced it at least once.
    assert.notEqual(await admin.hget(INVENTORY, `instance/${instance(1).InstanceId}`), null);
    assert.deepEqual(
      feed.on(CHANGES).map((item) => JSON.parse(item.message).change),
      ['created'],
      'the created change reaches the change feed',
    );
  });

  it('tombstones every record a complete listing lacks, after a refusal during the sweep and a redelivery', async () => {
    // Prepare: two live VPCs, described while the feed was allowed.
    const { admin, run } = await setUp(['&topic-account-management-events-*', '&topic-account-asset-changes-*']);
    assert.deepEqual(await run(assetState({ type: 'vpc', items: [vpc(1), vpc(2), vpc(3)], observedAt: at(-60) })), []);
    // The feed's channel is refused for a while (ACL edited, say).
    await admin.call('ACL', 'SETUSER', 'sync', 'resetchannels', '&topic-account-management-events-*');
    // A complete one-part snapshot lists only vpc 3 (unchanged: nothing published for it); 1 and 2 are gone.
    const part = snapshotPart({ snapshotId: 'run-1', type: 'vpc', part: 1, parts: 1, items: [vpc(3)], observedAt: at(-1) });
    assert.deepEqual(await run(part), [part.messageId], 'refused: SQS keeps it');

    // Act: the channel is allowed again; SQS delivers the part again.
    await admin.call('ACL', 'SETUSER', 'sync', '&topic-account-asset-changes-*');
    assert.deepEqual(await run(part), [], 'applied on redelivery');

    // Assess: both absent VPCs are tombstones.
    const deleted = async (index: number) => JSON.parse((await admin.hget(INVENTORY, `vpc/${vpc(index).VpcId}`)) ?? '{}').deleted;
    assert.deepEqual([await deleted(1), await deleted(2), await deleted(3)], [true, true, false]);
  });

  it('a command refused inside the snapshot bookkeeping fails only the inventory group, not what was published before it', async () => {
    // Prepare: a user without SCARD (an ACL written for an earlier list of commands).
    const { feed, logs, run } = await setUp(
      ['&topic-account-management-events-*', '&topic-account-asset-changes-*'],
      INVENTORY_COMMANDS.filter((command) => command !== 'scard'),
    );
    const raw = sqsRecord({ body: stateChange('i-0123456789abcdef0', 'running') });
    const part = snapshotPart({ snapshotId: 'run-2', type: 'vpc', part: 1, parts: 1, items: [vpc(1)], observedAt: at(0) });

    // Act
    const failed = await run(raw, part);
    await sleep(200);

    // Assess: the raw event reached its subscriber; it must then not be reported as failed "not published".
    assert.equal(feed.on(CHANNEL).length, 1, 'the raw event was published');
    const line = logs.entries().find((entry) => entry.messageId === raw.messageId);
    assert.notEqual(line?.outcome, 'failed', `published, yet logged as not published: ${JSON.stringify(line)}`);
    assert.ok(!failed.includes(raw.messageId) || line?.outcome === 'unknown', 'published, yet redelivered as failed');
  });
});

const TOMBSTONES = `{management-events-sync}:inventory-tombstones:${ACCOUNT}:us-east-1`;

describe('the inventory never rolls a record back, whatever the messages', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  const setUp = (env: Record<string, string> = {}) => startInventoryHandler({ redisUrl: redis.url, env, track });

  it('a message observed before a deletion does not bring the asset back once its tombstone was purged', async () => {
    // Prepare: described alive 3 h ago, not found 2.5 h ago; tombstones kept 1 h.
    const { admin, apply, record } = await setUp({ INVENTORY_TOMBSTONE_HOURS: '1' });
    const id = instance(7).InstanceId as string;
    await apply(assetState({ type: 'instance', items: [instance(7)], observedAt: at(-3 * 3600) }));
    await apply(assetState({ type: 'instance', notFound: [id], observedAt: at(-2.5 * 3600) }));
    // The tombstone was written 2 h ago (what the clock would say by now).
    await admin.zadd(TOMBSTONES, Date.now() - 2 * 3_600_000, `instance/${id}`);
    // Any later message of that account and region purges it.
    await apply(assetState({ type: 'vpc', items: [vpc(1)], observedAt: at(0) }));

    // Act: a description made before the deletion arrives late (a dead-letter queue redriven the next day).
    await apply(assetState({ type: 'instance', items: [instance(7)], observedAt: at(-2.9 * 3600) }));

    // Assess: the asset EC2 no longer knows must not be live again.
    assert.notEqual((await record(`instance/${id}`))?.deleted, false, 'a deleted instance came back as live');
  });

  it('refuses an observation time far in the future (it would freeze the record against every later one) as permanent', async () => {
    // Prepare: a describer whose clock is a year ahead (or any sender of a wrong observedAt).
    const { record, handler } = await setUp();
    const id = vpc(2).VpcId as string;
    const future = assetState({ type: 'vpc', items: [vpc(2)], observedAt: new Date(Date.now() + 365 * 86_400_000) });

    // Act
    const response = await handler(sqsEvent([future]), lambdaContext());
    await handler(sqsEvent([assetState({ type: 'vpc', notFound: [id], observedAt: at(0) })]), lambdaContext());

    // Assess: the message failed as one no retry fixes (parked where a dead-letter queue is known), nothing written
    // from it: EC2's later word stands.
    assert.deepEqual(
      response.batchItemFailures.map((failure) => failure.itemIdentifier),
      [future.messageId],
    );
    assert.equal((await record(`vpc/${id}`))?.deleted ?? true, true);
  });

  it('a record whose JSON is spaced differently (re-serialized by a tool) is still not rolled back by an older observation', async () => {
    // Prepare: the same record, as json.dumps or a restore tool would write it back (", " and ": ").
    const { admin, apply, record } = await setUp();
    const id = vpc(4).VpcId as string;
    const newer = at(0).toISOString();
    await admin.hset(
      INVENTORY,
      `vpc/${id}`,
      JSON.stringify(
        {
          type: 'vpc',
          id,
          account: ACCOUNT,
          region: 'us-east-1',
          observedAt: newer,
          deleted: true,
          reason: 'not-found',
          source: 'describe',
          item: vpc(4),
        },
        null,
        1,
      ).replace(/\n */g, ' '),
    );

    // Act: a description from an hour before.
    await apply(assetState({ type: 'vpc', items: [vpc(4)], observedAt: at(-3600) }));

    // Assess
    const after = await record(`vpc/${id}`);
    assert.deepEqual({ observedAt: after?.observedAt, deleted: after?.deleted }, { observedAt: newer, deleted: true });
  });
});

describe('inventory events that reach a function whose inventory is off (a deployment that disagrees with itself)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('fails them for a retry, publishes nothing raw, and applies them once the inventory is on', async () => {
    // Prepare: the describer and reconcile feed the inventory; this function's inventory is off.
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await admin.flushall();
    const subscriber = track(await subscribe(redis.url, CHANNEL, CHANGES));
    const handlerWith = (inventory: string) =>
      track(createHandler({ env: { REDIS_URL: redis.url, INVENTORY: inventory }, logger: captureLogs().logger }));
    const state = assetState({ type: 'vpc', items: [vpc(1)], observedAt: at(-10) });
    const snapshot = snapshotPart({ snapshotId: 'run-1', type: 'subnet', part: 1, parts: 1, items: [], observedAt: at(-10) });
    // A snapshot without `types` is reconcile's form for subscribers (inventory off everywhere): published as it is.
    const plain = JSON.parse(snapshot.body) as { detail: Record<string, unknown> };
    delete plain.detail.types;
    const forSubscribers = sqsRecord({ body: JSON.stringify(plain), group: 'management-events-snapshots' });
    const off = handlerWith('false');

    // Act
    const failed = (await off(sqsEvent([state, snapshot, forSubscribers]), lambdaContext())).batchItemFailures;

    // Assess: both inventory events stay in SQS; only the subscribers' snapshot was published.
    assert.deepEqual(
      failed.map((failure) => failure.itemIdentifier),
      [state.messageId, snapshot.messageId],
    );
    await sleep(200);
    assert.deepEqual(
      subscriber.on(CHANNEL).map((item) => (JSON.parse(item.message) as { id: string }).id),
      [JSON.parse(forSubscribers.body).id],
    );
    assert.equal(await admin.exists(INVENTORY), 0);

    // Act: the operator turns the inventory on; SQS delivers the two again.
    const on = handlerWith('true');
    assert.deepEqual((await on(sqsEvent([state, snapshot]), lambdaContext())).batchItemFailures, []);

    // Assess
    assert.notEqual(await admin.hget(INVENTORY, `vpc/${vpc(1).VpcId}`), null);
    assert.equal(subscriber.on(CHANNEL).length, 1, 'nothing more reached the events channel');
  });
});
