import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AssetSnapshotDetail, INVENTORY_MESSAGE_GROUP } from '../lambda/inventory-events.ts';
import { createJsonLogger } from '../lambda/log.ts';
import { createEc2Client } from '../reconcile/aws-clients.ts';
import { ReconcileConfigError, readReconcileConfig } from '../reconcile/config.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { ReconcileIncompleteError, reconcile } from '../reconcile/run-reconcile.ts';
import { queueSnapshotSender } from '../reconcile/send-snapshot.ts';
import { SQS_MAX_MESSAGE_BYTES } from '../reconcile/snapshot-events.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { type Ec2QueryStubOptions, startEc2QueryStub, stubInstanceId } from './helpers/ec2-query-stub.ts';
import { type ReceivedMessage, startSnapshotQueue } from './helpers/snapshot-queue.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:management-events-reconcile-${REGION}`;
/** About 260 KB of instances as JSON, over two pages: two parts. */
const INSTANCES = 2000;

interface InventorySnapshot {
  readonly groupId: string;
  readonly bytes: number;
  readonly time: string;
  readonly detail: Omit<AssetSnapshotDetail, 'items'> & { readonly items: readonly Record<string, unknown>[] };
}

function snapshots(messages: readonly ReceivedMessage[]): InventorySnapshot[] {
  return messages.map((message) => {
    const event = JSON.parse(message.body) as { time: string; detail: InventorySnapshot['detail'] };
    return { groupId: message.groupId, bytes: Buffer.byteLength(message.body), time: event.time, detail: event.detail };
  });
}

