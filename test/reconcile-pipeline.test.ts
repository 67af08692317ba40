import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeInstancesCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createJsonLogger } from '../lambda/log.ts';
import type { InventoryMessage } from '../local/inventory-subscriber.ts';
import { startPipeline } from '../local/pipeline.ts';
import type { RoutedEvent } from '../local/router.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { instance, subnet, vpc } from './helpers/ec2-assets.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:management-events-reconcile-${REGION}`;
const GROUPS = ['management-events-tags', 'ec2-instances-events'];

function liveEvent(id: string, group: string): RoutedEvent {
  const body = JSON.stringify({
    version: '0',
    id,
    'detail-type': group === 'ec2-instances-events' ? 'EC2 Instance State-change Notification' : 'Tag Change on Resource',
    source: group === 'ec2-instances-events' ? 'aws.ec2' : 'aws.tag',
    account: ACCOUNT,
    time: '2026-12-01T00:00:00Z',
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-00000000000000001`],
    detail: { 'instance-id': 'i-00000000000000001', state: 'running' },
  });
  return { id, rule: group, group, body };
}

describe('snapshots through the local pipeline', () => {
  const redis = useRedisServer();
  const closeLater = closeAfterEach();

  it("reach the subscriber on the account's channel, each group's copy after the live events sent before it", async () => {
    // Prepare
    const received: InventoryMessage[] = [];
    const pipeline = closeLater(
      await startPipeline({
        region: REGION,
        redisUrl: redis.url,
        maxReceiveCount: 5,
        groupBatching: 'sqs',
        visibilityTimeoutSeconds: 5,
        functionLogger: createJsonLogger(() => {}),
        onMessage: (message) => received.push(message),
      }),
    );
    const ec2Client = new EC2Client({ region: REGION });
    const ec2 = mockClient(ec2Client);
    closeLater({ close: () => ec2.restore() });
    const instances = Array.from({ length: 400 }, (_, i) => instance(i));
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ ReservationId: 'r-1', Instances: instances }] });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [vpc(1)] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet(1)] });
    const reconcile = createReconcileHandler({
      env: { QUEUE_URL: pipeline.queue.queueUrl, API_CALL_RULE: 'false', AWS_REGION: REGION },
      ec2: ec2Client,
      sqs: pipeline.queue.sqs,
      logger: createJsonLogger(() => {}),
    });

    // Act: live events queued first in each group, then a snapshot.
    await pipeline.send(GROUPS.map((group) => liveEvent(`live-${group}`, group)));
    const summary = await reconcile({}, { invokedFunctionArn: FUNCTION_ARN });
    const expected = 2 + summary.sent.reduce((sum, type) => sum + type.messages, 0);
    for (let waited = 0; received.length < expected && waited < 30_000; waited += 50) await sleep(50);

    // Assess
    assert.equal(received.length, expected, `${received.length} of ${expected} messages reached the subscriber`);
    assert.ok(summary.sent[0] && summary.sent[0].parts >= 2, 'the instances took several parts');
    for (const message of received) assert.equal(message.channel, `topic-account-management-events-${ACCOUNT}`);
    for (const group of GROUPS) {
      const live = received.findIndex((message) => message.event?.id === `live-${group}`);
      const copies = received
        .map((message, index) => ({ detail: message.event?.detail as { group?: string } | undefined, index }))
        .filter(({ detail }) => detail?.group === group);
      assert.equal(copies.length, expected / GROUPS.length - 1);
      assert.ok(
        copies.every(({ index }) => index > live),
        `group ${group}: no snapshot part before the live event`,
      );
    }
    const instanceIds = received
      .map((message) => message.event?.detail as { group: string; resourceType: string; items: { InstanceId: string }[] })
      .filter((detail) => detail?.resourceType === 'instance' && detail.group === GROUPS[0])
      .flatMap((detail) => detail.items.map((item) => item.InstanceId));
    assert.deepEqual(instanceIds.sort(), instances.map((item) => item.InstanceId).sort());
  });
});
