import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { type Ec2Simulator, type Ec2SimulatorOptions, startEc2Simulator } from '../local/ec2-simulator.ts';
import { createEc2Client } from '../reconcile/aws-clients.ts';
import { listAssets } from '../reconcile/list-assets.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { apiCall, REGION, stateChange } from './helpers/describer-events.ts';
import { sampleEvents } from './helpers/records.ts';

const OTHER_ACCOUNT = '210987654321';

/** The error EC2 answered (name and message), through the real client. */
async function refusal(promise: Promise<unknown>): Promise<[string, string]> {
  try {
    await promise;
  } catch (error) {
    return [(error as Error).name, (error as Error).message];
  }
  throw new Error('EC2 accepted the request');
}

describe('the simulated EC2', () => {
  const closeLater = closeAfterEach();

  async function start(options: Ec2SimulatorOptions = {}) {
    const simulator: Ec2Simulator = closeLater(await startEc2Simulator(options));
    const client = (account?: string, region = REGION) => {
      const ec2 = new EC2Client({ region, ...simulator.clientConfig(account), maxAttempts: 1 });
      closeLater({ close: () => ec2.destroy() });
      return ec2;
    };
    return { simulator, ec2: client(), client, region: simulator.region(REGION) };
  }

  it("answers what parses, through the real client, into the objects reconcile's listings hold", async () => {
    // Prepare: every relation the descriptions are built from, and text XML must escape.
    const { ec2, region } = await start();
    const vpc = region.createVpc({ tags: { Name: 'prod <a&b> "quoted"', owner: 'équipe-données-€' } }).VpcId ?? '';
    const subnet = region.createSubnet({ vpcId: vpc, tags: { tier: 'private' } }).SubnetId ?? '';
    const [web] = region.runInstances({ count: 2, subnetId: subnet, instanceType: 'm7g.large', tags: { Name: 'web' } });
    region.runInstances({ subnetId: subnet, state: 'running' });
    const gone = region.runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    region.terminateInstances([gone]);
    const webId = web?.InstanceId ?? '';
    const extra = region.createNetworkInterface({ subnetId: subnet }).NetworkInterfaceId ?? '';
    region.attachNetworkInterface(extra, webId, 1);
    region.assignPrivateIpAddresses(extra, 2);
    const volume = region.createVolume().VolumeId ?? '';
    region.attachVolume(volume, webId, '/dev/sdf');
    region.associateAddress({ allocationId: region.allocateAddress().AllocationId ?? '', instanceId: webId });
    region.modifyInstance(webId, { CpuOptions: { CoreCount: 2, ThreadsPerCore: 1 } });

    // Act
    const listed = {
      instance: await listAssets(ec2, 'instance'),
      vpc: await listAssets(ec2, 'vpc'),
      subnet: await listAssets(ec2, 'subnet'),
      interfaces: (await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces,
      volumes: (await ec2.send(new DescribeVolumesCommand({}))).Volumes,
      addresses: (await ec2.send(new DescribeAddressesCommand({}))).Addresses,
    };

    // Assess
    assert.deepEqual(listed, {
      instance: region.list('instance'),
      vpc: region.list('vpc'),
      subnet: region.list('subnet'),
      interfaces: region.networkInterfaces(),
      volumes: region.volumes(),
      addresses: region.addresses(),
    });
    const described = listed.instance.find((item) => (item as Instance).InstanceId === webId) as Instance;
    assert.deepEqual(
      [
        described.SubnetId,
        described.VpcId,
        described.NetworkInterfaces?.length,
        described.BlockDeviceMappings?.length,
        described.PublicIpAddress,
      ],
      [subnet, vpc, 2, 2, '198.51.100.1'],
    );
    const terminated = listed.instance.find((item) => (item as Instance).InstanceId === gone) as Instance;
    assert.deepEqual([terminated.State?.Name, terminated.SubnetId, terminated.NetworkInterfaces], ['terminated', undefined, []]);
  });

  it("keeps a subnet's free addresses to what its interfaces hold", async () => {
    // Prepare
    const { ec2, region } = await start();
    const subnet = region.createSubnet({ vpcId: region.createVpc().VpcId ?? '', cidrBlock: '10.0.3.0/24' }).SubnetId ?? '';
    const launched = region.runInstances({ count: 3, subnetId: subnet }).map((item) => item.InstanceId ?? '');
    region.terminateInstances([launched[0] ?? '']);
    const eni = region.createNetworkInterface({ subnetId: subnet }).NetworkInterfaceId ?? '';
    region.assignPrivateIpAddresses(eni, 4);

    // Act
    const { Subnets = [] } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] }));

    // Assess: 256 - 5 - (2 instances + 1 interface with 5 addresses).
    assert.equal(Subnets[0]?.AvailableIpAddressCount, 256 - 5 - 2 - 5);
  });

  describe('paging and parameters', () => {
    it('pages instances by MaxResults, keeping each page in its reservations', async () => {
      // Prepare: 12 instances in two reservations.
      const { ec2, region } = await start();
      const ids = [...region.runInstances({ count: 7 }), ...region.runInstances({ count: 5 })].map((item) => item.InstanceId);

      // Act
      const pages = [];
      let NextToken: string | undefined;
      do {
        const page = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken }));
        pages.push(page.Reservations?.map((reservation) => reservation.Instances?.length));
        NextToken = page.NextToken;
      } while (NextToken);
      const all = await listAssets(ec2, 'instance');

      // Assess
      assert.deepEqual(pages, [[5], [2, 3], [2]]);
      assert.deepEqual(
        all.map((item) => (item as Instance).InstanceId),
        ids,
      );
    });

    it("refuses MaxResults with instance ids, and MaxResults out of EC2's range", async () => {
      const { ec2, region } = await start();
      const id = region.runInstances()[0]?.InstanceId ?? '';
      assert.deepEqual(await refusal(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id], MaxResults: 5 }))), [
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults',
      ]);
      assert.deepEqual(await refusal(ec2.send(new DescribeVpcsCommand({ MaxResults: 3 }))), [
        'InvalidParameterValue',
        'Value ( 3 ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.',
      ]);
    });

    it('filters by id without failing on unknown ones, and by tag', async () => {
      const { ec2, region } = await start();
      const [first, second] = region.runInstances({ count: 2, tags: { env: 'prod' } }).map((item) => item.InstanceId ?? '');
      region.setTags('instance', second ?? '', { env: 'test' });
      const byId = await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [first ?? '', 'i-0dead000000000001'] }] }),
      );
      const byTag = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:env', Values: ['test'] }] }));
      assert.deepEqual(
        [byId, byTag].map((answer) =>
          answer.Reservations?.flatMap((reservation) => reservation.Instances?.map((item) => item.InstanceId)),
        ),
        [[first], [second]],
      );
    });

    it('refuses more than 200 filter values and filters it does not know', async () => {
      const { ec2 } = await start();
      const values = Array.from({ length: 201 }, (_, index) => `subnet-${index.toString(16).padStart(17, '0')}`);
      assert.deepEqual(
        await refusal(ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: values }] }))),
        ['FilterLimitExceeded', 'The maximum number of filter values specified on a single call is 200'],
      );
      assert.deepEqual(await refusal(ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] }))), [
        'InvalidParameterValue',
        "The filter 'colour' is invalid",
      ]);
    });
  });

  describe("EC2's errors for ids", () => {
    it('fails a describe by ids whole, naming every missing instance', async () => {
      const { ec2, region } = await start();
      const id = region.runInstances()[0]?.InstanceId ?? '';
      assert.deepEqual(
        await refusal(
          ec2.send(new DescribeInstancesCommand({ InstanceIds: [id, 'i-0dead000000000001', 'i-0dead000000000002'] })),
        ),
        ['InvalidInstanceID.NotFound', "The instance IDs 'i-0dead000000000001, i-0dead000000000002' do not exist"],
      );
      assert.deepEqual(await refusal(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0dead000000000003'] }))), [
        'InvalidInstanceID.NotFound',
        "The instance ID 'i-0dead000000000003' does not exist",
      ]);
    });

    it('names the first missing VPC or subnet, and the first malformed id before any lookup', async () => {
      const { ec2 } = await start();
      assert.deepEqual(
        await refusal(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0dead000000000001', 'vpc-0dead000000000002'] }))),
        ['InvalidVpcID.NotFound', "The vpc ID 'vpc-0dead000000000001' does not exist"],
      );
      assert.deepEqual(await refusal(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0dead000000000001'] }))), [
        'InvalidSubnetID.NotFound',
        "The subnet ID 'subnet-0dead000000000001' does not exist",
      ]);
      assert.deepEqual(await refusal(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0dead000000000001', 'i-123'] }))), [
        'InvalidInstanceID.Malformed',
        'Invalid id: "i-123" (expecting "i-...")',
      ]);
    });

    it('answers the codes of interfaces, volumes and addresses', async () => {
      const { ec2 } = await start();
      const answers = await Promise.all([
        refusal(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0dead000000000001'] }))),
        refusal(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0dead000000000001'] }))),
        refusal(ec2.send(new DescribeAddressesCommand({ AllocationIds: ['eipalloc-0dead000000000001'] }))),
        refusal(ec2.send(new DescribeAddressesCommand({ PublicIps: ['203.0.113.9'] }))),
      ]);
      assert.deepEqual(
        answers.map(([name]) => name),
        [
          'InvalidNetworkInterfaceID.NotFound',
          'InvalidVolume.NotFound',
          'InvalidAllocationID.NotFound',
          'InvalidAddress.NotFound',
        ],
      );
    });
  });

  describe('throttling', () => {
    it('answers RequestLimitExceeded to the next requests of one action only', async () => {
      // Prepare
      const { simulator, ec2, region } = await start();
      region.createVpc();
      simulator.throttle('DescribeVpcs', 1);

      // Act
      const throttled = await refusal(ec2.send(new DescribeVpcsCommand({})));
      const others = await ec2.send(new DescribeSubnetsCommand({}));
      const after = await ec2.send(new DescribeVpcsCommand({}));

      // Assess
      assert.deepEqual(throttled, ['RequestLimitExceeded', 'Request limit exceeded.']);
      assert.deepEqual([others.Subnets, after.Vpcs?.length], [[], 1]);
      assert.deepEqual([simulator.calls('DescribeVpcs'), simulator.calls('DescribeSubnets'), simulator.calls()], [2, 1, 3]);
    });

    it('throttles beyond its token bucket, and the adaptive client still gets through', async () => {
      // Prepare: a bucket of 2, refilled at 4 a second; the deployed client settings.
      const { simulator } = await start();
      const ec2 = createEc2Client(REGION, simulator.clientConfig());
      closeLater({ close: () => ec2.destroy() });
      simulator.rateLimit({ requestsPerSecond: 4, burst: 2 });

      // Act
      const answers = await Promise.all(Array.from({ length: 6 }, () => ec2.send(new DescribeVpcsCommand({}))));

      // Assess: every call answered in the end; more requests than calls reached EC2.
      assert.equal(answers.length, 6);
      assert.ok(simulator.calls('DescribeVpcs') > 6, `${simulator.calls('DescribeVpcs')} requests`);
      simulator.rateLimit(undefined);
      simulator.resetCalls();
      await ec2.send(new DescribeVpcsCommand({}));
      assert.equal(simulator.calls(), 1);
    });
  });

  it('lists a terminated instance for the retention it is given, then knows it no more', async () => {
    // Prepare
    let clock = Date.UTC(2026, 10, 20, 10);
    const { ec2, region } = await start({ now: () => clock, terminatedRetentionMs: 3_600_000 });
    const id = region.runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    region.terminateInstances([id]);

    // Act
    clock += 3_599_000;
    const during = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    clock += 1_000;
    const after = await refusal(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));

    // Assess
    assert.equal(during.Reservations?.[0]?.Instances?.[0]?.State?.Name, 'terminated');
    assert.equal(after[0], 'InvalidInstanceID.NotFound');
  });

  it('hides a new asset from describes for the creation lag it is given', async () => {
    let clock = Date.now();
    const { ec2, region } = await start({ now: () => clock, creationLagMs: 5_000 });
    const vpc = region.createVpc().VpcId ?? '';
    assert.equal((await refusal(ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc] }))))[0], 'InvalidVpcID.NotFound');
    clock += 5_000;
    assert.equal((await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc] }))).Vpcs?.[0]?.VpcId, vpc);
  });

  it('keeps each account and region apart, by the credentials and the region a request is signed with', async () => {
    // Prepare
    const { simulator, client } = await start();
    const mine = simulator.region(REGION).createVpc().VpcId;
    const theirs = simulator.region(REGION, OTHER_ACCOUNT).createVpc().VpcId;
    const european = simulator.region('eu-west-1').createVpc().VpcId;

    // Act
    const seen = await Promise.all(
      [client(), client(OTHER_ACCOUNT), client(undefined, 'eu-west-1')].map(async (ec2) =>
        ((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).map((vpc) => vpc.VpcId),
      ),
    );

    // Assess
    assert.deepEqual(seen, [[mine], [theirs], [european]]);
  });

  describe('applying events', () => {
    it('applies the sample events: states, tags, VPCs and subnets created and deleted, an attribute', async () => {
      // Prepare
      const { simulator, region } = await start();

      // Act
      const results = sampleEvents().map((event) => simulator.applyEvent(event));

      // Assess
      assert.deepEqual(
        results.map((result) => result.applied),
        [true, true, true, true, true, true, true, true, true, true, true, true, true, false, true, false, true, true],
      );
      const instances = new Map(region.list('instance').map((item) => [(item as Instance).InstanceId, item as Instance]));
      const web = instances.get('i-0a1b2c3d4e5f67890');
      assert.deepEqual(
        [web?.State?.Name, web?.InstanceType, web?.Tags],
        [
          'stopped',
          't3.large',
          [
            { Key: 'Name', Value: 'web-1' },
            { Key: 'env', Value: 'prod' },
            { Key: 'owner', Value: 'platform' },
          ],
        ],
      );
      assert.equal(instances.get('i-0fedcba9876543210')?.State?.Name, 'terminated');
      assert.deepEqual(
        region.vpcs().map((vpc) => [vpc.VpcId, vpc.Tags]),
        [
          ['vpc-0123456789abcdef0', [{ Key: 'Name', Value: 'prod-vpc' }]],
          [region.defaultSubnet().VpcId, undefined],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      assert.equal(region.has('subnet', 'subnet-0c1d2e3f4a5b6c7d8'), false);
      assert.equal(region.has('vpc', 'vpc-0b1c2d3e4f5a6b7c8'), false);
    });

    it('links and unlinks addresses, volumes and interfaces as the calls say', async () => {
      // Prepare
      const { simulator, region } = await start();
      const instanceId = region.runInstances({ state: 'running' })[0]?.InstanceId ?? '';
      const associationId = 'eipassoc-0123456789abcdef0';
      const attachmentId = 'eni-attach-0123456789abcdef0';
      const apply = (name: string, requestParameters: unknown, responseElements: unknown = { _return: true }) =>
        simulator.applyEvent(apiCall(name, { requestParameters, responseElements }));

      // Act
      const linked = [
        apply('AssociateAddress', { allocationId: 'eipalloc-0123456789abcdef0', instanceId }, { associationId }),
        apply('AttachVolume', { volumeId: 'vol-0123456789abcdef0', instanceId, device: '/dev/sdf' }),
        apply(
          'AttachNetworkInterface',
          { networkInterfaceId: 'eni-0123456789abcdef0', instanceId, deviceIndex: 1 },
          { attachmentId },
        ),
      ];
      const whileLinked = region.list('instance')[0] as Instance;
      const unlinked = [
        apply('DisassociateAddress', { associationId }),
        apply('DetachVolume', { volumeId: 'vol-0123456789abcdef0' }),
        apply('DetachNetworkInterface', { attachmentId }),
      ];
      const afterwards = region.list('instance')[0] as Instance;

      // Assess
      assert.ok([...linked, ...unlinked].every((result) => result.applied));
      assert.deepEqual(
        [whileLinked.PublicIpAddress, whileLinked.BlockDeviceMappings?.length, whileLinked.NetworkInterfaces?.length],
        ['198.51.100.1', 2, 2],
      );
      assert.deepEqual(
        [afterwards.PublicIpAddress, afterwards.BlockDeviceMappings?.length, afterwards.NetworkInterfaces?.length],
        [undefined, 1, 1],
      );
      assert.equal(region.addresses()[0]?.AssociationId, undefined);
    });

    it('says why it did not apply what it does not model', async () => {
      const { simulator } = await start();
      simulator.applyEvent(stateChange('i-0a1b2c3d4e5f67890', 'running'));
      assert.deepEqual(
        simulator.applyEvent(
          apiCall('ModifyPrivateDnsNameOptions', {
            requestParameters: { ModifyPrivateDnsNameOptionsRequest: { InstanceId: 'i-0a1b2c3d4e5f67890' } },
          }),
        ),
        { applied: false, reason: 'the simulator does not model ModifyPrivateDnsNameOptions' },
      );
      assert.deepEqual(simulator.applyEvent(apiCall('DeleteVpc', { requestParameters: { vpcId: 'vpc-0dead000000000001' } })), {
        applied: false,
        reason: "InvalidVpcID.NotFound: The vpc ID 'vpc-0dead000000000001' does not exist",
      });
    });
  });

  it('answers an action it does not simulate as EC2 answers an unknown one', async () => {
    const { simulator } = await start();
    const ec2 = new EC2Client({ region: REGION, ...simulator.clientConfig(), maxAttempts: 1 });
    closeLater({ close: () => ec2.destroy() });
    const { DescribeImagesCommand } = await import('@aws-sdk/client-ec2');
    assert.deepEqual(await refusal(ec2.send(new DescribeImagesCommand({}))), [
      'InvalidAction',
      'The action DescribeImages is not valid for this web service.',
    ]);
  });
});
