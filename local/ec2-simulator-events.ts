/*
 * Applies to the simulated EC2 what an EventBridge event says happened, so that a script of events (the samples,
 * the bench's scripted run) and the simulator agree: a state change sets the state, CreateVpc creates the VPC its
 * responseElements name, DeleteSubnet removes it, a tag change sets the tags from `detail.tags`, AssociateAddress
 * links an address... An asset the event names and the simulator does not hold yet is created (the event is the
 * truth). Calls that change nothing DescribeInstances, DescribeVpcs or DescribeSubnets show, and calls the simulator
 * does not model, are reported as not applied, with the reason.
 */
import { SimulatedEc2Error } from './ec2-simulator-errors.ts';
import {
  INSTANCE_STATES,
  type InstanceStateName,
  type SimulatedAssetType,
  type SimulatedRegion,
  type Tags,
} from './ec2-simulator-state.ts';

export interface ApplyResult {
  readonly applied: boolean;
  /** Why not, when not applied. */
  readonly reason?: string;
}

type Json = Record<string, unknown>;
type CallHandler = (scope: SimulatedRegion, request: Json, response: Json) => void;

const APPLIED: ApplyResult = { applied: true };

export function applyEvent(regionOf: (region: string, account: string) => SimulatedRegion, event: Readonly<Json>): ApplyResult {
  const account = typeof event.account === 'string' ? event.account : '';
  const region = typeof event.region === 'string' ? event.region : '';
  const detail = (event.detail ?? {}) as Json;
  if (!/^\d{12}$/.test(account) || region === '') return { applied: false, reason: 'the event names no account or region' };
  const scope = regionOf(region, account);
  try {
    switch (event['detail-type']) {
      case 'EC2 Instance State-change Notification':
        return applyStateChange(scope, detail);
      case 'Tag Change on Resource':
        return applyTagChange(scope, event, detail);
      case 'AWS API Call via CloudTrail': {
        const name = String(detail.eventName ?? '');
        if (detail.errorCode !== undefined) return { applied: false, reason: `${name} failed (${String(detail.errorCode)})` };
        const unseen = NOT_DESCRIBED[name];
        if (unseen !== undefined) return { applied: false, reason: unseen };
        const handler = CALLS[name];
        if (handler === undefined) return { applied: false, reason: `the simulator does not model ${name}` };
        handler(scope, (detail.requestParameters ?? {}) as Json, (detail.responseElements ?? {}) as Json);
        return APPLIED;
      }
      default:
        return { applied: false, reason: `not an EC2 event: ${String(event['detail-type'])}` };
    }
  } catch (error) {
    if (error instanceof SimulatedEc2Error) return { applied: false, reason: `${error.code}: ${error.message}` };
    throw error;
  }
}

function applyStateChange(scope: SimulatedRegion, detail: Json): ApplyResult {
  const instanceId = String(detail['instance-id'] ?? '');
  const state = String(detail.state ?? '');
  if (!(state in INSTANCE_STATES)) return { applied: false, reason: `unknown instance state ${state}` };
  const stateName = state as InstanceStateName;
  if (!scope.has('instance', instanceId)) {
    scope.runInstances({ instanceIds: [instanceId], state: stateName === 'terminated' ? 'shutting-down' : stateName });
  }
  scope.setInstanceState(instanceId, stateName);
  return APPLIED;
}

function applyTagChange(scope: SimulatedRegion, event: Readonly<Json>, detail: Json): ApplyResult {
  const arn = Array.isArray(event.resources) ? String(event.resources[0] ?? '') : '';
  const match = /:(instance|vpc|subnet)\/([^/]+)$/.exec(arn);
  if (match === null) return { applied: false, reason: `not an instance, VPC or subnet: ${arn}` };
  const type = match[1] as SimulatedAssetType;
  const id = match[2] ?? '';
  ensure(scope, type, id);
  scope.setTags(type, id, (detail.tags ?? {}) as Tags);
  return APPLIED;
}

