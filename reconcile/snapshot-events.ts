/*
 * A snapshot as EventBridge-shaped events: one resource type's complete listing, cut into parts that each fit in an
 * SQS message. Without the inventory every part goes once through each live message group, for consumers that merge
 * snapshots with live events themselves; with it, once through the inventory's group, stamped for the sync function
 * (docs/reconcile.md). The formats are lambda/inventory-events.ts'.
 */
import {
  ASSET_TYPES,
  type AssetSnapshotDetail,
  type AssetType,
  assetId,
  INVENTORY_MESSAGE_GROUP,
  SNAPSHOT_DETAIL_TYPE,
  SNAPSHOT_SOURCE,
} from '../lambda/inventory-events.ts';

export { SNAPSHOT_DETAIL_TYPE, SNAPSHOT_SOURCE };

export const RESOURCE_TYPES = ASSET_TYPES;
export type ResourceType = AssetType;

/**
 * The classic SQS message size, which every hop of a part still allows: a queue whose MaximumMessageSize is the former
 * default (the seed's, imported) refuses more, a member account's parts go through PutEvents, and ten parts of 240 KiB
 * fill 2.7 MB of Lambda's 6 MB invocation payload where ten of 1 MiB would need 9.5 MB (docs/reconcile.md, Part size).
 */
export const SQS_MAX_MESSAGE_BYTES = 262_144;
/** Parts stay this far under the limit: room for a part number that grows, and for SQS's own accounting. */
export const MAX_PART_BYTES = SQS_MAX_MESSAGE_BYTES - 16_384;

export interface SnapshotMessage {
  /** The event's `id`, also the SQS deduplication id: an SDK retry of the same send is not queued twice. */
  readonly id: string;
  readonly groupId: string;
  readonly body: string;
}

/** What the inventory's sync function needs besides the items: it applies snapshots by observation, not queue order. */
export interface InventoryStamp {
  /** When the listing of this type began, ISO 8601 with milliseconds: records observed later are spared its deletes. */
  readonly observedAt: string;
  /** The types this run lists: the run is complete once each has all its parts. */
  readonly types: readonly ResourceType[];
}

interface SnapshotListing {
  readonly snapshotId: string;
  readonly account: string;
  readonly region: string;
  /** When the listing began, as EventBridge writes `time` (whole seconds). */
  readonly time: string;
  /** EventBridge's `resources`: what produced the event (the reconcile function's ARN), not the listed assets. */
  readonly resources: readonly string[];
  readonly resourceType: ResourceType;
  readonly items: readonly unknown[];
  readonly newId: () => string;
  readonly maxPartBytes?: number;
}

/** Without the inventory: each part once through each of these message groups (at least one). */
interface ThroughLiveGroups {
  readonly groups: readonly string[];
}

/** With the inventory: each part once, through INVENTORY_MESSAGE_GROUP. */
interface ToTheInventory {
  readonly inventory: InventoryStamp;
}

export type SnapshotInput = SnapshotListing & (ThroughLiveGroups | ToTheInventory);

/** One item is larger than a part can hold: sending it would fail at SQS, leaving it out would lie about completeness. */
export class SnapshotItemTooLargeError extends Error {
  override name = 'SnapshotItemTooLargeError';
}

export function itemId(resourceType: ResourceType, item: unknown): string {
  return assetId(resourceType, item) ?? '(no id)';
}

export interface SnapshotParts {
  /** How many parts the listing takes (n in "part i of n"). */
  readonly count: number;
  /**
   * The messages, parts 1..n in order, each part once per group. Built as they are taken, so a large listing holds
   * one part's bodies at a time beside its items, not every body of every group.
   */
  messages(): Generator<SnapshotMessage>;
}

/** Cuts the listing into parts that fit an SQS message. An empty listing is one empty part. */
export function snapshotParts(input: SnapshotInput): SnapshotParts {
  const groups = 'inventory' in input ? [INVENTORY_MESSAGE_GROUP] : input.groups;
  if (groups.length === 0) throw new Error('a snapshot needs at least one message group');
  const maxPartBytes = input.maxPartBytes ?? MAX_PART_BYTES;
  const itemsJson = input.items.map((item) => JSON.stringify(item));
  // The envelope's size with the widest values it can take: part numbers up to 6 digits, the longest group name.
  const envelopeBytes = Math.max(
    ...groups.map((group) => Buffer.byteLength(envelope(input, input.newId(), group, 999_999, 999_999, []))),
  );

  // Where each part starts in itemsJson; the parts themselves are sliced when their messages are built.
  const starts = [0];
  let currentBytes = envelopeBytes;
  for (const [index, json] of itemsJson.entries()) {
    const bytes = Buffer.byteLength(json);
    if (envelopeBytes + bytes > maxPartBytes) {
      throw new SnapshotItemTooLargeError(
        `${input.resourceType} ${itemId(input.resourceType, input.items[index])} is ${bytes} bytes as JSON, more than a snapshot part holds (${maxPartBytes - envelopeBytes})`,
      );
    }
    const first = index === starts[starts.length - 1];
    if (!first && currentBytes + 1 + bytes > maxPartBytes) {
      starts.push(index);
      currentBytes = envelopeBytes;
    }
    currentBytes += bytes + (index === starts[starts.length - 1] ? 0 : 1);
  }
  const count = starts.length;

  function* messages(): Generator<SnapshotMessage> {
    for (const [index, start] of starts.entries()) {
      const part = itemsJson.slice(start, starts[index + 1] ?? itemsJson.length);
      for (const group of groups) {
        const id = input.newId();
        const body = envelope(input, id, group, index + 1, count, part);
        // Cannot happen with the envelope measured above; checked so that a mistake fails here, not at SQS.
        if (Buffer.byteLength(body) > maxPartBytes) throw new Error(`snapshot part ${index + 1} exceeds ${maxPartBytes} bytes`);
        yield { id, groupId: group, body };
      }
    }
  }
  return { count, messages };
}

/** Every message of the snapshot at once: for tests and small listings. */
export function snapshotMessages(input: SnapshotInput): SnapshotMessage[] {
  return [...snapshotParts(input).messages()];
}

function envelope(input: SnapshotInput, id: string, group: string, part: number, parts: number, itemsJson: string[]): string {
  const detail: AssetSnapshotDetail = {
    snapshotId: input.snapshotId,
    resourceType: input.resourceType,
    part,
    parts,
    // Every part of every snapshot lists its type completely: a listing that fails is not sent at all.
    complete: true,
    ...('inventory' in input
      ? { observedAt: input.inventory.observedAt, types: input.inventory.types }
      : { group, groups: input.groups }),
    items: [],
  };
  const event = {
    version: '0',
    id,
    'detail-type': SNAPSHOT_DETAIL_TYPE,
    source: SNAPSHOT_SOURCE,
    account: input.account,
    time: input.time,
    region: input.region,
    resources: input.resources,
    detail,
  };
  // `items` is the last member of `detail`, itself the last member: splice the items in without serializing them again.
  const json = JSON.stringify(event);
  return `${json.slice(0, -'[]}}'.length)}[${itemsJson.join(',')}]}}`;
}
