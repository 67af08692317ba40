import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeAfterEach } from './helpers/cleanup.ts';
import { instance, subnet, vpc } from './helpers/ec2-assets.ts';
import { startInventoryHandler } from './helpers/inventory-handler.ts';
import { asSent, assetState, at, CHANGES, INVENTORY, REGION, snapshotPart } from './helpers/inventory-records.ts';
import { errorOf } from './helpers/log-capture.ts';
import { ACCOUNT, CHANNEL, lambdaContext, sqsEvent } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

describe('the inventory (INVENTORY=true)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  async function setUp(env: Record<string, string> = {}) {
    const {
      admin,
      feed: changes,
      logs,
      handler,
      apply,
      record,
    } = await startInventoryHandler({
      redisUrl: redis.url,
      env,
      channels: [CHANGES, CHANNEL],
      track,
    });
    /** The change feed so far, parsed. */
    const feed = async () => {
      await sleep(100);
      return changes.on(CHANGES).map((item) => JSON.parse(item.message));
    };
    return { admin, changes, logs, handler, apply, record, feed };
  }

  it('keeps each asset as EC2 described it, in the documented layout, and announces the change', async () => {
    const { apply, record, feed, admin, changes } = await setUp();
    const observedAt = at(0);
    const described = instance(1);

    await apply(assetState({ type: 'instance', items: [described], observedAt }));

    const id = described.InstanceId as string;
    // Exactly the documented fields, in order, the item byte for byte as sent.
    const raw = (await admin.hget(INVENTORY, `instance/${id}`)) as string;
    assert.equal(
      raw,
      `{"type":"instance","id":"${id}","account":"${ACCOUNT}","region":"${REGION}","observedAt":"${observedAt.toISOString()}","deleted":false,"source":"describe","item":${JSON.stringify(asSent(described))}}`,
    );
    assert.deepEqual(await feed(), [
      {
        change: 'created',
        type: 'instance',
        id,
        account: ACCOUNT,
        region: REGION,
        observedAt: observedAt.toISOString(),
        item: asSent(described),
      },
    ]);
    // The raw events' channel hears nothing of it: asset states are applied, not broadcast.
    assert.deepEqual(changes.on(CHANNEL), []);
    assert.equal((await record(`instance/${id}`))?.deleted, false);
  });

  it('refreshes observedAt and says nothing when a re-observation changes nothing; announces a real change', async () => {
    const { apply, record, feed } = await setUp();
    const first = instance(2);
    await apply(assetState({ type: 'instance', items: [first], observedAt: at(0) }));

    const again = at(5);
    await apply(assetState({ type: 'instance', items: [first], observedAt: again }));
    assert.equal((await record(`instance/${first.InstanceId}`))?.observedAt, again.toISOString());
    const changed = { ...first, InstanceType: 'm7g.xlarge' };
    await apply(assetState({ type: 'instance', items: [changed], observedAt: at(10) }));

    assert.deepEqual(
      (await feed()).map((change) => [change.change, change.item.InstanceType]),
      [
        ['created', first.InstanceType],
        ['updated', 'm7g.xlarge'],
      ],
    );
  });

  it('never rolls a record back: a late or redelivered older observation changes nothing', async () => {
    const { apply, record, feed } = await setUp();
    const older = { ...vpc(1), CidrBlock: '10.1.0.0/16' };
    const newer = { ...vpc(1), CidrBlock: '10.9.0.0/16' };
    const newerState = assetState({ type: 'vpc', items: [newer], observedAt: at(10) });

    // Reordered: the newer observation arrives first, then the older one; then the newer one is redelivered.
    await apply(newerState);
    await apply(assetState({ type: 'vpc', items: [older], observedAt: at(0) }));
    await apply(newerState);

    const kept = await record(`vpc/${newer.VpcId}`);
    assert.equal((kept?.item as { CidrBlock?: string } | undefined)?.CidrBlock, '10.9.0.0/16');
    assert.deepEqual(
      (await feed()).map((change) => change.change),
      ['created'],
    );
  });

  it('turns what EC2 no longer knows, and a terminated instance, into tombstones that keep the last item', async () => {
    const { apply, record, feed } = await setUp();
    const gone = subnet(1);
    const ending = instance(3);
    await apply(
      assetState({ type: 'subnet', items: [gone], observedAt: at(0) }),
      assetState({ type: 'instance', items: [ending], observedAt: at(0) }),
    );

    await apply(
      assetState({ type: 'subnet', notFound: [gone.SubnetId as string], observedAt: at(5) }),
      assetState({ type: 'instance', items: [{ ...ending, State: { Code: 48, Name: 'terminated' } }], observedAt: at(5) }),
    );

    const subnetRecord = await record(`subnet/${gone.SubnetId}`);
    assert.equal(subnetRecord?.deleted, true);
    assert.equal(subnetRecord?.reason, 'not-found');
    assert.deepEqual(subnetRecord?.item, asSent(gone));
    const instanceRecord = await record(`instance/${ending.InstanceId}`);
    assert.equal(instanceRecord?.reason, 'terminated');
    assert.equal((instanceRecord?.item as { State?: { Name?: string } } | undefined)?.State?.Name, 'terminated');
    const deletions = (await feed()).filter((change) => change.change === 'deleted');
    assert.deepEqual(deletions.map((change) => change.id).sort(), [ending.InstanceId, gone.SubnetId].sort());
  });

  it('purges tombstones older than INVENTORY_TOMBSTONE_HOURS, and keeps younger ones', async () => {
    const { apply, record, admin } = await setUp({ INVENTORY_TOMBSTONE_HOURS: '1' });
    const [old, young] = [vpc(7), vpc(8)];
    await apply(assetState({ type: 'vpc', items: [old, young], observedAt: at(0) }));
    await apply(assetState({ type: 'vpc', notFound: [old.VpcId as string, young.VpcId as string], observedAt: at(1) }));
    // The first tombstone was written two hours ago.
    await admin.zadd(
      `{management-events-sync}:inventory-tombstones:${ACCOUNT}:${REGION}`,
      Date.now() - 2 * 3_600_000,
      `vpc/${old.VpcId}`,
    );

    await apply(assetState({ type: 'vpc', items: [vpc(9)], observedAt: at(2) }));

    assert.equal(await record(`vpc/${old.VpcId}`), undefined);
    assert.equal((await record(`vpc/${young.VpcId}`))?.deleted, true);
  });

  it('parks an inventory message that can never be applied, like any bad body', async () => {
    const { logs, handler } = await setUp();
    const bad = assetState({ type: 'instance', items: [{ InstanceId: 'not-an-id' }], observedAt: at(0) });

    const response = await handler(sqsEvent([bad]), lambdaContext());

    // No dead-letter queue is known here: it fails as permanent, with the reason.
    assert.deepEqual(failedIds(response), [bad.messageId]);
    const line = logs.entries().find((entry) => entry.messageId === bad.messageId);
    assert.equal(errorOf(line).name, 'InvalidInventoryMessageError');
  });
});

