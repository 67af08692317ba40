/*
 * One account's region of the simulated EC2: VPCs, subnets, instances, network interfaces, volumes and Elastic IP
 * addresses, held as EC2 relates them. Descriptions are built when asked, from the relations, so they always agree:
 * an instance's subnet, VPC, private and public addresses come from its primary network interface and the address
 * associated with it; a subnet's free address count from the interfaces in it; a terminated instance loses its
 * interfaces and, with them, its network fields (as DescribeInstances shows it).
 */
import type { Address, Instance, NetworkInterface, Reservation, Subnet, Tag, Volume, Vpc } from '@aws-sdk/client-ec2';
import { SimulatedEc2Error } from './ec2-simulator-errors.ts';

export const INSTANCE_STATES = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
} as const;
export type InstanceStateName = keyof typeof INSTANCE_STATES;

export type SimulatedAssetType = 'instance' | 'vpc' | 'subnet';

/** What every region of one simulator shares: the clock, the settings, the id sequence. */
export interface SimulatorContext {
  now(): number;
  readonly settings: SimulatorSettings;
  /** A fresh id of EC2's long form (17 hex digits) with the prefix. */
  newId(prefix: string): string;
}

export interface SimulatorSettings {
  /** How long a terminated instance stays listed (EC2: "usually less than one hour"). */
  terminatedRetentionMs: number;
  /**
   * How long a new instance, VPC or subnet stays unknown to describes: EC2's eventual consistency (a describe right
   * after a create may answer NotFound).
   */
  creationLagMs: number;
}

export type Tags = Readonly<Record<string, string>>;

interface Visible {
  /** Describes know the asset from this time on (creation lag). */
  visibleAt: number;
}

interface InstanceRecord extends Visible {
  /** The instance's own fields; the network and block-device fields are built from the relations. */
  base: Instance;
  reservationId: string;
  terminatedAt?: number;
}

interface InterfaceRecord {
  readonly id: string;
  readonly subnetId: string;
  readonly macAddress: string;
  /** The first is the primary private address. */
  ips: string[];
  groups: { GroupId: string; GroupName: string }[];
  description: string;
  attachment?: {
    readonly attachmentId: string;
    readonly instanceId: string;
    readonly deviceIndex: number;
    readonly attachTime: Date;
    readonly deleteOnTermination: boolean;
  };
}

interface VolumeRecord {
  readonly id: string;
  readonly availabilityZone: string;
  readonly size: number;
  readonly createTime: Date;
  attachment?: {
    readonly instanceId: string;
    readonly device: string;
    readonly attachTime: Date;
    readonly deleteOnTermination: boolean;
  };
}

interface Relations {
  readonly interfacesOf: ReadonlyMap<string, InterfaceRecord[]>;
  readonly volumesOf: ReadonlyMap<string, VolumeRecord[]>;
  /** By `<interface id>/<private address>`. */
  readonly addressOn: ReadonlyMap<string, AddressRecord>;
}

interface AddressRecord {
  readonly allocationId: string;
  readonly publicIp: string;
  association?: { readonly associationId: string; readonly networkInterfaceId: string; readonly privateIp: string };
}

export interface VpcSpec {
  readonly vpcId?: string;
  readonly cidrBlock?: string;
  readonly tags?: Tags;
  readonly isDefault?: boolean;
}

export interface SubnetSpec {
  readonly vpcId: string;
  readonly subnetId?: string;
  readonly cidrBlock?: string;
  readonly availabilityZone?: string;
  readonly tags?: Tags;
  readonly mapPublicIpOnLaunch?: boolean;
  readonly defaultForAz?: boolean;
}

export interface LaunchSpec {
  readonly count?: number;
  /** Default: the region's default subnet (created, with the default VPC, on first use, as every region has one). */
  readonly subnetId?: string;
  readonly instanceIds?: readonly string[];
  readonly instanceType?: string;
  readonly imageId?: string;
  readonly tags?: Tags;
  readonly state?: InstanceStateName;
}

