import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EventReferences, eventReferences } from '../describer/references.ts';
import { API_CALL_EVENT_NAMES } from '../infra/rules.ts';
import { ASSET_TYPES } from '../lambda/inventory-events.ts';
import { ACCOUNT, apiCall, REGION, stateChange, tagChange } from './helpers/describer-events.ts';
import { sampleEvents } from './helpers/records.ts';

const I1 = 'i-0a1b2c3d4e5f67890';
const I2 = 'i-0fedcba9876543210';
const V = 'vpc-0b1c2d3e4f5a6b7c8';
const S = 'subnet-0c1d2e3f4a5b6c7d8';
const ENI = 'eni-0e1f2a3b4c5d6e7f8';
const ATTACHMENT = 'eni-attach-0a9b8c7d6e5f4a3b2';
const VOLUME = 'vol-0f1e2d3c4b5a69788';
const ASSOCIATION = 'eipassoc-0d4c3b2a1f0e9d8c7';
const ALLOCATION = 'eipalloc-0123456789abcdef0';
const SUBNET_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${S}`;
const VPC_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/${V}`;

/** What the test expects of one call: the assets or indirect ids it names, and what follows from its kind. */
interface Expected {
  readonly instances?: readonly string[];
  readonly vpcs?: readonly string[];
  readonly subnets?: readonly string[];
  readonly indirect?: readonly string[];
  readonly creates?: readonly string[];
  readonly subnetAddresses?: boolean;
}

interface CallSample {
  readonly request: unknown;
  readonly response: unknown;
  readonly expected: Expected;
  /** A call that names none of the assets it changes: the types described again in full. */
  readonly listAll?: readonly string[];
}

const ok = { requestId: '8e1f4b2a-0000-4000-8000-000000000001', _return: true };

/**
 * One realistic sample per call, as CloudTrail records it: the older calls in lowerCamel with `xSet.items` lists,
 * the newer ones wrapped in `<Call>Request` / `<Call>Response` objects in PascalCase, responses naming what the
 * request did not (an association, a VPC behind its encryption control, a resource ARN).
 */