describe('reconcile snapshots with the inventory on', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  async function setUp() {
    const {
      admin,
      feed: changes,
      logs,
      apply,
    } = await startInventoryHandler({
      redisUrl: redis.url,
      channels: [CHANGES, CHANNEL],
      track,
    });
    const deletedIds = async () =>
      Object.entries(await admin.hgetall(INVENTORY))
        .filter(([, value]) => JSON.parse(value).deleted)
        .map(([field]) => field)
        .sort();
    return { admin, changes, logs, apply, deletedIds };
  }

  it('deletes what a complete listing lacks, only once every part arrived, and never what was observed after it began', async () => {
    const { apply, deletedIds, changes, logs, admin } = await setUp();
    const listingBegan = at(0);
    // Live observations: two instances seen before the listing began, one after it.
    await apply(assetState({ type: 'instance', items: [instance(1), instance(2)], observedAt: at(-60) }));
    await apply(assetState({ type: 'instance', items: [instance(3)], observedAt: at(5) }));
    const parts = [1, 2].map((part) =>
      snapshotPart({
        snapshotId: 'run-1',
        type: 'instance',
        part,
        parts: 2,
        items: [instance(1 + (part - 1) * 9)],
        observedAt: listingBegan,
      }),
    );

    // Part 2 first: the listing is not complete, nothing may be deleted yet.
    await apply(parts[1] as (typeof parts)[number]);
    assert.deepEqual(await deletedIds(), []);
    await apply(parts[0] as (typeof parts)[number]);

    // Instance 2 is gone (observed before the listing, absent from it); instance 3 was observed after it began.
    assert.deepEqual(await deletedIds(), [`instance/${instance(2).InstanceId}`]);
    const record = JSON.parse((await admin.hget(INVENTORY, `instance/${instance(2).InstanceId}`)) ?? '{}');
    assert.equal(record.reason, 'absent-from-snapshot');
    // The parts themselves were never published; only the changes they made.
    await sleep(100);
    assert.deepEqual(changes.on(CHANNEL), []);
    assert.ok(changes.on(CHANGES).every((item) => !JSON.parse(item.message).detail));
    assert.equal(logs.withMessage('reconcile corrections').length, 1);
  });

  it('spares an asset described seconds before the listing began, which EC2 may not list yet', async () => {
    const { apply, deletedIds } = await setUp();
    // Described 5 s before the listing (a launch), and listed by an earlier snapshot 5 s before it.
    await apply(assetState({ type: 'instance', items: [instance(1)], observedAt: at(-5) }));
    await apply(
      snapshotPart({ snapshotId: 'earlier', type: 'instance', part: 1, parts: 1, items: [instance(2)], observedAt: at(-5) }),
    );

    await apply(snapshotPart({ snapshotId: 'now', type: 'instance', part: 1, parts: 1, items: [], observedAt: at(0) }));

    assert.deepEqual(await deletedIds(), [`instance/${instance(2).InstanceId}`]);
  });

  it('deletes nothing for a partial snapshot (a part never came)', async () => {
    const { apply, deletedIds } = await setUp();
    await apply(assetState({ type: 'vpc', items: [vpc(1), vpc(2)], observedAt: at(-60) }));

    await apply(snapshotPart({ snapshotId: 'run-2', type: 'vpc', part: 1, parts: 3, items: [vpc(1)], observedAt: at(0) }));
    await apply(snapshotPart({ snapshotId: 'run-2', type: 'vpc', part: 3, parts: 3, items: [], observedAt: at(0) }));

    assert.deepEqual(await deletedIds(), []);
  });

  it('counts what a run corrected by kind once the type was listed before; the first listing only loads', async () => {
    const { apply, logs } = await setUp();
    // The first run loads an empty inventory: nothing it brings was missed.
    await apply(
      snapshotPart({
        snapshotId: 'first',
        type: 'subnet',
        part: 1,
        parts: 1,
        items: [subnet(1), subnet(2)],
        observedAt: at(-120),
      }),
    );
    // Live events then missed a change of subnet 2 and the deletion of subnet 1, and a new subnet 3.
    await apply(
      snapshotPart({
        snapshotId: 'second',
        type: 'subnet',
        part: 1,
        parts: 1,
        items: [{ ...subnet(2), MapPublicIpOnLaunch: true }, subnet(3)],
        observedAt: at(0),
      }),
    );

    const lines = logs.withMessage('reconcile corrections');
    assert.deepEqual(
      lines.map(({ snapshotId, missedCreates, missedChanges, missedDeletes, loaded }) => ({
        snapshotId,
        missedCreates,
        missedChanges,
        missedDeletes,
        loaded,
      })),
      [
        { snapshotId: 'first', missedCreates: 0, missedChanges: 0, missedDeletes: 0, loaded: 2 },
        { snapshotId: 'second', missedCreates: 1, missedChanges: 1, missedDeletes: 1, loaded: 0 },
      ],
    );
    const summaries = logs.withMessage('batch processed');
    const last = summaries.at(-1) as Record<string, unknown>;
    assert.equal(last.ReconcileMissedCreates, 1);
    assert.equal(last.ReconcileMissedChanges, 1);
    assert.equal(last.ReconcileMissedDeletes, 1);
  });

  it('applies a snapshot that arrives while live changes happen: the later observation wins either way', async () => {
    const { apply, admin } = await setUp();
    const listingBegan = at(0);
    const live = { ...instance(5), InstanceType: 'c7g.large' };

    // A live describe after the listing began, then the snapshot that listed the older type.
    await apply(assetState({ type: 'instance', items: [live], observedAt: at(3) }));
    await apply(
      snapshotPart({ snapshotId: 'run-3', type: 'instance', part: 1, parts: 1, items: [instance(5)], observedAt: listingBegan }),
    );

    const kept = JSON.parse((await admin.hget(INVENTORY, `instance/${live.InstanceId}`)) ?? '{}');
    assert.equal(kept.item.InstanceType, 'c7g.large');
    assert.equal(kept.source, 'describe');
  });
});
