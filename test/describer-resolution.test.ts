import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import { closeAfterEach } from './helpers/cleanup.ts';
import { apiCall, REGION } from './helpers/describer-events.ts';
import { type DescriberRig, described, startDescriberRig } from './helpers/describer-rig.ts';

/**
 * A running instance with its primary interface, in a subnet of its own, and a bystander in the default subnet: a
 * describe that resolved nothing and listed the region would show the bystander too.
 */
function runningInstance(rig: DescriberRig) {
  const region = rig.ec2.region(REGION);
  const vpc = region.createVpc().VpcId ?? '';
  const subnet = region.createSubnet({ vpcId: vpc, cidrBlock: '10.0.7.0/24' }).SubnetId ?? '';
  const [instance] = region.runInstances({ subnetId: subnet, state: 'running' });
  const bystander = region.runInstances({ state: 'running' })[0]?.InstanceId ?? '';
  const eni = instance?.NetworkInterfaces?.[0] as NetworkInterface & { Attachment: { AttachmentId: string } };
  return { region, subnet, instanceId: instance?.InstanceId ?? '', eni, bystander };
}

describe('the describer, resolving what names an instance only indirectly', () => {
  const closeLater = closeAfterEach();

  it('describes the instance a network interface is attached to', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const { instanceId, eni } = runningInstance(rig);

    // Act
    const { failed, states } = await rig.invoke([
      apiCall('ModifyNetworkInterfaceAttribute', {
        requestParameters: {
          networkInterfaceId: eni.NetworkInterfaceId,
          groupSet: { items: [{ groupId: 'sg-0123456789abcdef0' }] },
        },
        responseElements: { requestId: 'r', _return: true },
      }),
    ]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'instance').items, [instanceId]);
    assert.deepEqual([rig.ec2.calls('DescribeNetworkInterfaces'), rig.ec2.calls('DescribeInstances')], [1, 1]);
  });

  it('describes the instance of an attachment that is still being detached', async () => {
    // Prepare: the event arrives while EC2 still shows the attachment.
    const rig = closeLater(await startDescriberRig());
    const { instanceId, eni } = runningInstance(rig);

    // Act
    const { states } = await rig.invoke([
      apiCall('DetachNetworkInterface', {
        requestParameters: { attachmentId: eni.Attachment.AttachmentId, force: false },
        responseElements: { requestId: 'r', _return: true },
      }),
    ]);

    // Assess
    assert.deepEqual(described(states, 'instance').items, [instanceId]);
    assert.equal(rig.ec2.calls('DescribeInstances'), 1);
  });

  it('describes the instances a volume is attached to', async () => {
    // Prepare: CloudTrail logged the detach without responseElements; the volume is still attached.
    const rig = closeLater(await startDescriberRig());
    const { region, instanceId } = runningInstance(rig);
    const volumeId = region.createVolume().VolumeId ?? '';
    region.attachVolume(volumeId, instanceId, '/dev/sdf');

    // Act
    const { states } = await rig.invoke([apiCall('DetachVolume', { requestParameters: { volumeId, force: false } })]);

    // Assess
    assert.deepEqual(described(states, 'instance').items, [instanceId]);
    assert.equal(rig.ec2.calls('DescribeVolumes'), 1);
  });

  it('describes the instance an Elastic IP association links', async () => {
    // Prepare: the call named the address by its public IP; only the response names the association.
    const rig = closeLater(await startDescriberRig());
    const { region, instanceId } = runningInstance(rig);
    const address = region.allocateAddress();
    const associationId = region.associateAddress({ allocationId: address.AllocationId ?? '', instanceId });

    // Act
    const { states } = await rig.invoke([
      apiCall('AssociateAddress', {
        requestParameters: { publicIp: address.PublicIp, allowReassociation: false },
        responseElements: { requestId: 'r', _return: true, associationId },
      }),
    ]);

    // Assess
    const [instance] = states.flatMap((state) => state.detail.items) as { InstanceId: string; PublicIpAddress: string }[];
    assert.deepEqual([instance?.InstanceId, instance?.PublicIpAddress], [instanceId, address.PublicIp]);
    assert.equal(rig.ec2.calls('DescribeAddresses'), 1);
  });

  it('describes the interface subnet too when addresses were assigned to it', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const { region, subnet, instanceId, eni } = runningInstance(rig);
    region.assignPrivateIpAddresses(eni.NetworkInterfaceId ?? '', 2);

    // Act
    const { states } = await rig.invoke([
      apiCall('AssignPrivateIpAddresses', {
        requestParameters: { networkInterfaceId: eni.NetworkInterfaceId, secondaryPrivateIpAddressCount: 2 },
        responseElements: { requestId: 'r', _return: true, networkInterfaceId: eni.NetworkInterfaceId },
      }),
    ]);

    // Assess: 256 - 5 reserved - 3 addresses on the interface.
    assert.deepEqual(described(states, 'instance').items, [instanceId]);
    const [subnetItem] = states.filter((state) => state.detail.resourceType === 'subnet').flatMap((state) => state.detail.items);
    assert.deepEqual(
      subnetItem && [
        (subnetItem as { SubnetId: string }).SubnetId,
        (subnetItem as { AvailableIpAddressCount: number }).AvailableIpAddressCount,
      ],
      [subnet, 248],
    );
  });

  it('describes the subnet of an interface attached to no instance when addresses were assigned to it', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const { region, subnet } = runningInstance(rig);
    const loose = region.createNetworkInterface({ subnetId: subnet }).NetworkInterfaceId ?? '';
    region.assignPrivateIpAddresses(loose, 1);

    // Act
    const { failed, states } = await rig.invoke([
      apiCall('AssignPrivateIpAddresses', {
        requestParameters: { networkInterfaceId: loose, secondaryPrivateIpAddressCount: 1 },
      }),
    ]);

    // Assess: 256 - 5 reserved - the instance's address - the interface's two.
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'instance').items, []);
    const subnets = states.flatMap((state) => state.detail.items) as { SubnetId: string; AvailableIpAddressCount: number }[];
    assert.deepEqual(
      subnets.map((item) => [item.SubnetId, item.AvailableIpAddressCount]),
      [[subnet, 248]],
    );
  });

  it('describes nothing for an interface attached to no instance', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const { region, subnet } = runningInstance(rig);
    const loose = region.createNetworkInterface({ subnetId: subnet }).NetworkInterfaceId;

    // Act
    const { failed, states } = await rig.invoke([
      apiCall('ModifyNetworkInterfaceAttribute', {
        requestParameters: { networkInterfaceId: loose, sourceDestCheck: { value: false } },
      }),
    ]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(states, []);
    assert.equal(rig.ec2.calls('DescribeInstances'), 0);
  });

  describe('a reference that no longer resolves', () => {
    it('describes every instance of the region after a DisassociateAddress (its association is gone)', async () => {
      // Prepare: 1,200 instances (two listing pages); the address was disassociated before the describer runs.
      const rig = closeLater(await startDescriberRig());
      const { region, instanceId, bystander } = runningInstance(rig);
      const others = [
        bystander,
        ...region.runInstances({ count: 1198, state: 'running' }).map((instance) => instance.InstanceId ?? ''),
      ];
      const address = region.allocateAddress();
      const associationId = region.associateAddress({ allocationId: address.AllocationId ?? '', instanceId });
      region.disassociateAddress(associationId);

      // Act
      const { failed, states } = await rig.invoke([
        apiCall('DisassociateAddress', {
          requestParameters: { associationId },
          responseElements: { requestId: 'r', _return: true },
        }),
      ]);

      // Assess
      assert.deepEqual(failed, []);
      assert.deepEqual(described(states, 'instance').items.sort(), [instanceId, ...others].sort());
      assert.deepEqual([rig.ec2.calls('DescribeAddresses'), rig.ec2.calls('DescribeInstances')], [1, 2]);
      assert.ok(
        rig.logs().some((line) => line.message === 'a reference no longer resolves: describing every instance of the region'),
      );
    });

    it('describes every instance of the region after a detach that completed', async () => {
      // Prepare
      const rig = closeLater(await startDescriberRig());
      const { region, subnet, instanceId, bystander } = runningInstance(rig);
      const extra = region.createNetworkInterface({ subnetId: subnet }).NetworkInterfaceId ?? '';
      const attachmentId = region.attachNetworkInterface(extra, instanceId, 1);
      region.detachNetworkInterface(attachmentId);

      // Act
      const { failed, states } = await rig.invoke([
        apiCall('DetachNetworkInterface', {
          requestParameters: { attachmentId },
          responseElements: { requestId: 'r', _return: true },
        }),
      ]);

      // Assess
      assert.deepEqual(failed, []);
      assert.deepEqual(described(states, 'instance').items, [instanceId, bystander]);
    });

    it('says so once per reference, however many events of the batch name it', async () => {
      // Prepare
      const rig = closeLater(await startDescriberRig());
      const { region, subnet, instanceId } = runningInstance(rig);
      const extra = region.createNetworkInterface({ subnetId: subnet }).NetworkInterfaceId ?? '';
      const attachmentId = region.attachNetworkInterface(extra, instanceId, 1);
      region.detachNetworkInterface(attachmentId);
      const detach = (requestId: string) =>
        apiCall('DetachNetworkInterface', {
          requestParameters: { attachmentId },
          responseElements: { requestId, _return: true },
        });

      // Act
      const { failed } = await rig.invoke([detach('r1'), detach('r2'), detach('r3')]);

      // Assess
      assert.deepEqual(failed, []);
      assert.equal(rig.logs().filter((line) => line.id === attachmentId).length, 1);
      assert.equal(rig.ec2.calls('DescribeInstances'), 1);
    });
  });

  it('retries the records whose references EC2 would not resolve', async () => {
    // Prepare: two attempts per call; EC2 throttles DescribeNetworkInterfaces throughout.
    const rig = closeLater(await startDescriberRig({ ec2Client: { maxAttempts: 2 } }));
    const { eni } = runningInstance(rig);
    rig.ec2.throttle('DescribeNetworkInterfaces', 5);

    // Act
    const { failed, states } = await rig.invoke([
      apiCall('ModifyNetworkInterfaceAttribute', {
        requestParameters: { networkInterfaceId: eni.NetworkInterfaceId, sourceDestCheck: { value: false } },
      }),
    ]);

    // Assess
    assert.deepEqual(failed, [0]);
    assert.deepEqual(states, []);
  });

  it('asks EC2 nothing about an interface or volume when the call names its instance', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const { region, instanceId } = runningInstance(rig);
    const volumeId = region.createVolume().VolumeId ?? '';
    region.attachVolume(volumeId, instanceId, '/dev/sdf');

    // Act
    const { states } = await rig.invoke([
      apiCall('AttachVolume', {
        requestParameters: { volumeId, instanceId, device: '/dev/sdf' },
        responseElements: {
          requestId: 'r',
          volumeId,
          instanceId,
          device: '/dev/sdf',
          status: 'attaching',
          attachTime: 1_795_000_000_000,
        },
      }),
    ]);

    // Assess
    assert.deepEqual(described(states, 'instance').items, [instanceId]);
    assert.equal(rig.ec2.calls('DescribeVolumes'), 0);
  });
});