/** Creates an asset an event names and the simulator does not know, with defaults. */
function ensure(scope: SimulatedRegion, type: SimulatedAssetType, id: string): void {
  if (scope.has(type, id)) return;
  if (type === 'instance') scope.runInstances({ instanceIds: [id], state: 'running' });
  else if (type === 'vpc') scope.createVpc({ vpcId: id });
  else scope.createSubnet({ subnetId: id, vpcId: scope.defaultSubnet().VpcId ?? '' });
}

/** The first value found under `key` (any casing: CloudTrail writes `instanceId` or `InstanceId`), depth first. */
function find(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [name, item] of Object.entries(value)) {
    if (name.toLowerCase() === key.toLowerCase()) return item;
  }
  for (const item of Object.values(value)) {
    const found = find(item, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function text(value: unknown, key: string): string {
  const found = find(value, key);
  return typeof found === 'string' || typeof found === 'number' ? String(found) : '';
}

/** CloudTrail's `{"value": x}` wrappers of attribute changes, or the value itself. */
function attribute(value: unknown, key: string): unknown {
  const found = find(value, key);
  return typeof found === 'object' && found !== null && 'value' in found ? (found as Json).value : found;
}

/** Every `key` value under `value` (the instances of an `instancesSet`, the addresses of a set...). */
function all(value: unknown, key: string): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([name, item]) =>
    name.toLowerCase() === key.toLowerCase() && typeof item === 'string' ? [item] : all(item, key),
  );
}

function tagsOf(value: unknown): Tags {
  return Object.fromEntries(
    all(find(value, 'tagSet'), 'key').map((key, index) => [key, all(find(value, 'tagSet'), 'value')[index] ?? '']),
  );
}

function boolean(value: unknown): boolean {
  return value === true || value === 'true';
}

/** Calls that change nothing the three describes show. */
const NOT_DESCRIBED: Readonly<Record<string, string>> = {
  ModifyVpcAttribute: 'DNS attributes are not part of DescribeVpcs (DescribeVpcAttribute shows them)',
};

