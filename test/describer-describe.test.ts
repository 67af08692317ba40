import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DescribeInstancesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describeByIds } from '../describer/describe-assets.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { ACCOUNT, apiCall, REGION, secondsAgo, stateChange, tagChange } from './helpers/describer-events.ts';
import { described, startDescriberRig } from './helpers/describer-rig.ts';

const UNKNOWN_INSTANCES = ['i-0dead000000000001', 'i-0dead000000000002'];

describe('the describer, describing what changed', () => {
  const closeLater = closeAfterEach();

  it('describes a burst of 1,000 launches in at most 10 EC2 calls, with their subnet', async () => {
    // Prepare: 1,000 instances launched in the default subnet, one state-change event each.
    const rig = closeLater(await startDescriberRig());
    const region = rig.ec2.region(REGION);
    const launched = region.runInstances({ count: 1000 }).map((instance) => instance.InstanceId ?? '');
    const subnet = region.defaultSubnet();

    // Act
    const { failed, states, summary } = await rig.invoke(launched.map((id) => stateChange(id, 'pending')));

    // Assess: every instance described, the subnet's free addresses with them, in a handful of calls.
    assert.deepEqual(failed, []);
    assert.ok(rig.ec2.calls() <= 10, `${rig.ec2.calls()} EC2 calls`);
    assert.equal(summary.DescribeCalls, rig.ec2.calls());
    assert.deepEqual(described(states, 'instance').items.sort(), [...launched].sort());
    const subnetStates = states.filter((state) => state.detail.resourceType === 'subnet');
    assert.deepEqual(
      subnetStates.flatMap((state) => state.detail.items),
      [{ ...JSON.parse(JSON.stringify(subnet)), AvailableIpAddressCount: 4091 - 1000 }],
    );
    for (const state of states) {
      assert.equal(state.groupId, 'asset-inventory');
      assert.ok(state.bytes <= 240 * 1024, `${state.bytes} bytes`);
    }
  });

  it('reports instances EC2 no longer knows as not found and describes the rest', async () => {
    // Prepare: two instances exist, two never did (EC2 names both in one InvalidInstanceID.NotFound).
    const rig = closeLater(await startDescriberRig());
    const existing = rig.ec2
      .region(REGION)
      .runInstances({ count: 2, state: 'running' })
      .map((instance) => instance.InstanceId ?? '');

    // Act
    const { failed, states } = await rig.invoke([...existing, ...UNKNOWN_INSTANCES].map((id) => stateChange(id, 'stopping')));

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'instance'), { items: existing, notFound: UNKNOWN_INSTANCES });
    assert.equal(rig.ec2.calls('DescribeInstances'), 2);
  });

  it('reports VPCs and subnets EC2 no longer knows, named one at a time', async () => {
    // Prepare: EC2 names one missing VPC (or subnet) per error: each is taken out and the rest asked again.
    const rig = closeLater(await startDescriberRig());
    const region = rig.ec2.region(REGION);
    const vpc = region.createVpc().VpcId ?? '';
    const subnet = region.createSubnet({ vpcId: vpc }).SubnetId ?? '';
    const goneVpcs = ['vpc-0dead000000000001', 'vpc-0dead000000000002'];
    const goneSubnet = 'subnet-0dead000000000001';

    // Act
    const { failed, states } = await rig.invoke([
      ...[vpc, ...goneVpcs].map((id) => tagChange('vpc', id, { Name: 'x' })),
      apiCall('DeleteSubnet', {
        requestParameters: { subnetId: goneSubnet },
        responseElements: { requestId: 'r', _return: true },
      }),
      apiCall('ModifySubnetAttribute', { requestParameters: { subnetId: subnet, mapPublicIpOnLaunch: { value: true } } }),
    ]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'vpc'), { items: [vpc], notFound: goneVpcs });
    assert.deepEqual(described(states, 'subnet'), { items: [subnet], notFound: [goneSubnet] });
    assert.equal(rig.ec2.calls('DescribeVpcs'), 3);
    assert.equal(rig.ec2.calls('DescribeSubnets'), 2);
  });

  it('reports an instance EC2 leaves out of its answer as not found', async () => {
    // Prepare: EC2 answers without error, and without the instance, when it belongs to another account.
    const rig = closeLater(await startDescriberRig());
    const mine = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    const theirs = rig.ec2.region(REGION, '210987654321').runInstances({ state: 'running' })[0]?.InstanceId ?? '';

    // Act
    const { states } = await rig.invoke([stateChange(mine, 'stopping'), stateChange(theirs, 'stopping')]);

    // Assess
    assert.deepEqual(described(states, 'instance'), { items: [mine], notFound: [theirs] });
    assert.equal(rig.ec2.calls('DescribeInstances'), 1);
  });

  it('keeps a terminated instance as an item and describes the subnets it gave its address back to', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const region = rig.ec2.region(REGION);
    const vpc = region.createVpc().VpcId ?? '';
    const subnet = region.createSubnet({ vpcId: vpc, cidrBlock: '10.0.1.0/24' }).SubnetId ?? '';
    const instance = region.runInstances({ subnetId: subnet, state: 'running' })[0]?.InstanceId ?? '';
    region.terminateInstances([instance]);

    // Act
    const { failed, states } = await rig.invoke([stateChange(instance, 'terminated')]);

    // Assess: the terminated instance no longer names its subnet, so every subnet of the region is described.
    assert.deepEqual(failed, []);
    const [item] = states.find((state) => state.detail.resourceType === 'instance')?.detail.items ?? [];
    assert.deepEqual((item as { State: unknown }).State, { Code: 48, Name: 'terminated' });
    assert.deepEqual(described(states, 'instance').notFound, []);
    const subnets = states.filter((state) => state.detail.resourceType === 'subnet').flatMap((state) => state.detail.items);
    assert.deepEqual(
      subnets.map((listed) => [
        (listed as { SubnetId: string }).SubnetId,
        (listed as { AvailableIpAddressCount: number }).AvailableIpAddressCount,
      ]),
      [[subnet, 251]],
    );
  });

  it('does not describe subnets for state changes that keep their addresses', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const instance = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';

    // Act
    const { states } = await rig.invoke([stateChange(instance, 'stopping'), stateChange(instance, 'stopped')]);

    // Assess
    assert.deepEqual(described(states, 'instance').items, [instance]);
    assert.equal(rig.ec2.calls('DescribeSubnets'), 0);
  });

  it('drops malformed ids with a log line and describes the rest', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const instance = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';

    // Act
    const { failed, states } = await rig.invoke([stateChange('i-123', 'running'), stateChange(instance, 'stopping')]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'instance'), { items: [instance], notFound: [] });
    const line = rig.logs().find((logged) => logged.message === 'malformed ids dropped');
    assert.deepEqual(line?.ids, ['i-123']);
  });

  it("finds the missing ids by halving when EC2's message names none of them", async () => {
    // Prepare: an EC2 that fails any request naming i-...d without saying which id (the message form matters here,
    // not the SDK's retries, so a mocked client is enough).
    const ec2 = new EC2Client({ region: REGION });
    const mock = mockClient(ec2);
    const ids = ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c', 'i-0000000000000000d'];
    mock.on(DescribeInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
      if (input.InstanceIds.includes('i-0000000000000000d')) {
        throw new EC2ServiceException({
          name: 'InvalidInstanceID.NotFound',
          $fault: 'client',
          $metadata: {},
          message: 'not found',
        });
      }
      return { Reservations: [{ Instances: input.InstanceIds.map((InstanceId) => ({ InstanceId })) }] };
    });
    closeLater({ close: () => mock.restore() });

    // Act
    const [observation] = await describeByIds(ec2, 'instance', ids);

    // Assess
    assert.deepEqual(
      observation?.items.map((item) => (item as { InstanceId: string }).InstanceId),
      ids.slice(0, 3),
    );
    assert.deepEqual(observation?.notFound, ['i-0000000000000000d']);
  });

  it('retries throttled describes with adaptive retry and counts each throttle', async () => {
    // Prepare: the first two DescribeInstances are answered RequestLimitExceeded.
    const rig = closeLater(await startDescriberRig());
    const instance = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    rig.ec2.throttle('DescribeInstances', 2);

    // Act
    const { failed, states, summary } = await rig.invoke([stateChange(instance, 'stopping')]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'instance').items, [instance]);
    assert.equal(summary.DescribeThrottles, 2);
    assert.equal(summary.DescribeCalls, 3);
    assert.deepEqual((summary._aws as { CloudWatchMetrics: { Metrics: unknown }[] }).CloudWatchMetrics[0]?.Metrics, [
      { Name: 'DescribeCalls', Unit: 'Count' },
      { Name: 'DescribeThrottles', Unit: 'Count' },
    ]);
  });

  it('keeps to a rate-limited EC2 (token bucket) and describes every type', async () => {
    // Prepare: one request in the bucket, five a second after that; three types to describe.
    const rig = closeLater(await startDescriberRig());
    const region = rig.ec2.region(REGION);
    const vpc = region.createVpc().VpcId ?? '';
    const subnet = region.createSubnet({ vpcId: vpc }).SubnetId ?? '';
    const instance = region.runInstances({ subnetId: subnet, state: 'running' })[0]?.InstanceId ?? '';
    rig.ec2.rateLimit({ requestsPerSecond: 5, burst: 1 });

    // Act
    const { failed, states, summary } = await rig.invoke([
      stateChange(instance, 'stopping'),
      tagChange('vpc', vpc, { Name: 'a' }),
      tagChange('subnet', subnet, { Name: 'b' }),
    ]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(
      [described(states, 'instance').items, described(states, 'vpc').items, described(states, 'subnet').items],
      [[instance], [vpc], [subnet]],
    );
    assert.ok(Number(summary.DescribeThrottles) >= 1);
  });

  it('fails the records whose describe EC2 keeps throttling, so that SQS delivers them again', async () => {
    // Prepare: two attempts per call, EC2 throttles five in a row.
    const rig = closeLater(await startDescriberRig({ ec2Client: { maxAttempts: 2 } }));
    const region = rig.ec2.region(REGION);
    const instance = region.runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    const vpc = region.createVpc().VpcId ?? '';
    rig.ec2.throttle('DescribeInstances', 5);

    // Act
    const { failed, states } = await rig.invoke([stateChange(instance, 'stopping'), tagChange('vpc', vpc, { Name: 'a' })]);

    // Assess: the instance's record is retried; the VPC's went through.
    assert.deepEqual(failed, [0]);
    assert.deepEqual(described(states, 'instance').items, []);
    assert.deepEqual(described(states, 'vpc').items, [vpc]);
  });

  describe('eventual consistency', () => {
    it('retries a just-created asset EC2 does not know yet instead of reporting it not found', async () => {
      // Prepare: EC2 knows new assets only a minute after their creation.
      let clock = Date.now();
      const rig = closeLater(await startDescriberRig({ simulator: { creationLagMs: 60_000, now: () => clock } }));
      const region = rig.ec2.region(REGION);
      const instance = region.runInstances()[0]?.InstanceId ?? '';
      const vpc = region.createVpc({ cidrBlock: '10.9.0.0/16' });
      const created = apiCall('CreateVpc', {
        requestParameters: { cidrBlock: '10.9.0.0/16' },
        responseElements: { vpc: { vpcId: vpc.VpcId, state: 'pending', cidrBlock: '10.9.0.0/16' } },
      });
      const launch = stateChange(instance, 'pending');

      // Act
      const early = await rig.invoke([launch, created]);
      clock += 61_000;
      const later = await rig.invoke([launch, created]);

      // Assess: first both records fail and nothing is reported gone; once EC2 knows them, both are described.
      assert.deepEqual(early.failed, [0, 1]);
      assert.deepEqual([described(early.states, 'instance').notFound, described(early.states, 'vpc').notFound], [[], []]);
      assert.deepEqual(later.failed, []);
      assert.deepEqual(
        [described(later.states, 'instance').items, described(later.states, 'vpc').items],
        [[instance], [vpc.VpcId]],
      );
    });

    it('reports a just-created asset gone at once when the batch also holds its deletion', async () => {
      // Prepare: a VPC created and deleted seconds ago; both events come in one batch.
      const rig = closeLater(await startDescriberRig());
      const vpcId = 'vpc-0aaaaaaaaaaaaaaa1';
      const created = apiCall('CreateVpc', {
        requestParameters: { cidrBlock: '10.9.0.0/16' },
        responseElements: { vpc: { vpcId, state: 'pending', cidrBlock: '10.9.0.0/16' } },
      });
      const deleted = apiCall('DeleteVpc', { requestParameters: { vpcId }, responseElements: { _return: true } });

      // Act
      const { failed, states } = await rig.invoke([created, deleted]);

      // Assess: not held for the grace: the latest word on it is its deletion.
      assert.deepEqual(failed, []);
      assert.deepEqual(described(states, 'vpc').notFound, [vpcId]);
    });

    it('reports a created asset EC2 does not know once its event is older than the grace', async () => {
      // Prepare: the launch happened two minutes ago (grace: 60 s), the instance is gone from EC2.
      const rig = closeLater(await startDescriberRig());
      const gone = UNKNOWN_INSTANCES[0] ?? '';

      // Act
      const { failed, states } = await rig.invoke([stateChange(gone, 'pending', { time: secondsAgo(120) })]);

      // Assess
      assert.deepEqual(failed, []);
      assert.deepEqual(described(states, 'instance').notFound, [gone]);
    });

    it('reports a young asset as not found when its event is no create', async () => {
      // Prepare: a deletion seconds ago, no grace needed.
      const rig = closeLater(await startDescriberRig());
      const gone = 'vpc-0dead000000000003';

      // Act
      const { failed, states } = await rig.invoke([
        apiCall('DeleteVpc', { requestParameters: { vpcId: gone }, responseElements: { requestId: 'r', _return: true } }),
      ]);

      // Assess
      assert.deepEqual(failed, []);
      assert.deepEqual(described(states, 'vpc').notFound, [gone]);
    });
  });

  it('names the account, the region, the observation time and the earliest event time', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const instance = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    const before = new Date().toISOString();

    // Act
    const { states } = await rig.invoke([
      stateChange(instance, 'stopping', { time: '2026-11-20T10:05:00Z' }),
      stateChange(instance, 'stopped', { time: '2026-11-20T10:04:00Z' }),
    ]);

    // Assess
    const [state] = states;
    assert.equal(states.length, 1);
    assert.deepEqual(
      [state?.source, state?.detailType, state?.account, state?.region, state?.detail.eventTime],
      ['assets.describe', 'Asset State', ACCOUNT, REGION, '2026-11-20T10:04:00Z'],
    );
    assert.ok((state?.detail.observedAt ?? '') >= before);
    assert.match(state?.detail.observedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