const CALLS: Readonly<Record<string, CallSample>> = {
  // VPCs
  CreateVpc: {
    request: { cidrBlock: '10.20.0.0/16', instanceTenancy: 'default', amazonProvidedIpv6CidrBlock: false },
    response: {
      requestId: 'r',
      vpc: {
        vpcId: V,
        state: 'pending',
        ownerId: ACCOUNT,
        cidrBlock: '10.20.0.0/16',
        cidrBlockAssociationSet: {
          items: [
            {
              cidrBlock: '10.20.0.0/16',
              associationId: 'vpc-cidr-assoc-0d1e2f3a4b5c6d7e8',
              cidrBlockState: { state: 'associated' },
            },
          ],
        },
        ipv6CidrBlockAssociationSet: {},
        dhcpOptionsId: 'dopt-0e1f2a3b4c5d6e7f8',
        instanceTenancy: 'default',
        tagSet: {},
        isDefault: false,
      },
    },
    expected: { vpcs: [V], creates: [V] },
  },
  CreateDefaultVpc: {
    request: {},
    response: { requestId: 'r', vpc: { vpcId: V, state: 'pending', cidrBlock: '172.31.0.0/16', isDefault: true } },
    expected: { vpcs: [V], creates: [V] },
  },
  DeleteVpc: { request: { vpcId: V }, response: ok, expected: { vpcs: [V] } },
  ModifyVpcAttribute: { request: { vpcId: V, enableDnsHostnames: { value: true } }, response: ok, expected: { vpcs: [V] } },
  ModifyVpcTenancy: {
    request: { ModifyVpcTenancyRequest: { VpcId: V, InstanceTenancy: 'default' } },
    response: { ModifyVpcTenancyResponse: { return: true } },
    expected: { vpcs: [V] },
  },
  AssociateVpcCidrBlock: {
    request: { vpcId: V, cidrBlock: '10.21.0.0/16' },
    response: {
      vpcId: V,
      cidrBlockAssociation: {
        associationId: 'vpc-cidr-assoc-0aaaaaaaaaaaaaaa1',
        cidrBlock: '10.21.0.0/16',
        cidrBlockState: { state: 'associating' },
      },
    },
    expected: { vpcs: [V] },
  },
  DisassociateVpcCidrBlock: {
    request: { associationId: 'vpc-cidr-assoc-0aaaaaaaaaaaaaaa1' },
    response: {
      vpcId: V,
      cidrBlockAssociation: { associationId: 'vpc-cidr-assoc-0aaaaaaaaaaaaaaa1', cidrBlockState: { state: 'disassociating' } },
    },
    expected: { vpcs: [V] },
  },
  AssociateDhcpOptions: { request: { dhcpOptionsId: 'dopt-0e1f2a3b4c5d6e7f8', vpcId: V }, response: ok, expected: { vpcs: [V] } },
  CreateVpcEncryptionControl: {
    request: { CreateVpcEncryptionControlRequest: { VpcId: V } },
    response: {
      CreateVpcEncryptionControlResponse: {
        vpcEncryptionControl: { vpcId: V, vpcEncryptionControlId: 'vpcec-0123456789abcdef0', mode: 'monitor', state: 'creating' },
      },
    },
    expected: { vpcs: [V] },
  },
  ModifyVpcEncryptionControl: {
    // The request names only the control: the VPC is in the response.
    request: { ModifyVpcEncryptionControlRequest: { VpcEncryptionControlId: 'vpcec-0123456789abcdef0', Mode: 'enforce' } },
    response: {
      ModifyVpcEncryptionControlResponse: {
        vpcEncryptionControl: {
          vpcId: V,
          vpcEncryptionControlId: 'vpcec-0123456789abcdef0',
          mode: 'enforce',
          state: 'enforce-in-progress',
        },
      },
    },
    expected: { vpcs: [V] },
  },
  DeleteVpcEncryptionControl: {
    request: { DeleteVpcEncryptionControlRequest: { VpcEncryptionControlId: 'vpcec-0123456789abcdef0' } },
    response: { DeleteVpcEncryptionControlResponse: { vpcEncryptionControl: { vpcId: V, state: 'deleting' } } },
    expected: { vpcs: [V] },
  },
  CreateVpcBlockPublicAccessExclusion: {
    request: { CreateVpcBlockPublicAccessExclusionRequest: { SubnetId: S, InternetGatewayExclusionMode: 'allow-bidirectional' } },
    response: {
      CreateVpcBlockPublicAccessExclusionResponse: {
        vpcBlockPublicAccessExclusion: {
          exclusionId: 'vpcbpa-exclude-0123456789abcdef0',
          internetGatewayExclusionMode: 'allow-bidirectional',
          resourceArn: SUBNET_ARN,
          state: 'create-in-progress',
        },
      },
    },
    expected: { subnets: [S] },
  },
  ModifyVpcBlockPublicAccessExclusion: {
    // Only the response's resource ARN says which VPC the exclusion is for.
    request: {
      ModifyVpcBlockPublicAccessExclusionRequest: {
        ExclusionId: 'vpcbpa-exclude-0123456789abcdef0',
        InternetGatewayExclusionMode: 'allow-egress',
      },
    },
    response: {
      ModifyVpcBlockPublicAccessExclusionResponse: {
        vpcBlockPublicAccessExclusion: {
          exclusionId: 'vpcbpa-exclude-0123456789abcdef0',
          resourceArn: VPC_ARN,
          state: 'update-in-progress',
        },
      },
    },
    expected: { vpcs: [V] },
  },
  DeleteVpcBlockPublicAccessExclusion: {
    request: { DeleteVpcBlockPublicAccessExclusionRequest: { ExclusionId: 'vpcbpa-exclude-0123456789abcdef0' } },
    response: {
      DeleteVpcBlockPublicAccessExclusionResponse: {
        vpcBlockPublicAccessExclusion: {
          exclusionId: 'vpcbpa-exclude-0123456789abcdef0',
          resourceArn: VPC_ARN,
          state: 'delete-in-progress',
        },
      },
    },
    expected: { vpcs: [V] },
  },
  // Subnets: their calls also name the VPC, which they do not change.
  CreateSubnet: {
    request: { vpcId: V, cidrBlock: '10.20.1.0/24', availabilityZone: 'us-east-1a' },
    response: {
      requestId: 'r',
      subnet: {
        subnetId: S,
        subnetArn: SUBNET_ARN,
        state: 'available',
        vpcId: V,
        cidrBlock: '10.20.1.0/24',
        availableIpAddressCount: 251,
        availabilityZone: 'us-east-1a',
        defaultForAz: false,
        mapPublicIpOnLaunch: false,
      },
    },
    expected: { subnets: [S], creates: [S] },
  },
  CreateDefaultSubnet: {
    request: { availabilityZone: 'us-east-1b' },
    response: { requestId: 'r', subnet: { subnetId: S, vpcId: V, cidrBlock: '172.31.16.0/20', defaultForAz: true } },
    expected: { subnets: [S], creates: [S] },
  },
  DeleteSubnet: { request: { subnetId: S }, response: ok, expected: { subnets: [S] } },
  ModifySubnetAttribute: {
    request: { subnetId: S, mapPublicIpOnLaunch: { value: true } },
    response: ok,
    expected: { subnets: [S] },
  },
  AssociateSubnetCidrBlock: {
    request: { subnetId: S, ipv6CidrBlock: '2600:1f18:1234:5600::/64' },
    response: {
      subnetId: S,
      ipv6CidrBlockAssociation: {
        associationId: 'subnet-cidr-assoc-0aaaaaaaaaaaaaaa1',
        ipv6CidrBlock: '2600:1f18:1234:5600::/64',
      },
    },
    expected: { subnets: [S] },
  },
  DisassociateSubnetCidrBlock: {
    request: { associationId: 'subnet-cidr-assoc-0aaaaaaaaaaaaaaa1' },
    response: {
      subnetId: S,
      ipv6CidrBlockAssociation: {
        associationId: 'subnet-cidr-assoc-0aaaaaaaaaaaaaaa1',
        ipv6CidrBlockState: { state: 'disassociating' },
      },
    },
    expected: { subnets: [S] },
  },
  // Instances
  ModifyInstanceAttribute: {
    request: { instanceId: I1, instanceType: { value: 't3.large' } },
    response: ok,
    expected: { instances: [I1] },
  },
  ModifyInstanceMetadataOptions: {
    request: { instanceId: I1, httpTokens: 'required', httpEndpoint: 'enabled' },
    response: { instanceId: I1, instanceMetadataOptions: { state: 'pending', httpTokens: 'required' } },
    expected: { instances: [I1] },
  },
  ModifyInstancePlacement: {
    request: { instanceId: I1, tenancy: 'host', hostId: 'h-0123456789abcdef0' },
    response: ok,
    expected: { instances: [I1] },
  },
  AssociateIamInstanceProfile: {
    request: { instanceId: I1, iamInstanceProfile: { name: 'web' } },
    response: {
      iamInstanceProfileAssociation: {
        associationId: 'iip-assoc-0123456789abcdef0',
        instanceId: I1,
        iamInstanceProfile: { arn: `arn:aws:iam::${ACCOUNT}:instance-profile/web`, id: 'AIPAEXAMPLE' },
        state: 'associating',
      },
    },
    expected: { instances: [I1] },
  },
  DisassociateIamInstanceProfile: {
    // The request names only the association (not an Elastic IP's): the instance is in the response.
    request: { associationId: 'iip-assoc-0123456789abcdef0' },
    response: {
      iamInstanceProfileAssociation: { associationId: 'iip-assoc-0123456789abcdef0', instanceId: I1, state: 'disassociating' },
    },
    expected: { instances: [I1] },
  },
  ReplaceIamInstanceProfileAssociation: {
    request: { associationId: 'iip-assoc-0123456789abcdef0', iamInstanceProfile: { name: 'web-v2' } },
    response: {
      iamInstanceProfileAssociation: { associationId: 'iip-assoc-0fedcba9876543210', instanceId: I1, state: 'associating' },
    },
    expected: { instances: [I1] },
  },
  MonitorInstances: {
    request: { instancesSet: { items: [{ instanceId: I1 }, { instanceId: I2 }] } },
    response: {
      instancesSet: {
        items: [
          { instanceId: I1, monitoring: { state: 'pending' } },
          { instanceId: I2, monitoring: { state: 'pending' } },
        ],
      },
    },
    expected: { instances: [I1, I2] },
  },
  UnmonitorInstances: {
    request: { instancesSet: { items: [{ instanceId: I2 }] } },
    response: { instancesSet: { items: [{ instanceId: I2, monitoring: { state: 'disabling' } }] } },
    expected: { instances: [I2] },
  },
  AssociateAddress: {
    request: { allocationId: ALLOCATION, instanceId: I1, allowReassociation: true },
    response: { ...ok, associationId: ASSOCIATION },
    expected: { instances: [I1] },
  },
  DisassociateAddress: { request: { associationId: ASSOCIATION }, response: ok, expected: { indirect: [ASSOCIATION] } },
  AttachVolume: {
    request: { volumeId: VOLUME, instanceId: I1, device: '/dev/sdf' },
    response: {
      requestId: 'r',
      volumeId: VOLUME,
      instanceId: I1,
      device: '/dev/sdf',
      status: 'attaching',
      attachTime: 1_795_000_000_000,
    },
    expected: { instances: [I1] },
  },
  DetachVolume: {
    // The request names the volume; the response, the instance it leaves.
    request: { volumeId: VOLUME, force: false },
    response: {
      requestId: 'r',
      volumeId: VOLUME,
      instanceId: I1,
      device: '/dev/sdf',
      status: 'detaching',
      attachTime: 1_795_000_000_000,
    },
    expected: { instances: [I1] },
  },
  AttachNetworkInterface: {
    request: { networkInterfaceId: ENI, instanceId: I1, deviceIndex: 1 },
    response: { requestId: 'r', attachmentId: ATTACHMENT, networkCardIndex: 0 },
    expected: { instances: [I1] },
  },
  DetachNetworkInterface: {
    request: { attachmentId: ATTACHMENT, force: false },
    response: ok,
    expected: { indirect: [ATTACHMENT] },
  },
  ResetNetworkInterfaceAttribute: {
    request: { networkInterfaceId: ENI, sourceDestCheck: '' },
    response: ok,
    expected: { indirect: [ENI] },
  },
  ModifyPublicIpDnsNameOptions: {
    request: { ModifyPublicIpDnsNameOptionsRequest: { NetworkInterfaceId: ENI, HostnameType: 'public-dual-stack-dns-name' } },
    response: { ModifyPublicIpDnsNameOptionsResponse: { successful: true } },
    expected: { indirect: [ENI] },
  },
  ReleaseAddress: {
    // The allocation names no instance, and the association it ended is gone: every instance is described again.
    request: { allocationId: 'eipalloc-0123456789abcdef0' },
    response: ok,
    expected: {},
    listAll: ['instance'],
  },
  ModifyAccountVpcEncryptionControl: {
    request: { ModifyAccountVpcEncryptionControlRequest: { Mode: 'monitor' } },
    response: { ModifyAccountVpcEncryptionControlResponse: { mode: 'monitor' } },
    expected: {},
    listAll: ['vpc'],
  },
  ModifyVpcBlockPublicAccessOptions: {
    request: { ModifyVpcBlockPublicAccessOptionsRequest: { InternetGatewayBlockMode: 'block-bidirectional' } },
    response: {
      ModifyVpcBlockPublicAccessOptionsResponse: {
        vpcBlockPublicAccessOptions: {
          awsRegion: 'us-east-1',
          internetGatewayBlockMode: 'block-bidirectional',
          state: 'update-in-progress',
        },
      },
    },
    expected: {},
    listAll: ['vpc', 'subnet'],
  },
  ModifyNetworkInterfaceAttribute: {
    request: { networkInterfaceId: ENI, groupSet: { items: [{ groupId: 'sg-0123456789abcdef0' }] } },
    response: ok,
    expected: { indirect: [ENI] },
  },
  AssignPrivateIpAddresses: {
    request: { networkInterfaceId: ENI, secondaryPrivateIpAddressCount: 1 },
    response: {
      ...ok,
      networkInterfaceId: ENI,
      assignedPrivateIpAddressesSet: { assignedPrivateIpAddressSetType: [{ privateIpAddress: '10.20.1.9' }] },
    },
    expected: { indirect: [ENI], subnetAddresses: true },
  },
  UnassignPrivateIpAddresses: {
    request: { networkInterfaceId: ENI, privateIpAddressesSet: { items: [{ privateIpAddress: '10.20.1.9' }] } },
    response: ok,
    expected: { indirect: [ENI], subnetAddresses: true },
  },
  AssignIpv6Addresses: {
    request: { AssignIpv6AddressesRequest: { NetworkInterfaceId: ENI, Ipv6AddressCount: 1 } },
    response: {
      AssignIpv6AddressesResponse: { networkInterfaceId: ENI, assignedIpv6Addresses: { item: '2600:1f18:1234:5600::9' } },
    },
    expected: { indirect: [ENI] },
  },
  UnassignIpv6Addresses: {
    request: { UnassignIpv6AddressesRequest: { NetworkInterfaceId: ENI, Ipv6Addresses: { item: '2600:1f18:1234:5600::9' } } },
    response: {
      UnassignIpv6AddressesResponse: { networkInterfaceId: ENI, unassignedIpv6Addresses: { item: '2600:1f18:1234:5600::9' } },
    },
    expected: { indirect: [ENI] },
  },
  ModifyInstanceMaintenanceOptions: {
    request: { ModifyInstanceMaintenanceOptionsRequest: { InstanceId: I1, AutoRecovery: 'disabled' } },
    response: { ModifyInstanceMaintenanceOptionsResponse: { instanceId: I1, autoRecovery: 'disabled' } },
    expected: { instances: [I1] },
  },
  ResetInstanceAttribute: {
    request: { instanceId: I1, attribute: 'sourceDestCheck' },
    response: ok,
    expected: { instances: [I1] },
  },
  ModifyPrivateDnsNameOptions: {
    request: {
      ModifyPrivateDnsNameOptionsRequest: {
        InstanceId: I1,
        PrivateDnsHostnameType: 'resource-name',
        EnableResourceNameDnsARecord: true,
      },
    },
    response: { ModifyPrivateDnsNameOptionsResponse: { return: true } },
    expected: { instances: [I1] },
  },
  ModifyInstanceCapacityReservationAttributes: {
    request: {
      ModifyInstanceCapacityReservationAttributesRequest: {
        InstanceId: I1,
        CapacityReservationSpecification: { CapacityReservationTarget: { CapacityReservationId: 'cr-0123456789abcdef0' } },
      },
    },
    response: { ModifyInstanceCapacityReservationAttributesResponse: { return: true } },
    expected: { instances: [I1] },
  },
  ModifyInstanceCpuOptions: {
    request: { ModifyInstanceCpuOptionsRequest: { InstanceId: I1, CoreCount: 2, ThreadsPerCore: 1 } },
    response: { ModifyInstanceCpuOptionsResponse: { instanceId: I1, coreCount: 2, threadsPerCore: 1 } },
    expected: { instances: [I1] },
  },
  ModifyInstanceNetworkPerformanceOptions: {
    request: { ModifyInstanceNetworkPerformanceRequest: { InstanceId: I1, BandwidthWeighting: 'vpc-1' } },
    response: { ModifyInstanceNetworkPerformanceResponse: { instanceId: I1, bandwidthWeighting: 'vpc-1' } },
    expected: { instances: [I1] },
  },
  ModifyInstanceCreditSpecification: {
    request: {
      ModifyInstanceCreditSpecificationRequest: {
        InstanceCreditSpecification: { item: { InstanceId: I1, CpuCredits: 'unlimited' } },
        ClientToken: 'token-1',
      },
    },
    response: {
      ModifyInstanceCreditSpecificationResponse: {
        successfulInstanceCreditSpecificationSet: { item: { instanceId: I1 } },
        unsuccessfulInstanceCreditSpecificationSet: '',
      },
    },
    expected: { instances: [I1] },
  },
  CreateReplaceRootVolumeTask: {
    request: {
      CreateReplaceRootVolumeTaskRequest: { InstanceId: I1, SnapshotId: 'snap-0123456789abcdef0', ClientToken: 'token-2' },
    },
    response: {
      CreateReplaceRootVolumeTaskResponse: {
        replaceRootVolumeTask: { replaceRootVolumeTaskId: 'replacevol-0123456789abcdef0', instanceId: I1, taskState: 'pending' },
      },
    },
    expected: { instances: [I1] },
  },
};