const CALLS: Readonly<Record<string, CallHandler>> = {
  CreateVpc: (scope, _request, response) => {
    scope.createVpc({
      vpcId: text(response, 'vpcId'),
      cidrBlock: text(response, 'cidrBlock') || undefined,
      tags: tagsOf(find(response, 'vpc')),
    });
  },
  CreateDefaultVpc: (scope, _request, response) => {
    scope.createVpc({
      vpcId: text(response, 'vpcId'),
      cidrBlock: text(response, 'cidrBlock') || '172.31.0.0/16',
      isDefault: true,
    });
  },
  DeleteVpc: (scope, request) => {
    scope.deleteVpc(text(request, 'vpcId'));
  },
  ModifyVpcTenancy: (scope, request) => {
    scope.modifyVpc(text(request, 'vpcId'), { InstanceTenancy: text(request, 'instanceTenancy') as 'default' });
  },
  AssociateDhcpOptions: (scope, request) => {
    scope.modifyVpc(text(request, 'vpcId'), { DhcpOptionsId: text(request, 'dhcpOptionsId') });
  },
  CreateSubnet: createSubnet(false),
  CreateDefaultSubnet: createSubnet(true),
  DeleteSubnet: (scope, request) => {
    scope.deleteSubnet(text(request, 'subnetId'));
  },
  ModifySubnetAttribute: (scope, request) => {
    const patch: Record<string, boolean> = {};
    for (const [cloudTrailName, field] of [
      ['mapPublicIpOnLaunch', 'MapPublicIpOnLaunch'],
      ['assignIpv6AddressOnCreation', 'AssignIpv6AddressOnCreation'],
      ['enableDns64', 'EnableDns64'],
      ['mapCustomerOwnedIpOnLaunch', 'MapCustomerOwnedIpOnLaunch'],
    ] as const) {
      const value = attribute(request, cloudTrailName);
      if (value !== undefined) patch[field] = boolean(value);
    }
    scope.modifySubnet(text(request, 'subnetId'), patch);
  },
  ModifyInstanceAttribute: (scope, request) => {
    const instanceId = text(request, 'instanceId');
    const instanceType = attribute(request, 'instanceType');
    const groups = all(find(request, 'groupSet'), 'groupId');
    const sourceDestCheck = attribute(request, 'sourceDestCheck');
    const ebsOptimized = attribute(request, 'ebsOptimized');
    scope.modifyInstance(instanceId, {
      ...(instanceType === undefined ? {} : { InstanceType: String(instanceType) as 't3.micro' }),
      ...(groups.length === 0 ? {} : { SecurityGroups: groups.map((GroupId) => ({ GroupId, GroupName: GroupId })) }),
      ...(sourceDestCheck === undefined ? {} : { SourceDestCheck: boolean(sourceDestCheck) }),
      ...(ebsOptimized === undefined ? {} : { EbsOptimized: boolean(ebsOptimized) }),
    });
  },
  ModifyInstanceCpuOptions: (scope, request) => {
    scope.modifyInstance(text(request, 'instanceId'), {
      CpuOptions: { CoreCount: Number(text(request, 'coreCount')), ThreadsPerCore: Number(text(request, 'threadsPerCore')) },
    });
  },
  ModifyInstanceMaintenanceOptions: (scope, request) => {
    scope.modifyInstance(text(request, 'instanceId'), {
      MaintenanceOptions: { AutoRecovery: text(request, 'autoRecovery') as 'default' },
    });
  },
  MonitorInstances: monitoring('enabled'),
  UnmonitorInstances: monitoring('disabled'),
  AssociateAddress: (scope, request, response) => {
    const allocationId = text(request, 'allocationId');
    if (!scope.hasAddress(allocationId)) scope.allocateAddress({ allocationId });
    const instanceId = text(request, 'instanceId');
    const networkInterfaceId = text(request, 'networkInterfaceId');
    scope.associateAddress({
      allocationId,
      associationId: text(response, 'associationId'),
      ...(networkInterfaceId === '' ? { instanceId } : { networkInterfaceId }),
    });
  },
  DisassociateAddress: (scope, request) => {
    scope.disassociateAddress(text(request, 'associationId'));
  },
  AttachVolume: (scope, request) => {
    const volumeId = text(request, 'volumeId');
    if (!scope.hasVolume(volumeId)) scope.createVolume({ volumeId });
    scope.attachVolume(volumeId, text(request, 'instanceId'), text(request, 'device'));
  },
  DetachVolume: (scope, request) => {
    scope.detachVolume(text(request, 'volumeId'));
  },
  AttachNetworkInterface: (scope, request, response) => {
    const networkInterfaceId = text(request, 'networkInterfaceId');
    if (!scope.hasInterface(networkInterfaceId)) {
      scope.createNetworkInterface({ networkInterfaceId, subnetId: scope.defaultSubnet().SubnetId ?? '' });
    }
    scope.attachNetworkInterface(
      networkInterfaceId,
      text(request, 'instanceId'),
      Number(text(request, 'deviceIndex')),
      text(response, 'attachmentId'),
    );
  },
  DetachNetworkInterface: (scope, request) => {
    scope.detachNetworkInterface(text(request, 'attachmentId'));
  },
  AssignPrivateIpAddresses: (scope, request) => {
    const count =
      Number(text(request, 'secondaryPrivateIpAddressCount')) ||
      all(find(request, 'privateIpAddressesSet'), 'privateIpAddress').length;
    scope.assignPrivateIpAddresses(text(request, 'networkInterfaceId'), count);
  },
  UnassignPrivateIpAddresses: (scope, request) => {
    scope.unassignPrivateIpAddresses(
      text(request, 'networkInterfaceId'),
      all(find(request, 'privateIpAddressesSet'), 'privateIpAddress'),
    );
  },
};

function createSubnet(isDefault: boolean): CallHandler {
  return (scope, _request, response) => {
    scope.createSubnet({
      subnetId: text(response, 'subnetId'),
      vpcId: text(response, 'vpcId'),
      cidrBlock: text(response, 'cidrBlock') || undefined,
      availabilityZone: text(response, 'availabilityZone') || undefined,
      tags: tagsOf(find(response, 'subnet')),
      defaultForAz: isDefault,
    });
  };
}

function monitoring(state: 'enabled' | 'disabled'): CallHandler {
  return (scope, request) => {
    for (const instanceId of all(request, 'instanceId')) scope.modifyInstance(instanceId, { Monitoring: { State: state } });
  };
}
