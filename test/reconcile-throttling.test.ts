import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJsonLogger } from '../lambda/log.ts';
import { createEc2Client } from '../reconcile/aws-clients.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { startEc2QueryStub, stubInstanceId, throttled } from './helpers/ec2-query-stub.ts';
import { startSnapshotQueue } from './helpers/snapshot-queue.ts';

const REGION = 'us-east-1';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:management-events-reconcile-us-east-1';

describe('the reconcile function when EC2 throttles', () => {
  const closeLater = closeAfterEach();

  it('retries throttled pages with the deployed client settings and still sends every item', async () => {
    // Prepare: the second instance page is throttled twice, DescribeVpcs once.
    const ec2Stub = closeLater(
      await startEc2QueryStub({
        instanceCount: 25,
        pageSize: 10,
        errors: { 'DescribeInstances:10': throttled(2), 'DescribeVpcs:': throttled(1) },
      }),
    );
    const queue = closeLater(await startSnapshotQueue(REGION));
    const ec2 = createEc2Client(REGION, {
      endpoint: ec2Stub.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    closeLater({ close: () => ec2.destroy() });
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, API_CALL_RULE: 'false', AWS_REGION: REGION },
      ec2,
      sqs: queue.sqs,
      logger: createJsonLogger(() => {}),
    });

    // Act
    const summary = await handler({}, { invokedFunctionArn: FUNCTION_ARN });
    const events = (await queue.drain()).map((message) => JSON.parse(message.body));

    // Assess: the throttled requests were sent again, and nothing is missing.
    assert.deepEqual(ec2Stub.requests, [
      'DescribeInstances:',
      'DescribeInstances:10',
      'DescribeInstances:10',
      'DescribeInstances:10',
      'DescribeInstances:20',
      'DescribeVpcs:',
      'DescribeVpcs:',
      'DescribeSubnets:',
    ]);
    assert.deepEqual(summary.failed, []);
    for (const group of ['management-events-tags', 'ec2-instances-events']) {
      const instanceIds = events
        .filter((event) => event.detail.resourceType === 'instance' && event.detail.group === group)
        .flatMap((event) => event.detail.items.map((item: { InstanceId: string }) => item.InstanceId));
      assert.deepEqual(
        instanceIds,
        Array.from({ length: 25 }, (_, i) => stubInstanceId(i)),
      );
    }
    assert.deepEqual(
      events.filter((event) => event.detail.resourceType === 'vpc').map((event) => event.detail.items[0].VpcId),
      ['vpc-0123456789abcdef0', 'vpc-0123456789abcdef0'],
    );
  });
});
