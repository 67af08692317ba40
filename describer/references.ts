/*
 * What a live event says changed: the assets it names (type and id, in its account and region), the ids that name
 * an instance only indirectly, and what follows from its kind (a launch is a create; a launch or a termination
 * changes its subnet's free addresses). The event is only a hint: a fresh describe says what the asset is now.
 */
import { ASSET_TYPES, type AssetType, isAssetType } from '../lambda/inventory-events.ts';
import { arnId, classifyId, type IndirectKind } from './asset-ids.ts';

export interface AssetRef {
  readonly type: AssetType;
  readonly id: string;
}

export interface IndirectRef {
  readonly kind: IndirectKind;
  readonly id: string;
}

export interface EventReferences {
  readonly account: string;
  readonly region: string;
  /** The event's `time`: the grace and the end-to-end lag are measured from it. */
  readonly time: string | undefined;
  readonly assets: readonly AssetRef[];
  readonly indirect: readonly IndirectRef[];
  /** Ids of assets the event created: right after a create, EC2 may not know them yet (eventual consistency). */
  readonly creates: readonly string[];
  /** The event changed the free-address count of the subnets of the instances or interfaces it names. */
  readonly changesSubnetAddresses: boolean;
  /** Types to describe entirely in the account and region: the event changed something it does not name. */
  readonly listAll: readonly AssetType[];
  /** Why the event leads to no describe at all (not an EC2 event, a failed call...). */
  readonly ignored?: string;
}

const STATE_CHANGE = 'EC2 Instance State-change Notification';
const TAG_CHANGE = 'Tag Change on Resource';
const API_CALL = 'AWS API Call via CloudTrail';

/** A launch (`pending`) and a termination take or give back their subnet's addresses. */
const ADDRESS_CHANGING_STATES = new Set(['pending', 'terminated']);

/** Calls whose response names the asset they created. */
const CREATE_CALLS: Readonly<Record<string, AssetType>> = {
  CreateVpc: 'vpc',
  CreateDefaultVpc: 'vpc',
  CreateSubnet: 'subnet',
  CreateDefaultSubnet: 'subnet',
  RunInstances: 'instance',
};

/** Calls that take or give back subnet addresses through the interface or instance they name. */
const ADDRESS_CHANGING_CALLS = new Set([
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'RunInstances',
  'TerminateInstances',
]);

/**
 * Calls that change assets without naming them: account-wide settings, and an address released by allocation id
 * (the association it ended is gone). Every asset of these types in the region is described again.
 */
const ACCOUNT_WIDE_CALLS: Readonly<Record<string, readonly AssetType[]>> = {
  ModifyAccountVpcEncryptionControl: ['vpc'],
  ModifyVpcBlockPublicAccessOptions: ['vpc', 'subnet'],
  ReleaseAddress: ['instance'],
};

type Json = Readonly<Record<string, unknown>>;

export function eventReferences(event: Json): EventReferences {
  const base = {
    account: typeof event.account === 'string' ? event.account : '',
    region: typeof event.region === 'string' ? event.region : '',
    time: typeof event.time === 'string' ? event.time : undefined,
  };
  const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as Json;
  const nothing = (ignored: string): EventReferences => ({
    ...base,
    assets: [],
    indirect: [],
    creates: [],
    changesSubnetAddresses: false,
    listAll: [],
    ignored,
  });
  const detailType = event['detail-type'];
  if (detailType === STATE_CHANGE) {
    const instanceId = detail['instance-id'];
    if (typeof instanceId !== 'string' || instanceId === '') return nothing('the state change names no instance');
    const state = String(detail.state ?? '');
    return {
      ...base,
      assets: [{ type: 'instance', id: instanceId }],
      indirect: [],
      creates: state === 'pending' ? [instanceId] : [],
      changesSubnetAddresses: ADDRESS_CHANGING_STATES.has(state),
      listAll: [],
    };
  }
  if (detailType === TAG_CHANGE) {
    const arn = Array.isArray(event.resources) && typeof event.resources[0] === 'string' ? event.resources[0] : '';
    const named = arnId(arn);
    // Tags of volumes, interfaces and the rest are not part of any of the three descriptions.
    if (named === undefined || !isAssetType(named.what)) return nothing(`a tag change on ${arn || 'no resource'}`);
    return {
      ...base,
      assets: [{ type: named.what, id: named.id }],
      indirect: [],
      creates: [],
      changesSubnetAddresses: false,
      listAll: [],
    };
  }
  if (detailType === API_CALL) return apiCallReferences(base, detail, nothing);
  return nothing(`not an EC2 event: ${String(event.source)} / ${String(detailType)}`);
}

