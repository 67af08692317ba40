import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createJsonLogger } from '../lambda/log.ts';
import { createEc2Client } from '../reconcile/aws-clients.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { startSnapshotQueue } from './helpers/snapshot-queue.ts';

const REGION = 'us-east-1';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:management-events-reconcile-us-east-1';

/*
 * EC2 over HTTP, its query protocol and XML answers, so the client's own retry middleware runs (aws-sdk-client-mock
 * replaces `send` and would skip it). Each request listed in `throttle` is answered RequestLimitExceeded that many
 * times before it succeeds.
 */
async function startEc2Stub(instanceCount: number, pageSize: number, throttle: Record<string, number>) {
  const requests: string[] = [];
  const remaining = new Map(Object.entries(throttle));
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      const key = `${action}:${form.get('NextToken') ?? ''}`;
      requests.push(key);
      const left = remaining.get(key) ?? 0;
      if (left > 0) {
        remaining.set(key, left - 1);
        response.writeHead(503, { 'content-type': 'text/xml' });
        response.end(
          '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>',
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(answer(action, Number(form.get('NextToken') ?? 0)));
    });
  });
  const answer = (action: string, start: number) => {
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    if (action === 'DescribeInstances') {
      const end = Math.min(start + pageSize, instanceCount);
      const items = [];
      for (let i = start; i < end; i += 1) {
        items.push(
          `<item><reservationId>r-${i}</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>i-${String(i).padStart(17, '0')}</instanceId><instanceType>t4g.micro</instanceType><instanceState><code>16</code><name>running</name></instanceState><tagSet><item><key>Name</key><value>web-${i}</value></item></tagSet></item></instancesSet></item>`,
        );
      }
      const next = end < instanceCount ? `<nextToken>${end}</nextToken>` : '';
      return `<DescribeInstancesResponse ${ns}><requestId>r</requestId><reservationSet>${items.join('')}</reservationSet>${next}</DescribeInstancesResponse>`;
    }
    if (action === 'DescribeVpcs') {
      return `<DescribeVpcsResponse ${ns}><requestId>r</requestId><vpcSet><item><vpcId>vpc-0123456789abcdef0</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><state>available</state></item></vpcSet></DescribeVpcsResponse>`;
    }
    return `<DescribeSubnetsResponse ${ns}><requestId>r</requestId><subnetSet><item><subnetId>subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0</vpcId><cidrBlock>10.0.1.0/24</cidrBlock><state>available</state></item></subnetSet></DescribeSubnetsResponse>`;
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the reconcile function when EC2 throttles', () => {
  const closeLater = closeAfterEach();

  it('retries throttled pages with the deployed client settings and still sends every item', async () => {
    // Prepare: the second instance page is throttled twice, DescribeVpcs once.
    const ec2Stub = closeLater(await startEc2Stub(25, 10, { 'DescribeInstances:10': 2, 'DescribeVpcs:': 1 }));
    const queue = closeLater(await startSnapshotQueue(REGION));
    const ec2 = createEc2Client(REGION, {
      endpoint: ec2Stub.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    closeLater({ close: () => ec2.destroy() });
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, SNAPSHOT_GROUPS: 'g1,g2', AWS_REGION: REGION },
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
    for (const group of ['g1', 'g2']) {
      const instanceIds = events
        .filter((event) => event.detail.resourceType === 'instance' && event.detail.group === group)
        .flatMap((event) => event.detail.items.map((item: { InstanceId: string }) => item.InstanceId));
      assert.deepEqual(
        instanceIds,
        Array.from({ length: 25 }, (_, i) => `i-${String(i).padStart(17, '0')}`),
      );
    }
    assert.deepEqual(
      events.filter((event) => event.detail.resourceType === 'vpc').map((event) => event.detail.items[0].VpcId),
      ['vpc-0123456789abcdef0', 'vpc-0123456789abcdef0'],
    );
  });
});