export class SimulatedRegion {
  readonly account: string;
  readonly region: string;
  readonly #context: SimulatorContext;
  readonly #instances = new Map<string, InstanceRecord>();
  readonly #vpcs = new Map<string, Vpc & Visible>();
  readonly #subnets = new Map<string, Subnet & Visible>();
  readonly #interfaces = new Map<string, InterfaceRecord>();
  readonly #volumes = new Map<string, VolumeRecord>();
  readonly #addresses = new Map<string, AddressRecord>();
  /** Per subnet, the private addresses its interfaces hold, and where the search for a free one starts. */
  readonly #usedIps = new Map<string, Set<string>>();
  readonly #nextHost = new Map<string, number>();

  constructor(account: string, region: string, context: SimulatorContext) {
    this.account = account;
    this.region = region;
    this.#context = context;
  }

  // ---- VPCs and subnets ----

  createVpc(spec: VpcSpec = {}): Vpc {
    const vpcId = spec.vpcId ?? this.#context.newId('vpc');
    const cidrBlock = spec.cidrBlock ?? `10.${this.#vpcs.size % 256}.0.0/16`;
    const vpc: Vpc & Visible = {
      VpcId: vpcId,
      OwnerId: this.account,
      State: 'available',
      CidrBlock: cidrBlock,
      CidrBlockAssociationSet: [
        { AssociationId: this.#context.newId('vpc-cidr-assoc'), CidrBlock: cidrBlock, CidrBlockState: { State: 'associated' } },
      ],
      DhcpOptionsId: 'dopt-0123456789abcdef0',
      InstanceTenancy: 'default',
      IsDefault: spec.isDefault ?? false,
      ...tagsField(spec.tags),
      visibleAt: this.#createdVisibleAt(),
    };
    this.#vpcs.set(vpcId, vpc);
    return this.#vpcView(vpc);
  }

  createSubnet(spec: SubnetSpec): Subnet {
    const vpc = this.#vpc(spec.vpcId);
    const subnetId = spec.subnetId ?? this.#context.newId('subnet');
    const inVpc = [...this.#subnets.values()].filter((subnet) => subnet.VpcId === spec.vpcId).length;
    const cidrBlock = spec.cidrBlock ?? nthSubnet(vpc.CidrBlock ?? '10.0.0.0/16', inVpc);
    const availabilityZone = spec.availabilityZone ?? `${this.region}${'abc'[inVpc % 3]}`;
    const subnet: Subnet & Visible = {
      SubnetId: subnetId,
      SubnetArn: `arn:aws:ec2:${this.region}:${this.account}:subnet/${subnetId}`,
      VpcId: spec.vpcId,
      OwnerId: this.account,
      State: 'available',
      CidrBlock: cidrBlock,
      AvailabilityZone: availabilityZone,
      AvailabilityZoneId: `${this.region.replace(/-/g, '').slice(0, 4)}-az${(inVpc % 3) + 1}`,
      DefaultForAz: spec.defaultForAz ?? false,
      MapPublicIpOnLaunch: spec.mapPublicIpOnLaunch ?? false,
      AssignIpv6AddressOnCreation: false,
      Ipv6CidrBlockAssociationSet: [],
      ...tagsField(spec.tags),
      visibleAt: this.#createdVisibleAt(),
    };
    this.#subnets.set(subnetId, subnet);
    return this.#subnetView(subnet);
  }

  deleteVpc(vpcId: string): void {
    this.#vpc(vpcId);
    if ([...this.#subnets.values()].some((subnet) => subnet.VpcId === vpcId)) {
      throw new SimulatedEc2Error('DependencyViolation', `The vpc '${vpcId}' has dependencies and cannot be deleted.`);
    }
    this.#vpcs.delete(vpcId);
  }

  deleteSubnet(subnetId: string): void {
    this.#subnet(subnetId);
    if ([...this.#interfaces.values()].some((eni) => eni.subnetId === subnetId)) {
      throw new SimulatedEc2Error('DependencyViolation', `The subnet '${subnetId}' has dependencies and cannot be deleted.`);
    }
    this.#subnets.delete(subnetId);
    this.#usedIps.delete(subnetId);
    this.#nextHost.delete(subnetId);
  }

  modifyVpc(vpcId: string, patch: Partial<Vpc>): void {
    Object.assign(this.#vpc(vpcId), patch);
  }

  modifySubnet(subnetId: string, patch: Partial<Subnet>): void {
    Object.assign(this.#subnet(subnetId), patch);
  }

  // ---- instances ----

  /** Launches instances in one reservation, each with a primary network interface and a root volume. */
  runInstances(spec: LaunchSpec = {}): Instance[] {
    const count = spec.instanceIds?.length ?? spec.count ?? 1;
    const subnet = spec.subnetId === undefined ? this.#defaultSubnet() : this.#subnet(spec.subnetId);
    const reservationId = this.#context.newId('r');
    const now = new Date(this.#context.now());
    // EC2 reports launch times to the second.
    const launchTime = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const state = spec.state ?? 'pending';
    const launched: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const instanceId = spec.instanceIds?.[index] ?? this.#context.newId('i');
      const group = { GroupId: defaultGroupId(subnet.VpcId ?? ''), GroupName: 'default' };
      const base: Instance = {
        InstanceId: instanceId,
        ImageId: spec.imageId ?? 'ami-0123456789abcdef0',
        InstanceType: (spec.instanceType ?? 't3.micro') as Instance['InstanceType'],
        LaunchTime: launchTime,
        AmiLaunchIndex: index,
        Placement: { AvailabilityZone: subnet.AvailabilityZone, GroupName: '', Tenancy: 'default' },
        Monitoring: { State: 'disabled' },
        State: { Code: INSTANCE_STATES[state], Name: state },
        StateTransitionReason: '',
        Architecture: 'x86_64',
        RootDeviceName: '/dev/xvda',
        RootDeviceType: 'ebs',
        VirtualizationType: 'hvm',
        Hypervisor: 'xen',
        EbsOptimized: false,
        EnaSupport: true,
        SourceDestCheck: true,
        SecurityGroups: [group],
        CpuOptions: { CoreCount: 1, ThreadsPerCore: 2 },
        MetadataOptions: { State: 'applied', HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
        MaintenanceOptions: { AutoRecovery: 'default' },
        PlatformDetails: 'Linux/UNIX',
        UsageOperation: 'RunInstances',
        ...tagsField(spec.tags),
      };
      this.#instances.set(instanceId, { base, reservationId, visibleAt: this.#createdVisibleAt() });
      const eni = this.#newInterface(subnet.SubnetId ?? '', [group], 'Primary network interface');
      eni.attachment = {
        attachmentId: this.#context.newId('eni-attach'),
        instanceId,
        deviceIndex: 0,
        attachTime: launchTime,
        deleteOnTermination: true,
      };
      const volume: VolumeRecord = {
        id: this.#context.newId('vol'),
        availabilityZone: subnet.AvailabilityZone ?? this.region,
        size: 8,
        createTime: launchTime,
        attachment: { instanceId, device: '/dev/xvda', attachTime: launchTime, deleteOnTermination: true },
      };
      this.#volumes.set(volume.id, volume);
      launched.push(instanceId);
    }
    const relations = this.#relations();
    return launched.map((instanceId) => this.#instanceView(this.#instance(instanceId), relations));
  }

  /**
   * Moves an instance to a state. Terminating releases what EC2 releases: interfaces and volumes marked
   * delete-on-termination are deleted, the rest detached, Elastic IPs disassociated.
   */
  setInstanceState(instanceId: string, state: InstanceStateName): void {
    const record = this.#instance(instanceId);
    record.base.State = { Code: INSTANCE_STATES[state], Name: state };
    if (state !== 'terminated' || record.terminatedAt !== undefined) return;
    record.terminatedAt = this.#context.now();
    record.base.StateTransitionReason = `User initiated (${new Date(record.terminatedAt).toISOString().slice(0, 19)} GMT)`;
    for (const eni of [...this.#interfaces.values()]) {
      if (eni.attachment?.instanceId !== instanceId) continue;
      if (eni.attachment.deleteOnTermination) this.#deleteInterface(eni);
      else {
        this.#disassociateInterface(eni.id);
        eni.attachment = undefined;
      }
    }
    for (const volume of [...this.#volumes.values()]) {
      if (volume.attachment?.instanceId !== instanceId) continue;
      if (volume.attachment.deleteOnTermination) this.#volumes.delete(volume.id);
      else volume.attachment = undefined;
    }
  }

  terminateInstances(instanceIds: readonly string[]): void {
    for (const instanceId of instanceIds) this.setInstanceState(instanceId, 'terminated');
  }

  /** Sets an instance's own fields (instance type, CPU options, metadata options...). */
  modifyInstance(instanceId: string, patch: Partial<Instance>): void {
    Object.assign(this.#instance(instanceId).base, patch);
  }

  /** Replaces the asset's tags (a tag change event carries the complete set). */
  setTags(type: SimulatedAssetType, id: string, tags: Tags): void {
    const target = type === 'instance' ? this.#instance(id).base : type === 'vpc' ? this.#vpc(id) : this.#subnet(id);
    delete target.Tags;
    Object.assign(target, tagsField(tags));
  }

  // ---- network interfaces, volumes, addresses ----

  createNetworkInterface(spec: { subnetId: string; networkInterfaceId?: string }): NetworkInterface {
    const subnet = this.#subnet(spec.subnetId);
    const groups = [{ GroupId: defaultGroupId(subnet.VpcId ?? ''), GroupName: 'default' }];
    return this.#interfaceView(this.#newInterface(spec.subnetId, groups, '', spec.networkInterfaceId), this.#relations());
  }

  /** Returns the attachment id. */
  attachNetworkInterface(networkInterfaceId: string, instanceId: string, deviceIndex: number, attachmentId?: string): string {
    const eni = this.#interface(networkInterfaceId);
    this.#instance(instanceId);
    if (eni.attachment !== undefined) {
      throw new SimulatedEc2Error('InvalidParameterValue', `Interface: ${networkInterfaceId} in use.`);
    }
    eni.attachment = {
      attachmentId: attachmentId ?? this.#context.newId('eni-attach'),
      instanceId,
      deviceIndex,
      attachTime: new Date(this.#context.now()),
      deleteOnTermination: false,
    };
    return eni.attachment.attachmentId;
  }

  detachNetworkInterface(attachmentId: string): void {
    const eni = [...this.#interfaces.values()].find((candidate) => candidate.attachment?.attachmentId === attachmentId);
    if (eni === undefined) {
      throw new SimulatedEc2Error(
        'InvalidAttachmentID.NotFound',
        `The network interface attachment ID '${attachmentId}' does not exist`,
      );
    }
    eni.attachment = undefined;
  }

  /** Returns the addresses assigned, taken from the interface's subnet. */
  assignPrivateIpAddresses(networkInterfaceId: string, count: number): string[] {
    const eni = this.#interface(networkInterfaceId);
    const assigned = Array.from({ length: count }, () => this.#takeAddress(eni.subnetId));
    eni.ips.push(...assigned);
    return assigned;
  }

  unassignPrivateIpAddresses(networkInterfaceId: string, addresses: readonly string[]): void {
    const eni = this.#interface(networkInterfaceId);
    const released = eni.ips.slice(1).filter((ip) => addresses.includes(ip));
    eni.ips = eni.ips.filter((ip) => !released.includes(ip));
    for (const ip of released) this.#usedIps.get(eni.subnetId)?.delete(ip);
  }

  createVolume(spec: { volumeId?: string; availabilityZone?: string; size?: number } = {}): Volume {
    const volume: VolumeRecord = {
      id: spec.volumeId ?? this.#context.newId('vol'),
      availabilityZone: spec.availabilityZone ?? `${this.region}a`,
      size: spec.size ?? 8,
      createTime: new Date(this.#context.now()),
    };
    this.#volumes.set(volume.id, volume);
    return this.#volumeView(volume);
  }

  attachVolume(volumeId: string, instanceId: string, device: string): void {
    const volume = this.#volume(volumeId);
    this.#instance(instanceId);
    if (volume.attachment !== undefined) {
      throw new SimulatedEc2Error('VolumeInUse', `${volumeId} is already attached to an instance`);
    }
    volume.attachment = { instanceId, device, attachTime: new Date(this.#context.now()), deleteOnTermination: false };
  }

  detachVolume(volumeId: string): void {
    this.#volume(volumeId).attachment = undefined;
  }

  allocateAddress(spec: { allocationId?: string; publicIp?: string } = {}): Address {
    const index = this.#addresses.size + 1;
    const address: AddressRecord = {
      allocationId: spec.allocationId ?? this.#context.newId('eipalloc'),
      publicIp: spec.publicIp ?? `198.51.100.${index % 256}`,
    };
    this.#addresses.set(address.allocationId, address);
    return this.#addressView(address);
  }

  /** Associates an Elastic IP with an instance's primary interface or with an interface; returns the association id. */
  associateAddress(spec: {
    allocationId: string;
    instanceId?: string;
    networkInterfaceId?: string;
    associationId?: string;
  }): string {
    const address = this.#addresses.get(spec.allocationId);
    if (address === undefined) {
      throw new SimulatedEc2Error('InvalidAllocationID.NotFound', `The allocation ID '${spec.allocationId}' does not exist`);
    }
    const eni =
      spec.networkInterfaceId !== undefined
        ? this.#interface(spec.networkInterfaceId)
        : this.#primaryInterface(this.#instance(spec.instanceId ?? '').base.InstanceId ?? '');
    if (eni === undefined)
      throw new SimulatedEc2Error('InvalidInstanceID', `The instance '${spec.instanceId}' has no network interface`);
    this.#disassociateInterface(eni.id);
    address.association = {
      associationId: spec.associationId ?? this.#context.newId('eipassoc'),
      networkInterfaceId: eni.id,
      privateIp: eni.ips[0] ?? '',
    };
    return address.association.associationId;
  }

  disassociateAddress(associationId: string): void {
    const address = [...this.#addresses.values()].find((candidate) => candidate.association?.associationId === associationId);
    // EC2: idempotent, no error for an association that is already gone.
    if (address !== undefined) address.association = undefined;
  }

  // ---- what describes see ----

  /** Everything of the type as a describe without ids answers now (in order of creation). */
  list(type: SimulatedAssetType): (Instance | Vpc | Subnet)[] {
    if (type === 'instance') return this.reservations().flatMap((reservation) => reservation.Instances ?? []);
    if (type === 'vpc') return this.vpcs();
    return this.subnets();
  }

  reservations(): Reservation[] {
    this.#purgeTerminated();
    const relations = this.#relations();
    const byReservation = new Map<string, Instance[]>();
    for (const record of this.#instances.values()) {
      if (!this.#isVisible(record)) continue;
      const instances = byReservation.get(record.reservationId) ?? [];
      instances.push(this.#instanceView(record, relations));
      byReservation.set(record.reservationId, instances);
    }
    return [...byReservation].map(([ReservationId, Instances]) => ({
      ReservationId,
      OwnerId: this.account,
      Groups: [],
      Instances,
    }));
  }

  vpcs(): Vpc[] {
    return [...this.#vpcs.values()].filter((vpc) => this.#isVisible(vpc)).map((vpc) => this.#vpcView(vpc));
  }

  subnets(): Subnet[] {
    return [...this.#subnets.values()].filter((subnet) => this.#isVisible(subnet)).map((subnet) => this.#subnetView(subnet));
  }

  networkInterfaces(): NetworkInterface[] {
    const relations = this.#relations();
    return [...this.#interfaces.values()].map((eni) => this.#interfaceView(eni, relations));
  }

  volumes(): Volume[] {
    return [...this.#volumes.values()].map((volume) => this.#volumeView(volume));
  }

  addresses(): Address[] {
    return [...this.#addresses.values()].map((address) => this.#addressView(address));
  }

  /** Whether the asset exists at all (visible to describes or not): events about it apply. */
  has(type: SimulatedAssetType, id: string): boolean {
    return (type === 'instance' ? this.#instances : type === 'vpc' ? this.#vpcs : this.#subnets).has(id);
  }

  hasVolume(volumeId: string): boolean {
    return this.#volumes.has(volumeId);
  }

  hasAddress(allocationId: string): boolean {
    return this.#addresses.has(allocationId);
  }

  hasInterface(networkInterfaceId: string): boolean {
    return this.#interfaces.has(networkInterfaceId);
  }

  /** The region's default subnet (with the default VPC), created on first use. */
  defaultSubnet(): Subnet {
    return this.#subnetView(this.#defaultSubnet());
  }

  // ---- views ----

  /** Who is attached to whom, indexed once per answer (a listing of thousands of instances stays linear). */
  #relations(): Relations {
    const attachedInterfaces = [...this.#interfaces.values()].filter((eni) => eni.attachment !== undefined);
    const interfacesOf = Map.groupBy(attachedInterfaces, (eni) => eni.attachment?.instanceId ?? '');
    for (const list of interfacesOf.values())
      list.sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
    const attachedVolumes = [...this.#volumes.values()].filter((volume) => volume.attachment !== undefined);
    const volumesOf = Map.groupBy(attachedVolumes, (volume) => volume.attachment?.instanceId ?? '');
    const addressOn = new Map<string, AddressRecord>();
    for (const address of this.#addresses.values()) {
      if (address.association !== undefined) {
        addressOn.set(`${address.association.networkInterfaceId}/${address.association.privateIp}`, address);
      }
    }
    return { interfacesOf, volumesOf, addressOn };
  }

  #instanceView(record: InstanceRecord, relations: Relations): Instance {
    const instanceId = record.base.InstanceId ?? '';
    const interfaces = relations.interfacesOf.get(instanceId) ?? [];
    const primary = interfaces.find((eni) => eni.attachment?.deviceIndex === 0);
    const view: Instance = structuredClone(record.base);
    view.PrivateDnsName = primary === undefined ? '' : privateDnsName(primary.ips[0] ?? '', this.region);
    view.PublicDnsName = '';
    if (primary !== undefined) {
      view.PrivateIpAddress = primary.ips[0];
      view.SubnetId = primary.subnetId;
      view.VpcId = this.#subnets.get(primary.subnetId)?.VpcId;
      const publicIp = relations.addressOn.get(`${primary.id}/${primary.ips[0]}`)?.publicIp;
      if (publicIp !== undefined) view.PublicIpAddress = publicIp;
    }
    view.NetworkInterfaces = interfaces.map((eni) => {
      const { Attachment, Association, ...common } = this.#interfaceView(eni, relations);
      const { InstanceId: _instanceId, InstanceOwnerId: _ownerId, ...attachment } = Attachment ?? {};
      return {
        Attachment: attachment,
        ...(Association === undefined ? {} : { Association }),
        Description: common.Description,
        Groups: common.Groups,
        MacAddress: common.MacAddress,
        NetworkInterfaceId: common.NetworkInterfaceId,
        OwnerId: common.OwnerId,
        PrivateDnsName: common.PrivateDnsName,
        PrivateIpAddress: common.PrivateIpAddress,
        PrivateIpAddresses: eni.ips.map((ip, index) => {
          const association = this.#association(relations, eni, ip);
          return {
            ...(association === undefined ? {} : { Association: association }),
            Primary: index === 0,
            PrivateDnsName: privateDnsName(ip, this.region),
            PrivateIpAddress: ip,
          };
        }),
        SourceDestCheck: common.SourceDestCheck,
        Status: common.Status,
        SubnetId: common.SubnetId,
        VpcId: common.VpcId,
        InterfaceType: common.InterfaceType,
      };
    });
    view.BlockDeviceMappings = (relations.volumesOf.get(instanceId) ?? []).map((volume) => ({
      DeviceName: volume.attachment?.device,
      Ebs: {
        AttachTime: volume.attachment?.attachTime,
        DeleteOnTermination: volume.attachment?.deleteOnTermination,
        Status: 'attached',
        VolumeId: volume.id,
      },
    }));
    return view;
  }

  #vpcView(vpc: Vpc & Visible): Vpc {
    const { visibleAt: _visibleAt, ...view } = vpc;
    return structuredClone(view);
  }

  #subnetView(subnet: Subnet & Visible): Subnet {
    const { visibleAt: _visibleAt, ...view } = subnet;
    const used = this.#usedIps.get(subnet.SubnetId ?? '')?.size ?? 0;
    // AWS keeps five addresses of every subnet for itself.
    return { ...structuredClone(view), AvailableIpAddressCount: cidrRange(subnet.CidrBlock ?? '')[1] - 5 - used };
  }

  #interfaceView(eni: InterfaceRecord, relations: Relations): NetworkInterface {
    const subnet = this.#subnets.get(eni.subnetId);
    const association = this.#association(relations, eni, eni.ips[0]);
    return {
      ...(eni.attachment === undefined
        ? {}
        : {
            Attachment: {
              AttachTime: eni.attachment.attachTime,
              AttachmentId: eni.attachment.attachmentId,
              DeleteOnTermination: eni.attachment.deleteOnTermination,
              DeviceIndex: eni.attachment.deviceIndex,
              NetworkCardIndex: 0,
              InstanceId: eni.attachment.instanceId,
              InstanceOwnerId: this.account,
              Status: 'attached',
            },
          }),
      ...(association === undefined ? {} : { Association: association }),
      AvailabilityZone: subnet?.AvailabilityZone,
      Description: eni.description,
      Groups: structuredClone(eni.groups),
      InterfaceType: 'interface',
      MacAddress: eni.macAddress,
      NetworkInterfaceId: eni.id,
      OwnerId: this.account,
      PrivateDnsName: privateDnsName(eni.ips[0] ?? '', this.region),
      PrivateIpAddress: eni.ips[0],
      PrivateIpAddresses: eni.ips.map((ip, index) => ({ Primary: index === 0, PrivateIpAddress: ip })),
      RequesterManaged: false,
      SourceDestCheck: true,
      Status: eni.attachment === undefined ? 'available' : 'in-use',
      SubnetId: eni.subnetId,
      VpcId: subnet?.VpcId,
    };
  }

  #association(relations: Relations, eni: InterfaceRecord, privateIp: string | undefined) {
    const address = relations.addressOn.get(`${eni.id}/${privateIp}`);
    if (address === undefined) return undefined;
    return { IpOwnerId: this.account, PublicDnsName: '', PublicIp: address.publicIp };
  }

  #volumeView(volume: VolumeRecord): Volume {
    return {
      Attachments:
        volume.attachment === undefined
          ? []
          : [
              {
                AttachTime: volume.attachment.attachTime,
                Device: volume.attachment.device,
                InstanceId: volume.attachment.instanceId,
                State: 'attached',
                VolumeId: volume.id,
                DeleteOnTermination: volume.attachment.deleteOnTermination,
              },
            ],
      AvailabilityZone: volume.availabilityZone,
      CreateTime: volume.createTime,
      Encrypted: false,
      Size: volume.size,
      State: volume.attachment === undefined ? 'available' : 'in-use',
      VolumeId: volume.id,
      Iops: 3000,
      VolumeType: 'gp3',
      Throughput: 125,
    };
  }

  #addressView(address: AddressRecord): Address {
    const association = address.association;
    const eni = association === undefined ? undefined : this.#interfaces.get(association.networkInterfaceId);
    return {
      AllocationId: address.allocationId,
      PublicIp: address.publicIp,
      Domain: 'vpc',
      PublicIpv4Pool: 'amazon',
      NetworkBorderGroup: this.region,
      ...(association === undefined
        ? {}
        : {
            AssociationId: association.associationId,
            NetworkInterfaceId: association.networkInterfaceId,
            NetworkInterfaceOwnerId: this.account,
            PrivateIpAddress: association.privateIp,
            ...(eni?.attachment === undefined ? {} : { InstanceId: eni.attachment.instanceId }),
          }),
    };
  }

  // ---- lookups ----

  #instance(instanceId: string): InstanceRecord {
    const record = this.#instances.get(instanceId);
    if (record === undefined)
      throw new SimulatedEc2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    return record;
  }

  #vpc(vpcId: string): Vpc & Visible {
    const vpc = this.#vpcs.get(vpcId);
    if (vpc === undefined) throw new SimulatedEc2Error('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
    return vpc;
  }

  #subnet(subnetId: string): Subnet & Visible {
    const subnet = this.#subnets.get(subnetId);
    if (subnet === undefined)
      throw new SimulatedEc2Error('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
    return subnet;
  }

  #interface(networkInterfaceId: string): InterfaceRecord {
    const eni = this.#interfaces.get(networkInterfaceId);
    if (eni === undefined) {
      throw new SimulatedEc2Error(
        'InvalidNetworkInterfaceID.NotFound',
        `The networkInterface ID '${networkInterfaceId}' does not exist`,
      );
    }
    return eni;
  }

  #volume(volumeId: string): VolumeRecord {
    const volume = this.#volumes.get(volumeId);
    if (volume === undefined) throw new SimulatedEc2Error('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
    return volume;
  }

  #primaryInterface(instanceId: string): InterfaceRecord | undefined {
    return [...this.#interfaces.values()].find(
      (eni) => eni.attachment?.instanceId === instanceId && eni.attachment.deviceIndex === 0,
    );
  }

  #disassociateInterface(networkInterfaceId: string): void {
    for (const address of this.#addresses.values()) {
      if (address.association?.networkInterfaceId === networkInterfaceId) address.association = undefined;
    }
  }

  #newInterface(subnetId: string, groups: InterfaceRecord['groups'], description: string, id?: string): InterfaceRecord {
    const eni: InterfaceRecord = {
      id: id ?? this.#context.newId('eni'),
      subnetId,
      macAddress: macAddress(this.#interfaces.size + 1),
      ips: [this.#takeAddress(subnetId)],
      groups: structuredClone(groups),
      description,
    };
    this.#interfaces.set(eni.id, eni);
    return eni;
  }

  #deleteInterface(eni: InterfaceRecord): void {
    this.#disassociateInterface(eni.id);
    for (const ip of eni.ips) this.#usedIps.get(eni.subnetId)?.delete(ip);
    this.#interfaces.delete(eni.id);
  }

  /** Takes the next free private address of the subnet (the first four and the last one are AWS's). */
  #takeAddress(subnetId: string): string {
    const subnet = this.#subnet(subnetId);
    const [base, size] = cidrRange(subnet.CidrBlock ?? '');
    const used = this.#usedIps.get(subnetId) ?? new Set<string>();
    this.#usedIps.set(subnetId, used);
    const hosts = size - 5;
    const start = this.#nextHost.get(subnetId) ?? 4;
    for (let offset = 0; offset < hosts; offset += 1) {
      const host = 4 + ((start - 4 + offset) % hosts);
      const ip = ipString(base + host);
      if (used.has(ip)) continue;
      used.add(ip);
      this.#nextHost.set(subnetId, host + 1);
      return ip;
    }
    throw new SimulatedEc2Error(
      'InsufficientFreeAddressesInSubnet',
      `The specified subnet ${subnetId} does not have enough free addresses to satisfy the request.`,
    );
  }

  #defaultSubnet(): Subnet & Visible {
    const existing = [...this.#subnets.values()].find((subnet) => subnet.DefaultForAz === true);
    if (existing !== undefined) return existing;
    const vpc =
      [...this.#vpcs.values()].find((candidate) => candidate.IsDefault === true) ??
      this.#vpcs.get(this.createVpc({ cidrBlock: '172.31.0.0/16', isDefault: true }).VpcId ?? '');
    const subnet = this.createSubnet({
      vpcId: vpc?.VpcId ?? '',
      cidrBlock: '172.31.0.0/20',
      defaultForAz: true,
      mapPublicIpOnLaunch: true,
    });
    // The default VPC and subnet exist before anything happens in the region: no creation lag.
    if (vpc !== undefined) vpc.visibleAt = 0;
    const record = this.#subnets.get(subnet.SubnetId ?? '') as Subnet & Visible;
    record.visibleAt = 0;
    return record;
  }

  #createdVisibleAt(): number {
    return this.#context.now() + this.#context.settings.creationLagMs;
  }

  #isVisible(record: Visible): boolean {
    return this.#context.now() >= record.visibleAt;
  }

  #purgeTerminated(): void {
    const cutoff = this.#context.now() - this.#context.settings.terminatedRetentionMs;
    for (const [instanceId, record] of this.#instances) {
      if (record.terminatedAt !== undefined && record.terminatedAt <= cutoff) this.#instances.delete(instanceId);
    }
  }
}

/** EC2 leaves `tagSet` out of a description without tags: no `Tags` member at all, not an empty one. */
function tagsField(tags: Tags | undefined): { Tags?: Tag[] } {
  if (tags === undefined || Object.keys(tags).length === 0) return {};
  return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
}

function defaultGroupId(vpcId: string): string {
  return `sg-${vpcId.replace(/^vpc-/, '').padStart(17, '0').slice(-17)}`;
}

function macAddress(index: number): string {
  const hex = index.toString(16).padStart(8, '0');
  return `02:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}

function privateDnsName(ip: string, region: string): string {
  const domain = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return `ip-${ip.replace(/\./g, '-')}.${domain}`;
}

function cidrRange(cidr: string): [base: number, size: number] {
  const [address = '0.0.0.0', prefix = '32'] = cidr.split('/');
  const base = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  return [base, 2 ** (32 - Number(prefix))];
}

function ipString(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The n-th /24 of a VPC's block (or of a smaller block, its n-th eighth). */
function nthSubnet(vpcCidr: string, index: number): string {
  const [base, size] = cidrRange(vpcCidr);
  const subnetSize = size >= 256 * 16 ? 256 : Math.max(16, size / 8);
  const prefix = 32 - Math.log2(subnetSize);
  return `${ipString(base + ((index * subnetSize) % size))}/${prefix}`;
}
