/*
 * A simulated EC2 on 127.0.0.1: the Query protocol with XML answers, for the describes the inventory makes
 * (DescribeInstances, DescribeVpcs, DescribeSubnets, DescribeNetworkInterfaces, DescribeVolumes, DescribeAddresses),
 * with EC2's rules (ids fail whole with `Invalid*.NotFound` / `.Malformed`, MaxResults and instance ids do not mix,
 * at most 200 filter values, terminated instances listed for a while) and its throttling (`RequestLimitExceeded`).
 * Point a real EC2Client at `endpoint` (or AWS_ENDPOINT_URL_EC2): its retries, paging and parsing run as in production.
 *
 * Each account and region has its own state; a request's account is its access key id when that is 12 digits
 * (`clientConfig(account)` builds such credentials), else the default account, and its region the one it was signed
 * for. Tests, the bench and `npm start -- --inventory` change the state through `region(...)` or `applyEvent(event)`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Address, Instance, NetworkInterface, Subnet, Volume, Vpc } from '@aws-sdk/client-ec2';
import { checkIds, ID_KINDS, SimulatedEc2Error, throttled } from './ec2-simulator-errors.ts';
import { type ApplyResult, applyEvent } from './ec2-simulator-events.ts';
import { type FilterFields, filters, listParameter, matching, page, refuseMaxResultsWithIds } from './ec2-simulator-query.ts';
import { SimulatedRegion, type SimulatorSettings } from './ec2-simulator-state.ts';
import { errorXml, responseXml, SIMULATED_ACTIONS, type SimulatedAction } from './ec2-simulator-xml.ts';

export type { ApplyResult } from './ec2-simulator-events.ts';
export type { InstanceStateName, SimulatedAssetType, SimulatedRegion, Tags } from './ec2-simulator-state.ts';
export type { SimulatedAction } from './ec2-simulator-xml.ts';

export const DEFAULT_SIMULATED_ACCOUNT = '123456789012';

export interface Ec2SimulatorOptions {
  /** The account of requests whose access key id is not a 12-digit account (default 123456789012). */
  readonly defaultAccount?: string;
  /** The simulator's clock (terminated instances' retention, creation lag); default Date.now. */
  readonly now?: () => number;
  /** Default one hour. */
  readonly terminatedRetentionMs?: number;
  /** Default 0: a new asset is described at once. */
  readonly creationLagMs?: number;
}

export interface RateLimit {
  /** Tokens added per second; each request takes one, and finds none: RequestLimitExceeded. */
  readonly requestsPerSecond: number;
  /** The bucket's size (and its content at the start). */
  readonly burst: number;
}