function apiCallReferences(
  base: Pick<EventReferences, 'account' | 'region' | 'time'>,
  detail: Json,
  nothing: (ignored: string) => EventReferences,
): EventReferences {
  const eventName = String(detail.eventName ?? '');
  // A failed call (or a dry run) changed nothing; the rule leaves them out, this is for replays and other sources.
  if (detail.errorCode !== undefined) return nothing(`${eventName} failed (${String(detail.errorCode)})`);
  const fromResponse = new Map<string, AssetType | IndirectKind>();
  collectIds(detail.responseElements, fromResponse);
  const found = new Map(fromResponse);
  collectIds(detail.requestParameters, found);
  const byWhat = (what: AssetType | IndirectKind) => [...found].filter(([, kind]) => kind === what).map(([id]) => id);
  const indirect = [...found].filter(([, kind]) => !isAssetType(kind)).map(([id, kind]) => ({ kind: kind as IndirectKind, id }));
  // Most specific first: a subnet call also names its VPC, an interface call may name its subnet; an instance
  // named directly makes the interface, volume or association of the same call redundant.
  const instances = byWhat('instance');
  const chosen: { assets: AssetRef[]; indirect: IndirectRef[] } =
    instances.length > 0
      ? { assets: instances.map((id) => ({ type: 'instance', id })), indirect: [] }
      : indirect.length > 0
        ? { assets: [], indirect }
        : { assets: directOf(byWhat, ['subnet', 'vpc']), indirect: [] };
  const created = CREATE_CALLS[eventName];
  const creates = chosen.assets.filter((ref) => ref.type === created && fromResponse.has(ref.id)).map((ref) => ref.id);
  return {
    ...base,
    ...chosen,
    creates,
    changesSubnetAddresses: ADDRESS_CHANGING_CALLS.has(eventName),
    // A call that names nothing it changed (account-wide, a deprecated form, a field this code does not know):
    // describe everything it may have changed.
    listAll:
      chosen.assets.length === 0 && chosen.indirect.length === 0 ? [...(ACCOUNT_WIDE_CALLS[eventName] ?? ASSET_TYPES)] : [],
  };
}

function directOf(byWhat: (what: AssetType) => string[], order: readonly AssetType[]): AssetRef[] {
  for (const type of order) {
    const ids = byWhat(type);
    if (ids.length > 0) return ids.map((id) => ({ type, id }));
  }
  return [];
}

/**
 * Every id-shaped string and EC2 ARN under `value`, whatever the field's name or casing (`instanceId`,
 * `InstanceId`, `ModifyInstanceCpuOptionsRequest.InstanceId`, `instancesSet.items[].instanceId`, `resourceArn`...).
 */
function collectIds(value: unknown, found: Map<string, AssetType | IndirectKind>): void {
  if (typeof value === 'string') {
    const kind = classifyId(value);
    if (kind !== undefined) found.set(value, 'type' in kind ? kind.type : kind.kind);
    const named = value.startsWith('arn:') ? arnId(value) : undefined;
    if (named !== undefined && classifyId(named.id) !== undefined) found.set(named.id, named.what);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const item of Array.isArray(value) ? value : Object.values(value)) collectIds(item, found);
}