/** The 18 calls issue 21 found no rule catching, and the VPC calls of the EC2 model it adds. */
const ISSUE_21_CALLS = [
  'AssociateAddress',
  'DisassociateAddress',
  'AttachVolume',
  'DetachVolume',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'AssignIpv6Addresses',
  'UnassignIpv6Addresses',
  'ModifyInstanceMaintenanceOptions',
  'ModifyPrivateDnsNameOptions',
  'ModifyInstanceCapacityReservationAttributes',
  'ModifyInstanceCpuOptions',
  'ModifyInstanceNetworkPerformanceOptions',
  'ModifyInstanceCreditSpecification',
  'CreateReplaceRootVolumeTask',
  'CreateVpcEncryptionControl',
  'ModifyVpcEncryptionControl',
  'DeleteVpcEncryptionControl',
  'CreateVpcBlockPublicAccessExclusion',
  'ModifyVpcBlockPublicAccessExclusion',
  'DeleteVpcBlockPublicAccessExclusion',
];

function summary(refs: EventReferences): Expected {
  const ofType = (type: string) => refs.assets.filter((asset) => asset.type === type).map((asset) => asset.id);
  return {
    instances: ofType('instance'),
    vpcs: ofType('vpc'),
    subnets: ofType('subnet'),
    indirect: refs.indirect.map((ref) => ref.id),
    creates: [...refs.creates],
    subnetAddresses: refs.changesSubnetAddresses,
  };
}