export interface Ec2Simulator {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Changed in place: they apply from the next request. */
  readonly settings: SimulatorSettings;
  /** One account's region (created empty on first use). */
  region(region: string, account?: string): SimulatedRegion;
  /** Applies what an EventBridge event says happened (its account and region). */
  applyEvent(event: Readonly<Record<string, unknown>>): ApplyResult;
  /** Requests received (throttled ones included), for one action or all. */
  calls(action?: SimulatedAction): number;
  resetCalls(): void;
  /** The next `times` requests of the action are answered RequestLimitExceeded. */
  throttle(action: SimulatedAction, times: number): void;
  /** A token bucket over every request; undefined switches it off. */
  rateLimit(limit: RateLimit | undefined): void;
  /** What an EC2Client needs to reach the simulator as `account`: endpoint and credentials naming the account. */
  clientConfig(account?: string): { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  close(): Promise<void>;
}

export async function startEc2Simulator(options: Ec2SimulatorOptions = {}): Promise<Ec2Simulator> {
  const defaultAccount = options.defaultAccount ?? DEFAULT_SIMULATED_ACCOUNT;
  const now = options.now ?? Date.now;
  const settings: SimulatorSettings = {
    terminatedRetentionMs: options.terminatedRetentionMs ?? 3_600_000,
    creationLagMs: options.creationLagMs ?? 0,
  };
  let sequence = 0;
  const context = {
    now,
    settings,
    // Unique across the simulator, EC2's long form: 17 hex digits after the prefix.
    newId: (prefix: string) => {
      sequence += 1;
      return `${prefix}-${sequence.toString(16).padStart(17, '0')}`;
    },
  };
  const regions = new Map<string, SimulatedRegion>();
  const region = (name: string, account = defaultAccount) => {
    const key = `${account}/${name}`;
    let found = regions.get(key);
    if (found === undefined) {
      found = new SimulatedRegion(account, name, context);
      regions.set(key, found);
    }
    return found;
  };
  const counts = new Map<string, number>();
  const pendingThrottles = new Map<string, number>();
  let bucket: (RateLimit & { tokens: number; at: number }) | undefined;

  const takeToken = (): boolean => {
    if (bucket === undefined) return true;
    const at = performance.now();
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((at - bucket.at) / 1000) * bucket.requestsPerSecond);
    bucket.at = at;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  /** EC2 leaves out of its answer the instances of other accounts a describe names (no error, no item). */
  const otherAccountsInstance = (scope: SimulatedRegion, instanceId: string) =>
    [...regions.values()].some((other) => other !== scope && other.region === scope.region && other.has('instance', instanceId));

  const answer = (form: URLSearchParams, scope: SimulatedRegion): { status: number; body: string } => {
    const requestId = randomUUID();
    const action = form.get('Action') ?? '';
    counts.set(action, (counts.get(action) ?? 0) + 1);
    try {
      if (!(SIMULATED_ACTIONS as string[]).includes(action)) {
        throw new SimulatedEc2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
      }
      const left = pendingThrottles.get(action) ?? 0;
      if (left > 0) {
        pendingThrottles.set(action, left - 1);
        throw throttled();
      }
      if (!takeToken()) throw throttled();
      const simulatedAction = action as SimulatedAction;
      const output = DESCRIBES[simulatedAction](form, scope, (instanceId) => otherAccountsInstance(scope, instanceId));
      return { status: 200, body: responseXml(simulatedAction, output, requestId) };
    } catch (error) {
      if (!(error instanceof SimulatedEc2Error)) throw error;
      return { status: error.status, body: errorXml(error.code, error.message, requestId) };
    }
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const { account, regionName } = signer(request.headers.authorization, defaultAccount);
      const form = new URLSearchParams(body);
      try {
        const { status, body: xml } = answer(form, region(regionName, account));
        response.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
        response.end(xml);
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/xml;charset=UTF-8' });
        response.end(errorXml('InternalError', error instanceof Error ? error.message : String(error), randomUUID()));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    settings,
    region,
    applyEvent: (event) => applyEvent(region, event),
    calls: (action) =>
      action === undefined ? [...counts.values()].reduce((sum, count) => sum + count, 0) : (counts.get(action) ?? 0),
    resetCalls: () => counts.clear(),
    throttle: (action, times) => {
      pendingThrottles.set(action, (pendingThrottles.get(action) ?? 0) + times);
    },
    rateLimit: (limit) => {
      bucket = limit === undefined ? undefined : { ...limit, tokens: limit.burst, at: performance.now() };
    },
    clientConfig: (account = defaultAccount) => ({
      endpoint,
      credentials: { accessKeyId: account, secretAccessKey: 'simulated' },
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** SigV4's `Credential=<access key id>/<date>/<region>/ec2/aws4_request`: the account and region of the request. */
function signer(authorization: string | undefined, defaultAccount: string): { account: string; regionName: string } {
  const [accessKeyId = '', , regionName = 'us-east-1'] = /Credential=([^,]+)/.exec(authorization ?? '')?.[1]?.split('/') ?? [];
  return { account: /^\d{12}$/.test(accessKeyId) ? accessKeyId : defaultAccount, regionName };
}

const INSTANCE_FILTERS: FilterFields<Instance> = {
  'instance-id': (item) => item.InstanceId,
  'instance-state-name': (item) => item.State?.Name,
  'subnet-id': (item) => item.SubnetId,
  'vpc-id': (item) => item.VpcId,
  'instance-type': (item) => item.InstanceType,
};
const VPC_FILTERS: FilterFields<Vpc> = {
  'vpc-id': (item) => item.VpcId,
  state: (item) => item.State,
  'is-default': (item) => String(item.IsDefault),
  'cidr-block': (item) => item.CidrBlock,
};
const SUBNET_FILTERS: FilterFields<Subnet> = {
  'subnet-id': (item) => item.SubnetId,
  'vpc-id': (item) => item.VpcId,
  state: (item) => item.State,
  'availability-zone': (item) => item.AvailabilityZone,
  'default-for-az': (item) => String(item.DefaultForAz),
};
const INTERFACE_FILTERS: FilterFields<NetworkInterface> = {
  'network-interface-id': (item) => item.NetworkInterfaceId,
  'attachment.attachment-id': (item) => item.Attachment?.AttachmentId,
  'attachment.instance-id': (item) => item.Attachment?.InstanceId,
  'subnet-id': (item) => item.SubnetId,
  'vpc-id': (item) => item.VpcId,
  status: (item) => item.Status,
};
const VOLUME_FILTERS: FilterFields<Volume> = {
  'volume-id': (item) => item.VolumeId,
  'attachment.instance-id': (item) => item.Attachments?.map((attachment) => attachment.InstanceId ?? ''),
  status: (item) => item.State,
};
const ADDRESS_FILTERS: FilterFields<Address> = {
  'allocation-id': (item) => item.AllocationId,
  'association-id': (item) => item.AssociationId,
  'instance-id': (item) => item.InstanceId,
  'network-interface-id': (item) => item.NetworkInterfaceId,
  'public-ip': (item) => item.PublicIp,
};

/**
 * Asked by ids: EC2's checks, then exactly those items (in the order they are held). `silent` ids are not errors,
 * only absent (instances of other accounts).
 */
function byIds<T>(
  items: readonly T[],
  ids: readonly string[],
  kind: (typeof ID_KINDS)[keyof typeof ID_KINDS],
  idOf: (item: T) => string | undefined,
  silent: (id: string) => boolean = () => false,
) {
  if (ids.length === 0) return [...items];
  const known = new Set(items.map(idOf));
  checkIds(kind, ids, (id) => known.has(id) || silent(id));
  const wanted = new Set(ids);
  return items.filter((item) => wanted.has(idOf(item) ?? ''));
}

/** A describe of flat items: by ids (EC2's checks), then filters, then a page. */
function listing<T extends object>(spec: {
  readonly items: (scope: SimulatedRegion) => T[];
  readonly idParameter: string;
  readonly kind: (typeof ID_KINDS)[keyof typeof ID_KINDS];
  readonly idOf: (item: T) => string | undefined;
  readonly fields: FilterFields<T>;
  /** The output member that holds the items (`Vpcs`...). */
  readonly member: string;
  /** Where EC2 refuses MaxResults with an id list, the list's name in its message. */
  readonly idsRefuseMaxResults?: string;
}): Describe {
  return (form, scope) => {
    const ids = listParameter(form, spec.idParameter);
    if (spec.idsRefuseMaxResults !== undefined) refuseMaxResultsWithIds(form, ids.length > 0, spec.idsRefuseMaxResults);
    const selected = matching(byIds(spec.items(scope), ids, spec.kind, spec.idOf), filters(form), spec.fields);
    const { items, nextToken } = page(selected, form);
    return { [spec.member]: items, NextToken: nextToken };
  };
}

type Describe = (form: URLSearchParams, scope: SimulatedRegion, ofOtherAccount: (instanceId: string) => boolean) => object;

const DESCRIBES: Record<SimulatedAction, Describe> = {
  DescribeInstances(form, scope, ofOtherAccount) {
    const ids = listParameter(form, 'InstanceId');
    refuseMaxResultsWithIds(form, ids.length > 0, 'instancesSet');
    const reservations = scope.reservations();
    const flat = reservations.flatMap((reservation) =>
      (reservation.Instances ?? []).map((instance) => ({ reservation, instance })),
    );
    const selected = byIds(flat, ids, ID_KINDS.instance, (entry) => entry.instance.InstanceId, ofOtherAccount);
    const given = filters(form);
    const kept = new Set(
      matching(
        selected.map((entry) => entry.instance),
        given,
        INSTANCE_FILTERS,
      ),
    );
    // Pages count instances; each page groups its instances back into their reservations.
    const { items, nextToken } = page(
      selected.filter((entry) => kept.has(entry.instance)),
      form,
    );
    const grouped = new Map<string, { reservation: (typeof items)[number]['reservation']; instances: Instance[] }>();
    for (const { reservation, instance } of items) {
      const group = grouped.get(reservation.ReservationId ?? '') ?? { reservation, instances: [] };
      group.instances.push(instance);
      grouped.set(reservation.ReservationId ?? '', group);
    }
    return {
      Reservations: [...grouped.values()].map(({ reservation, instances }) => ({ ...reservation, Instances: instances })),
      NextToken: nextToken,
    };
  },
  DescribeVpcs: listing({
    items: (scope) => scope.vpcs(),
    idParameter: 'VpcId',
    kind: ID_KINDS.vpc,
    idOf: (vpc) => vpc.VpcId,
    fields: VPC_FILTERS,
    member: 'Vpcs',
  }),
  DescribeSubnets: listing({
    items: (scope) => scope.subnets(),
    idParameter: 'SubnetId',
    kind: ID_KINDS.subnet,
    idOf: (subnet) => subnet.SubnetId,
    fields: SUBNET_FILTERS,
    member: 'Subnets',
  }),
  DescribeNetworkInterfaces: listing({
    items: (scope) => scope.networkInterfaces(),
    idParameter: 'NetworkInterfaceId',
    kind: ID_KINDS.networkInterface,
    idOf: (eni) => eni.NetworkInterfaceId,
    fields: INTERFACE_FILTERS,
    member: 'NetworkInterfaces',
    idsRefuseMaxResults: 'networkInterfaceIdSet',
  }),
  DescribeVolumes: listing({
    items: (scope) => scope.volumes(),
    idParameter: 'VolumeId',
    kind: ID_KINDS.volume,
    idOf: (volume) => volume.VolumeId,
    fields: VOLUME_FILTERS,
    member: 'Volumes',
    idsRefuseMaxResults: 'volumeIds',
  }),
  DescribeAddresses(form, scope) {
    const allocationIds = listParameter(form, 'AllocationId');
    const publicIps = new Set(listParameter(form, 'PublicIp'));
    let selected = byIds(scope.addresses(), allocationIds, ID_KINDS.allocation, (address) => address.AllocationId);
    if (publicIps.size > 0) {
      const missing = [...publicIps].find((ip) => !selected.some((address) => address.PublicIp === ip));
      if (missing !== undefined) throw new SimulatedEc2Error('InvalidAddress.NotFound', `Address '${missing}' not found.`);
      selected = selected.filter((address) => publicIps.has(address.PublicIp ?? ''));
    }
    // DescribeAddresses has no paging: EC2 answers everything at once.
    return { Addresses: matching(selected, filters(form), ADDRESS_FILTERS) };
  },
};
