import { isAccountId } from './account.ts';
import { InvalidBodyError } from './errors.ts';
import {
  ASSET_ID_PATTERNS,
  ASSET_TYPES,
  type AssetType,
  assetId,
  isAssetType,
  SNAPSHOT_DETAIL_TYPE,
  SNAPSHOT_SOURCE,
  STATE_DETAIL_TYPE,
  STATE_SOURCE,
} from './inventory-events.ts';
import type { EventObject } from './records.ts';

/** Why a record is a tombstone; absent-from-snapshot is decided in Redis, once a listing is complete. */
export type DeletedReason = 'terminated' | 'not-found' | 'absent-from-snapshot';

/** One asset as one observation saw it: its description as JSON text, or none when EC2 no longer knows it. */
export interface Observation {
  readonly id: string;
  /** The description exactly as EC2 returned it (JSON); null when EC2 does not know the asset (not found). */
  readonly item: string | null;
  readonly deleted?: DeletedReason;
}

/** What an inventory message asks of Redis: one account, region and type, observed at one time. */
export interface InventoryOperation {
  readonly source: 'describe' | 'snapshot';
  readonly account: string;
  readonly region: string;
  readonly type: AssetType;
  /** ISO 8601 UTC with milliseconds: fixed width, so Redis compares observations as strings. */
  readonly observedAt: string;
  readonly observations: readonly Observation[];
  /** A part of one type's complete listing. */
  readonly snapshot?: {
    readonly id: string;
    readonly part: number;
    readonly parts: number;
    /** How many types the run lists: it is complete once that many are. */
    readonly types: number;
  };
}

/** An inventory message that cannot be applied however often it is retried: it is parked, as a bad body is. */
export class InvalidInventoryMessageError extends InvalidBodyError {
  override name = 'InvalidInventoryMessageError';
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** An observation this far ahead of the function's clock is not one: it would outrank every real one after it. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const SNAPSHOT_ID = /^[A-Za-z0-9-]{1,64}$/;
const MAX_PARTS = 100_000;

function isSnapshotEvent(event: EventObject): boolean {
  return event.source === SNAPSHOT_SOURCE && event['detail-type'] === SNAPSHOT_DETAIL_TYPE;
}

/**
 * An event only an inventory can use: an "Asset State", or a snapshot whose run lists its `types` (reconcile sends
 * that form only when its inventory is on; without it, snapshots go to subscribers as they are).
 */
export function isInventoryOnlyEvent(event: EventObject): boolean {
  if (event.source === STATE_SOURCE && event['detail-type'] === STATE_DETAIL_TYPE) return true;
  const detail = event.detail as { types?: unknown } | null | undefined;
  return isSnapshotEvent(event) && typeof detail === 'object' && detail !== null && Array.isArray(detail.types);
}

/**
 * The operation an "Asset State" or "Asset Snapshot" event asks for; undefined for any other event (published as it
 * is). Everything that goes into a Redis key or record is checked here, so the script can build records from parts.
 */
export function inventoryOperation(event: EventObject, now = Date.now()): InventoryOperation | undefined {
  const state = event.source === STATE_SOURCE && event['detail-type'] === STATE_DETAIL_TYPE;
  const snapshot = isSnapshotEvent(event);
  if (!state && !snapshot) return undefined;
  const problem = (what: string): never => {
    throw new InvalidInventoryMessageError(`${String(event['detail-type'])} event: ${what}`);
  };
  const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : problem('no detail')) as Record<
    string,
    unknown
  >;
  const account = isAccountId(event.account) ? event.account : problem('account is not a 12-digit string');
  const region =
    typeof event.region === 'string' && REGION.test(event.region) ? event.region : problem('region is not a region code');
  const type = isAssetType(detail.resourceType)
    ? detail.resourceType
    : problem(`resourceType is not one of ${ASSET_TYPES.join(', ')}`);
  // A snapshot of an older reconcile names no observation time: its listing began at the event's time.
  const observedAt =
    isoMilliseconds(detail.observedAt ?? (snapshot ? event.time : undefined)) ?? problem('observedAt is not a time');
  if (Date.parse(observedAt) > now + MAX_CLOCK_SKEW_MS) problem(`observedAt ${observedAt} is in the future`);
  const items = Array.isArray(detail.items) ? detail.items : problem('items is not a list');
  const observations: Observation[] = items.map((item) => {
    const id = assetId(type, item);
    if (id === undefined || !ASSET_ID_PATTERNS[type].test(id)) problem(`an item has no valid ${type} id`);
    const terminated = type === 'instance' && (item as { State?: { Name?: unknown } }).State?.Name === 'terminated';
    return { id: id as string, item: JSON.stringify(item), ...(terminated ? { deleted: 'terminated' as const } : {}) };
  });
  if (state) {
    const notFound = detail.notFound ?? [];
    if (!Array.isArray(notFound)) problem('notFound is not a list');
    for (const id of notFound as unknown[]) {
      if (typeof id !== 'string' || !ASSET_ID_PATTERNS[type].test(id))
        problem(`notFound holds something that is not a ${type} id`);
      observations.push({ id: id as string, item: null, deleted: 'not-found' });
    }
    return { source: 'describe', account, region, type, observedAt, observations };
  }
  const id =
    typeof detail.snapshotId === 'string' && SNAPSHOT_ID.test(detail.snapshotId) ? detail.snapshotId : problem('no snapshotId');
  const parts = wholeNumber(detail.parts, 1, MAX_PARTS) ?? problem('parts is not a whole number');
  const part = wholeNumber(detail.part, 1, parts) ?? problem(`part is not a whole number from 1 to ${parts}`);
  const types = Array.isArray(detail.types) ? new Set(detail.types.filter(isAssetType)).size : ASSET_TYPES.length;
  return {
    source: 'snapshot',
    account,
    region,
    type,
    observedAt,
    observations,
    snapshot: { id, part, parts, types: Math.max(1, types) },
  };
}

function isoMilliseconds(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
}

function wholeNumber(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}
