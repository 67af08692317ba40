import { randomUUID } from 'node:crypto';
import type { SimulatedRegion } from '../../local/ec2-simulator.ts';
import { type RoutedEvent, routeEvent } from '../../local/router.ts';

/*
 * A scripted life of instances, VPCs and subnets in a simulated EC2 region: each step changes the simulator, as an
 * operator's call would, and returns the EventBridge events AWS would emit for it (state changes, tag changes,
 * CloudTrail API calls), routed by the deployed rules. Seeded, so a run can be repeated.
 */

type Json = Record<string, unknown>;

/** mulberry32: a small seeded generator, for repeatable scripts. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function envelope(scope: SimulatedRegion, detailType: string, source: string, resources: string[], detail: Json): Json {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: scope.account,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: scope.region,
    resources,
    detail,
  };
}

export function stateChangeEvent(scope: SimulatedRegion, instanceId: string, state: string): Json {
  return envelope(
    scope,
    'EC2 Instance State-change Notification',
    'aws.ec2',
    [`arn:aws:ec2:${scope.region}:${scope.account}:instance/${instanceId}`],
    { 'instance-id': instanceId, state },
  );
}

export function tagChangeEvent(
  scope: SimulatedRegion,
  type: 'instance' | 'vpc' | 'subnet',
  id: string,
  tags: Record<string, string>,
): Json {
  return envelope(scope, 'Tag Change on Resource', 'aws.tag', [`arn:aws:ec2:${scope.region}:${scope.account}:${type}/${id}`], {
    'changed-tag-keys': Object.keys(tags),
    service: 'ec2',
    'resource-type': type,
    version: 1,
    tags,
  });
}

export function apiCallEvent(
  scope: SimulatedRegion,
  eventName: string,
  requestParameters: Json,
  responseElements: Json = {},
): Json {
  return envelope(scope, 'AWS API Call via CloudTrail', 'aws.ec2', [], {
    eventVersion: '1.09',
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName,
    awsRegion: scope.region,
    sourceIPAddress: '198.51.100.1',
    userAgent: 'aws-cli/2.15.0',
    requestParameters,
    responseElements: { requestId: randomUUID(), ...responseElements },
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: scope.account,
  });
}

/** The events as the deployed rules route them (every event here matches one). */
export function routed(events: readonly Json[]): RoutedEvent[] {
  return events.map((event) => {
    const route = routeEvent(event, JSON.stringify(event));
    if (!('rule' in route)) throw new Error(`no rule takes ${route.id}: ${route.reason}`);
    return route;
  });
}

/** Launches `count` instances in one call: each goes pending, then running, with one event per change. */
export function launch(scope: SimulatedRegion, count: number, subnetId?: string): { ids: string[]; events: Json[] } {
  const ids = scope.runInstances({ count, ...(subnetId === undefined ? {} : { subnetId }) }).map((item) => item.InstanceId ?? '');
  const events = ids.map((id) => stateChangeEvent(scope, id, 'pending'));
  for (const id of ids) {
    scope.setInstanceState(id, 'running');
    events.push(stateChangeEvent(scope, id, 'running'));
  }
  return { ids, events };
}

/**
 * One step of an operator's day, picked at random among those the region allows: launch, stop, start, terminate,
 * change an instance's type, tag an instance, VPC or subnet, create a VPC or a subnet, change a subnet, delete an
 * empty subnet or VPC.
 */
