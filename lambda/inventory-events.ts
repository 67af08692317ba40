/*
 * The inventory's messages (docs/inventory.md): what the describer and the reconcile function send into the FIFO
 * queue (or, from a member account, onto the central account's default bus), and what the sync function applies to
 * Redis. Plain data and types: the describer, reconcile, the sync function and the local pipeline share them.
 */

export const ASSET_TYPES = ['instance', 'vpc', 'subnet'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

/** The member of an EC2 description that holds its id. */
export const ASSET_ID_FIELDS: Readonly<Record<AssetType, string>> = { instance: 'InstanceId', vpc: 'VpcId', subnet: 'SubnetId' };

/** EC2's id forms: 8 or 17 hex digits after the prefix. */
export const ASSET_ID_PATTERNS: Readonly<Record<AssetType, RegExp>> = {
  instance: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  vpc: /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  subnet: /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
};

/** A description of assets by id, made because live events named them (the describer). */
export const STATE_SOURCE = 'assets.describe';
export const STATE_DETAIL_TYPE = 'Asset State';

/** One resource type's complete listing, cut into parts (the reconcile function). */
export const SNAPSHOT_SOURCE = 'assets.reconcile';
export const SNAPSHOT_DETAIL_TYPE = 'Asset Snapshot';

/**
 * The message group of every inventory message in the FIFO queue: states and snapshots are applied by observation
 * time, not by queue order, so they need no group of a live rule.
 */
export const INVENTORY_MESSAGE_GROUP = 'asset-inventory';

/** `detail` of an "Asset State" event: one account, region and type, as EC2 answered one describe call. */
export interface AssetStateDetail {
  readonly resourceType: AssetType;
  /** When EC2 answered, ISO 8601 UTC with milliseconds (`Date.prototype.toISOString`). */
  readonly observedAt: string;
  /**
   * The descriptions exactly as the SDK returns them (DescribeInstances' instances taken out of their reservations),
   * dates as ISO strings. A terminated instance is here, with `State.Name` `terminated`.
   */
  readonly items: readonly unknown[];
  /** Ids that were asked for and that EC2 no longer knows (`InvalidVpcID.NotFound` and its kin, or left out). */
  readonly notFound: readonly string[];
  /** The earliest `time` of the live events that led to this description: the end-to-end lag starts there. */
  readonly eventTime?: string;
}

/** `detail` of an "Asset Snapshot" event. */
export interface AssetSnapshotDetail {
  /** One run of the reconcile function: every type it lists shares it. */
  readonly snapshotId: string;
  readonly resourceType: AssetType;
  /** 1..parts */
  readonly part: number;
  readonly parts: number;
  /** Always true: a type whose listing failed is not sent at all. */
  readonly complete: true;
  /**
   * When the listing of this type began, ISO 8601 UTC with milliseconds: its items are observations of that time,
   * and records observed after it are spared by the listing's deletes.
   */
  readonly observedAt?: string;
  /** The types this run lists: the run is complete once each has all its parts (one corrections line). */
  readonly types?: readonly AssetType[];
  /** Without the inventory: the group this copy went through, and every group it was sent through. */
  readonly group?: string;
  readonly groups?: readonly string[];
  readonly items: readonly unknown[];
}

/** The id an EC2 description carries for its type, or undefined. */
export function assetId(type: AssetType, item: unknown): string | undefined {
  const value = (item as Record<string, unknown> | null)?.[ASSET_ID_FIELDS[type]];
  return typeof value === 'string' ? value : undefined;
}

export function isAssetType(value: unknown): value is AssetType {
  return typeof value === 'string' && (ASSET_TYPES as readonly string[]).includes(value);
}
