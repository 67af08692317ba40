import type { AssetType } from './inventory-events.ts';
import { SCRIPT_KEY } from './redis-script.ts';

/*
 * Where the inventory lives in Redis (docs/inventory.md). Every key shares the script key's hash tag, so a batch's
 * keys, whatever its accounts and regions, live in one slot on every topology and the batch stays one call.
 */

/** The hash of one account and region: field `<type>/<id>`, value the record's JSON. */
export function inventoryKey(account: string, region: string): string {
  return `${SCRIPT_KEY}:inventory:${account}:${region}`;
}

/** Deleted records of one account and region by when they were deleted: they are purged after the tombstone hours. */
export function tombstonesKey(account: string, region: string): string {
  return `${SCRIPT_KEY}:inventory-tombstones:${account}:${region}`;
}

/** The newest observation among the purged tombstones of an account and region: anything older is stale. */
export function purgedKey(account: string, region: string): string {
  return `${SCRIPT_KEY}:inventory-purged:${account}:${region}`;
}

/** The change feed's budget (a token bucket in bytes), one for everything that writes to this Redis. */
export const FEED_BUDGET_KEY = `${SCRIPT_KEY}:inventory-feed`;

/** Set once a type of an account and region was listed completely: from then on, what a snapshot corrects was missed. */
export function seededKey(account: string, region: string, type: AssetType): string {
  return `${SCRIPT_KEY}:inventory-seeded:${account}:${region}:${type}`;
}

/** A reconcile run in one account and region: its counts and the types it completed. */
export function snapshotRunKey(snapshotId: string, account: string, region: string): string {
  return `${SCRIPT_KEY}:snapshot:${snapshotId}:${account}:${region}`;
}

/** The ids one type's listing has shown so far, and the parts that arrived. */
export function snapshotSeenKey(snapshotId: string, account: string, region: string, type: AssetType): string {
  return `${snapshotRunKey(snapshotId, account, region)}:${type}:seen`;
}

export function snapshotPartsKey(snapshotId: string, account: string, region: string, type: AssetType): string {
  return `${snapshotRunKey(snapshotId, account, region)}:${type}:parts`;
}
