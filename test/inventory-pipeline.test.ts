import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type InventoryPipeline, startInventoryPipeline } from '../local/inventory-pipeline.ts';
import { routeEvent } from '../local/router.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { apiCallEvent, launch, randomStep, routed, seededRandom } from './helpers/inventory-script.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { sampleEvents } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const REGION = 'us-east-1';

describe('the inventory end to end: rules, describer, simulated EC2, sync function, Redis', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  async function start(): Promise<InventoryPipeline & { logs: ReturnType<typeof captureLogs> }> {
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    const logs = captureLogs();
    const inventory = track(
      await startInventoryPipeline({
        region: REGION,
        redisUrl: redis.url,
        maxReceiveCount: 1000,
        visibilityTimeoutSeconds: 2,
        functionLogger: logs.logger,
        describerLogger: logs.logger,
        // Shorter than the deployed 2 s: the test waits less; what is batched is the same.
        describeWindowMs: 300,
        // A create followed at once by a delete waits out the grace before it is reported gone: keep it short here.
        notFoundGraceSeconds: 3,
      }),
    );
    return Object.assign(inventory, { logs });
  }

  it("holds what EC2 describes after the sample events' changes, and one reconcile finds nothing to correct", {
    timeout: 60_000,
  }, async () => {
    const inventory = await start();
    // The samples' changes happen in the simulated EC2, and EventBridge delivers what its rules take.
    for (const event of sampleEvents()) {
      inventory.ec2.applyEvent(event);
      const route = routeEvent(event, JSON.stringify(event));
      if ('rule' in route) await inventory.deliver([route]);
    }
    await inventory.settle(20_000);
    const live = await inventory.records();

    // The instance the samples launch, as EC2 describes it now (stopped, then terminated by the last samples?):
    // every asset the events named is in the inventory.
    assert.ok(live.length > 0);
    assert.ok(live.every((record) => record.source === 'describe'));
    await inventory.reconcile();
    await inventory.settle(20_000);

    assert.deepEqual(await inventory.differences(), []);
  });

  it('heals a delete that no event reported, and counts it as missed', { timeout: 60_000 }, async () => {
    const inventory = await start();
    const scope = inventory.ec2.region(REGION);
    const vpc = scope.createVpc();
    const subnet = scope.createSubnet({ vpcId: vpc.VpcId ?? '' });
    await inventory.reconcile();
    await inventory.settle(20_000);
    assert.deepEqual(await inventory.differences(), []);

    // The subnet is deleted and its event is lost.
    scope.deleteSubnet(subnet.SubnetId ?? '');
    assert.deepEqual(await inventory.differences(), [`subnet/${subnet.SubnetId}: gone from EC2, alive in the inventory`]);
    await inventory.reconcile();
    await inventory.settle(20_000);

    assert.deepEqual(await inventory.differences(), []);
    const record = (await inventory.records()).find((item) => item.id === subnet.SubnetId);
    assert.equal(record?.deleted, true);
    assert.equal(record?.reason, 'absent-from-snapshot');
    const corrections = inventory.logs.withMessage('reconcile corrections').at(-1);
    assert.equal(corrections?.missedDeletes, 1);
  });

  it('converges: with 10% of the events dropped, one reconcile leaves no difference', { timeout: 120_000 }, async () => {
    const inventory = await start();
    const scope = inventory.ec2.region(REGION);
    const random = seededRandom(21);
    launch(scope, 5);
    await inventory.reconcile();
    await inventory.settle(20_000);

    let dropped = 0;
    for (let step = 0; step < 60; step += 1) {
      const events = routed(randomStep(scope, random));
      const delivered = events.filter(() => random() >= 0.1);
      dropped += events.length - delivered.length;
      await inventory.deliver(delivered);
    }
    await inventory.settle(30_000);
    const before = await inventory.differences();
    await inventory.reconcile();
    await inventory.settle(30_000);

    assert.ok(dropped > 0, 'some events were dropped');
    assert.deepEqual(await inventory.differences(), [], `differences before the reconcile: ${before.length}`);
  });

  it('describes a burst of 1,000 launches in a handful of EC2 calls', { timeout: 60_000 }, async () => {
    const inventory = await start();
    const scope = inventory.ec2.region(REGION);
    const { ids, events } = launch(scope, 1000);
    inventory.ec2.resetCalls();

    await inventory.deliver(routed(events));
    await inventory.settle(30_000);

    const alive = (await inventory.records()).filter((record) => record.type === 'instance' && !record.deleted);
    assert.equal(alive.length, ids.length);
    assert.ok(inventory.ec2.calls() <= 10, `${inventory.ec2.calls()} EC2 calls`);
  });

  it('describes again what a call names only by an association that is gone (DisassociateAddress)', {
    timeout: 60_000,
  }, async () => {
    const inventory = await start();
    const scope = inventory.ec2.region(REGION);
    const { ids } = launch(scope, 2);
    const [instanceId = ''] = ids;
    const address = scope.allocateAddress();
    const associationId = scope.associateAddress({ allocationId: address.AllocationId ?? '', instanceId });
    await inventory.reconcile();
    await inventory.settle(20_000);
    const publicIpOf = async () =>
      ((await inventory.records()).find((record) => record.id === instanceId)?.item as { PublicIpAddress?: string } | undefined)
        ?.PublicIpAddress;
    assert.equal(await publicIpOf(), address.PublicIp);

    scope.disassociateAddress(associationId);
    await inventory.deliver(routed([apiCallEvent(scope, 'DisassociateAddress', { associationId })]));
    await inventory.settle(20_000);

    assert.equal(await publicIpOf(), undefined);
    assert.deepEqual(await inventory.differences(), []);
  });
});