function complete(expected: Expected): Expected {
  return { instances: [], vpcs: [], subnets: [], indirect: [], creates: [], subnetAddresses: false, ...expected };
}

describe('references: what a live event names', () => {
  describe('EC2 API calls via CloudTrail', () => {
    for (const [eventName, sample] of Object.entries(CALLS)) {
      it(`finds what ${eventName} changed`, () => {
        // Prepare
        const event = apiCall(eventName, { requestParameters: sample.request, responseElements: sample.response });

        // Act
        const refs = eventReferences(event);

        // Assess
        assert.deepEqual(summary(refs), complete(sample.expected));
        assert.deepEqual(
          [refs.account, refs.region, refs.listAll, refs.ignored],
          [ACCOUNT, REGION, sample.listAll ?? [], undefined],
        );
      });
    }

    it('has a sample for every call the API-call rule takes and every call issue 21 adds', () => {
      const ruleCalls = Object.values(API_CALL_EVENT_NAMES).flat();
      assert.deepEqual(
        [...ruleCalls, ...ISSUE_21_CALLS].filter((name) => !(name in CALLS)),
        [],
      );
    });

    it('tells which indirect kind each id is', () => {
      const refs = eventReferences(
        apiCall('AssociateAddress', {
          requestParameters: { allocationId: ALLOCATION, networkInterfaceId: ENI, privateIpAddress: '10.20.1.9' },
          responseElements: { ...ok, associationId: ASSOCIATION },
        }),
      );
      assert.deepEqual(refs.indirect.map((ref) => [ref.kind, ref.id]).sort(), [
        ['address-association', ASSOCIATION],
        ['network-interface', ENI],
      ]);
      const volume = eventReferences(apiCall('DetachVolume', { requestParameters: { volumeId: VOLUME } }));
      const attachment = eventReferences(apiCall('DetachNetworkInterface', { requestParameters: { attachmentId: ATTACHMENT } }));
      assert.deepEqual(
        [...volume.indirect, ...attachment.indirect],
        [
          { kind: 'volume', id: VOLUME },
          { kind: 'network-interface-attachment', id: ATTACHMENT },
        ],
      );
    });

    it('describes everything in the region when a call names nothing it changed', () => {
      // DisassociateAddress by public IP (its deprecated form) names no association.
      const refs = eventReferences(
        apiCall('DisassociateAddress', { requestParameters: { publicIp: '198.51.100.7' }, responseElements: ok }),
      );
      assert.deepEqual(refs.listAll, [...ASSET_TYPES]);
      assert.deepEqual([refs.assets, refs.indirect], [[], []]);
    });

    it('ignores a call that failed', () => {
      const refs = eventReferences(apiCall('DeleteVpc', { requestParameters: { vpcId: V }, errorCode: 'DependencyViolation' }));
      assert.deepEqual([refs.assets, refs.listAll], [[], []]);
      assert.equal(refs.ignored, 'DeleteVpc failed (DependencyViolation)');
    });
  });

  describe('instance state changes', () => {
    it('makes a launch a create that also changes its subnet', () => {
      const refs = eventReferences(stateChange(I1, 'pending', { time: '2026-11-20T10:00:00Z' }));
      assert.deepEqual(summary(refs), complete({ instances: [I1], creates: [I1], subnetAddresses: true }));
      assert.equal(refs.time, '2026-11-20T10:00:00Z');
    });

    it('makes a termination change its subnet, not a create', () => {
      assert.deepEqual(
        summary(eventReferences(stateChange(I1, 'terminated'))),
        complete({ instances: [I1], subnetAddresses: true }),
      );
    });

    it('keeps other states to the instance alone', () => {
      for (const state of ['running', 'stopping', 'stopped', 'shutting-down']) {
        assert.deepEqual(summary(eventReferences(stateChange(I1, state))), complete({ instances: [I1] }), state);
      }
    });

    it('passes on an instance id EC2 will refuse as malformed, for EC2 to say so', () => {
      assert.deepEqual(summary(eventReferences(stateChange('i-123', 'running'))).instances, ['i-123']);
    });
  });

  describe('tag changes', () => {
    it('names the instance, VPC or subnet of the ARN', () => {
      assert.deepEqual(summary(eventReferences(tagChange('instance', I1, { Name: 'web' }))), complete({ instances: [I1] }));
      assert.deepEqual(summary(eventReferences(tagChange('vpc', V, { Name: 'prod' }))), complete({ vpcs: [V] }));
      assert.deepEqual(summary(eventReferences(tagChange('subnet', S, { Name: 'a' }))), complete({ subnets: [S] }));
    });

    it('ignores tag changes of other resources (resourceTypes=all forwards them)', () => {
      const refs = eventReferences(tagChange('volume', VOLUME, { Name: 'data' }));
      assert.deepEqual([refs.assets, refs.indirect, refs.listAll], [[], [], []]);
      assert.match(refs.ignored ?? '', /tag change on arn:aws:ec2:.*:volume\//);
    });
  });

  it('names what every sample event changed', () => {
    const named = sampleEvents().map((event) => {
      const refs = eventReferences(event);
      return refs.ignored === undefined ? [...refs.assets.map((asset) => `${asset.type}/${asset.id}`)] : 'ignored';
    });
    assert.deepEqual(named, [
      [`instance/${I1}`],
      [`instance/${I1}`],
      [`instance/${I1}`],
      ['vpc/vpc-0123456789abcdef0'],
      ['subnet/subnet-0abcdef1234567890'],
      [`instance/${I2}`],
      [`instance/${I1}`],
      [`instance/${I1}`],
      [`instance/${I1}`],
      [`instance/${I2}`],
      [`instance/${I2}`],
      [`vpc/${V}`],
      [`subnet/${S}`],
      'ignored',
      [`instance/${I1}`],
      'ignored',
      [`subnet/${S}`],
      [`vpc/${V}`],
    ]);
  });

  it('ignores events that are not about EC2', () => {
    const refs = eventReferences({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      account: ACCOUNT,
      region: REGION,
      detail: {},
    });
    assert.equal(refs.ignored, 'not an EC2 event: aws.s3 / Object Created');
  });
});