export function randomStep(scope: SimulatedRegion, random: () => number): Json[] {
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const instances = scope.list('instance').filter((item) => (item as { State?: { Name?: string } }).State?.Name !== 'terminated');
  const state = (item: unknown) => (item as { State?: { Name?: string } }).State?.Name;
  const running = instances.filter((item) => state(item) === 'running');
  const stopped = instances.filter((item) => state(item) === 'stopped');
  const vpcs = scope.vpcs().filter((vpc) => !vpc.IsDefault);
  const subnets = scope.subnets();
  const busy = new Set(instances.map((item) => (item as { SubnetId?: string }).SubnetId));
  const emptySubnets = subnets.filter((subnet) => !subnet.DefaultForAz && !busy.has(subnet.SubnetId));
  const emptyVpcs = vpcs.filter((vpc) => !subnets.some((subnet) => subnet.VpcId === vpc.VpcId));
  const steps: (() => Json[] | undefined)[] = [
    () => launch(scope, 1 + Math.floor(random() * 3), pick(subnets)?.SubnetId).events,
    () => {
      const id = (pick(running) as { InstanceId?: string } | undefined)?.InstanceId;
      if (id === undefined) return undefined;
      scope.setInstanceState(id, 'stopping');
      const events = [stateChangeEvent(scope, id, 'stopping')];
      scope.setInstanceState(id, 'stopped');
      return [...events, stateChangeEvent(scope, id, 'stopped')];
    },
    () => {
      const id = (pick(stopped) as { InstanceId?: string } | undefined)?.InstanceId;
      if (id === undefined) return undefined;
      scope.setInstanceState(id, 'pending');
      const events = [stateChangeEvent(scope, id, 'pending')];
      scope.setInstanceState(id, 'running');
      return [...events, stateChangeEvent(scope, id, 'running')];
    },
    () => {
      const id = (pick(instances) as { InstanceId?: string } | undefined)?.InstanceId;
      if (id === undefined) return undefined;
      scope.setInstanceState(id, 'shutting-down');
      const events = [stateChangeEvent(scope, id, 'shutting-down')];
      scope.setInstanceState(id, 'terminated');
      return [...events, stateChangeEvent(scope, id, 'terminated')];
    },
    () => {
      const id = (pick(stopped) as { InstanceId?: string } | undefined)?.InstanceId;
      if (id === undefined) return undefined;
      const instanceType = pick(['t3.small', 'm7i.large', 'c7i.xlarge']) ?? 't3.small';
      scope.modifyInstance(id, { InstanceType: instanceType as never });
      return [apiCallEvent(scope, 'ModifyInstanceAttribute', { instanceId: id, instanceType: { value: instanceType } })];
    },
    () => {
      const kind = pick(['instance', 'vpc', 'subnet'] as const) ?? 'instance';
      const target =
        kind === 'instance'
          ? (pick(instances) as { InstanceId?: string } | undefined)?.InstanceId
          : kind === 'vpc'
            ? pick(vpcs)?.VpcId
            : pick(subnets)?.SubnetId;
      if (target === undefined) return undefined;
      const tags = { Name: `${kind}-${Math.floor(random() * 1000)}`, team: pick(['web', 'data', 'ops']) ?? 'web' };
      scope.setTags(kind, target, tags);
      return [tagChangeEvent(scope, kind, target, tags)];
    },
    () => {
      const vpc = scope.createVpc({ cidrBlock: `10.${100 + Math.floor(random() * 150)}.0.0/16` });
      return [
        apiCallEvent(scope, 'CreateVpc', { cidrBlock: vpc.CidrBlock }, { vpc: { vpcId: vpc.VpcId, cidrBlock: vpc.CidrBlock } }),
      ];
    },
    () => {
      const vpcId = pick(vpcs)?.VpcId;
      if (vpcId === undefined) return undefined;
      const subnet = scope.createSubnet({ vpcId });
      return [
        apiCallEvent(
          scope,
          'CreateSubnet',
          { vpcId, cidrBlock: subnet.CidrBlock },
          { subnet: { subnetId: subnet.SubnetId, vpcId } },
        ),
      ];
    },
    () => {
      const subnetId = pick(subnets)?.SubnetId;
      if (subnetId === undefined) return undefined;
      const value = random() < 0.5;
      scope.modifySubnet(subnetId, { MapPublicIpOnLaunch: value });
      return [apiCallEvent(scope, 'ModifySubnetAttribute', { subnetId, mapPublicIpOnLaunch: { value } })];
    },
    () => {
      const subnetId = pick(emptySubnets)?.SubnetId;
      if (subnetId === undefined) return undefined;
      scope.deleteSubnet(subnetId);
      return [apiCallEvent(scope, 'DeleteSubnet', { subnetId })];
    },
    () => {
      const vpcId = pick(emptyVpcs)?.VpcId;
      if (vpcId === undefined) return undefined;
      scope.deleteVpc(vpcId);
      return [apiCallEvent(scope, 'DeleteVpc', { vpcId })];
    },
  ];
  for (;;) {
    const events = pick(steps)?.();
    if (events !== undefined) return events;
  }
}