describe('the reconcile function for the inventory (INVENTORY=true)', () => {
  const closeLater = closeAfterEach();

  async function start(stub: Omit<Ec2QueryStubOptions, 'instanceCount' | 'pageSize'> = {}) {
    const ec2Stub = closeLater(await startEc2QueryStub({ instanceCount: INSTANCES, pageSize: 1000, ...stub }));
    const queue = closeLater(await startSnapshotQueue(REGION));
    const ec2 = createEc2Client(REGION, {
      endpoint: ec2Stub.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    closeLater({ close: () => ec2.destroy() });
    return { ec2, queue };
  }

  it('sends each part once, through the inventory group, with the types of the run and no live group', async () => {
    // Prepare
    const { ec2, queue } = await start();
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, AWS_REGION: REGION, INVENTORY: 'true' },
      ec2,
      sqs: queue.sqs,
      logger: createJsonLogger(() => {}),
    });
    const before = new Date();

    // Act
    const summary = await handler({}, { invokedFunctionArn: FUNCTION_ARN });
    const sent = snapshots(await queue.drain());

    // Assess
    assert.deepEqual(
      summary.sent.map((type) => [type.resourceType, type.items, type.messages === type.parts]),
      [
        ['instance', INSTANCES, true],
        ['vpc', 1, true],
        ['subnet', 1, true],
      ],
    );
    assert.ok((summary.sent[0]?.parts ?? 0) >= 2, 'the instances took several parts');
    assert.deepEqual(new Set(sent.map((snapshot) => snapshot.groupId)), new Set([INVENTORY_MESSAGE_GROUP]));
    for (const type of ['instance', 'vpc', 'subnet'] as const) {
      const ofType = sent.filter((snapshot) => snapshot.detail.resourceType === type);
      const parts = ofType[0]?.detail.parts ?? 0;
      assert.deepEqual(
        ofType.map((snapshot) => [snapshot.detail.part, snapshot.detail.parts]),
        Array.from({ length: parts }, (_, i) => [i + 1, parts]),
        `${type}: parts 1..n, each once`,
      );
      assert.equal(new Set(ofType.map((snapshot) => snapshot.detail.observedAt)).size, 1, `${type}: one listing time`);
    }
    assert.deepEqual(
      sent
        .filter((snapshot) => snapshot.detail.resourceType === 'instance')
        .flatMap((snapshot) => snapshot.detail.items.map((item) => item.InstanceId)),
      Array.from({ length: INSTANCES }, (_, i) => stubInstanceId(i)),
    );
    for (const snapshot of sent) {
      assert.deepEqual(snapshot.detail.types, ['instance', 'vpc', 'subnet']);
      assert.equal(snapshot.detail.complete, true);
      assert.equal(snapshot.detail.snapshotId, summary.snapshotId);
      assert.ok(!('group' in snapshot.detail) && !('groups' in snapshot.detail), 'no live group named');
      const observedAt = snapshot.detail.observedAt ?? '';
      assert.match(observedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(observedAt >= before.toISOString() && observedAt <= new Date().toISOString(), observedAt);
      assert.equal(snapshot.time, `${observedAt.slice(0, 19)}Z`, 'time: the same instant, in whole seconds');
      assert.ok(snapshot.bytes <= SQS_MAX_MESSAGE_BYTES, `${snapshot.bytes} bytes`);
    }
  });

  it('stamps each type with when its listing began, not when it was sent', async () => {
    // Prepare: a clock that moves one second with each EC2 request.
    let clock = Date.parse('2026-12-01T06:00:00.250Z');
    const { ec2, queue } = await start({
      onRequest: () => {
        clock += 1000;
      },
    });

    // Act
    await reconcile({
      ec2,
      send: queueSnapshotSender(queue.sqs, queue.queueUrl),
      inventory: true,
      account: ACCOUNT,
      region: REGION,
      resources: [FUNCTION_ARN],
      logger: createJsonLogger(() => {}),
      now: () => new Date(clock),
    });
    const sent = snapshots(await queue.drain());

    // Assess: two instance pages, then one page each of VPCs and subnets.
    const stamps = Object.fromEntries(sent.map((snapshot) => [snapshot.detail.resourceType, snapshot.detail.observedAt]));
    assert.deepEqual(stamps, {
      instance: '2026-12-01T06:00:00.250Z',
      vpc: '2026-12-01T06:00:02.250Z',
      subnet: '2026-12-01T06:00:03.250Z',
    });
  });

  it('does not send a type it could not list; the parts of the others still name every type of the run', async () => {
    // Prepare
    const denied = {
      times: Number.POSITIVE_INFINITY,
      status: 403,
      code: 'UnauthorizedOperation',
      message: 'You are not authorized.',
    };
    const { ec2, queue } = await start({ errors: { 'DescribeVpcs:': denied } });
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, AWS_REGION: REGION, INVENTORY: 'true' },
      ec2,
      sqs: queue.sqs,
      logger: createJsonLogger(() => {}),
    });

    // Act
    const failure = await handler({}, { invokedFunctionArn: FUNCTION_ARN }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const sent = snapshots(await queue.drain());

    // Assess: the sync function never sees the run complete, so it counts no corrections for it.
    assert.ok(failure instanceof ReconcileIncompleteError, String(failure));
    assert.deepEqual(
      failure.summary.failed.map((type) => [type.resourceType, type.error.name]),
      [['vpc', 'UnauthorizedOperation']],
    );
    assert.deepEqual([...new Set(sent.map((snapshot) => snapshot.detail.resourceType))], ['instance', 'subnet']);
    for (const snapshot of sent) assert.deepEqual(snapshot.detail.types, ['instance', 'vpc', 'subnet']);
  });
});

describe('the reconcile configuration', () => {
  const base = {
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/management-events-us-east-1.fifo',
    AWS_REGION: REGION,
  };

  it('reads the destination, the region and whether the snapshots are for the inventory', () => {
    const config = readReconcileConfig(base);
    assert.deepEqual(
      [config.target, config.region, config.inventory],
      [{ kind: 'queue', queueUrl: base.QUEUE_URL, region: REGION }, REGION, false],
    );
    assert.equal(readReconcileConfig({ ...base, INVENTORY: 'true' }).inventory, true);
  });

  it('refuses an INVENTORY that is neither true nor false, naming it with every other problem', () => {
    assert.throws(
      () => readReconcileConfig({ AWS_REGION: REGION, INVENTORY: 'yes' }),
      (error: Error) => {
        assert.ok(error instanceof ReconcileConfigError);
        assert.equal(
          error.message,
          'QUEUE_URL (the FIFO queue) or, in a member account, CENTRAL_BUS_ARN (the central default bus) is required; INVENTORY must be true or false, got "yes"',
        );
        return true;
      },
    );
  });
});
