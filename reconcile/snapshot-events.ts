/*
 * A snapshot as EventBridge-shaped events: one resource type's complete listing, cut into parts that each fit in an
 * SQS message, every part sent once through each message group (see docs/reconcile.md for why every group).
 */
export const SNAPSHOT_SOURCE = 'assets.reconcile';
export const SNAPSHOT_DETAIL_TYPE = 'Asset Snapshot';

export const RESOURCE_TYPES = ['instance', 'vpc', 'subnet'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** SQS's message size limit that the sync function and EventBridge also live with (256 KiB of UTF-8 body). */
export const SQS_MAX_MESSAGE_BYTES = 262_144;
/** Parts stay this far under the limit: room for a part number that grows, and for SQS's own accounting. */
export const MAX_PART_BYTES = SQS_MAX_MESSAGE_BYTES - 16_384;

export interface SnapshotMessage {
  /** The event's `id`, also the SQS deduplication id: an SDK retry of the same send is not queued twice. */
  readonly id: string;
  readonly groupId: string;
  readonly body: string;
}

export interface SnapshotInput {
  readonly snapshotId: string;
  readonly account: string;
  readonly region: string;
  /** When the listing began: consumers compare it with the `time` of live events (docs/reconcile.md). */
  readonly time: string;
  /** EventBridge's `resources`: what produced the event (the reconcile function's ARN), not the listed assets. */
  readonly resources: readonly string[];
  readonly resourceType: ResourceType;
  readonly items: readonly unknown[];
  /** Message groups to send every part through; at least one. */
  readonly groups: readonly string[];
  readonly newId: () => string;
  readonly maxPartBytes?: number;
}

/** One item is larger than a part can hold: sending it would fail at SQS, leaving it out would lie about completeness. */
export class SnapshotItemTooLargeError extends Error {
  override name = 'SnapshotItemTooLargeError';
}

const ID_FIELDS: Record<ResourceType, string> = { instance: 'InstanceId', vpc: 'VpcId', subnet: 'SubnetId' };

export function itemId(resourceType: ResourceType, item: unknown): string {
  const value = (item as Record<string, unknown> | null)?.[ID_FIELDS[resourceType]];
  return typeof value === 'string' ? value : '(no id)';
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
  if (input.groups.length === 0) throw new Error('a snapshot needs at least one message group');
  const maxPartBytes = input.maxPartBytes ?? MAX_PART_BYTES;
  const itemsJson = input.items.map((item) => JSON.stringify(item));
  const longestGroup = input.groups.reduce((a, b) => (Buffer.byteLength(a) >= Buffer.byteLength(b) ? a : b));
  // The envelope's size with the widest values it can take: part numbers up to 6 digits, the longest group name.
  const envelopeBytes = Buffer.byteLength(envelope(input, input.newId(), longestGroup, 999_999, 999_999, []));

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
      for (const group of input.groups) {
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
  const event = {
    version: '0',
    id,
    'detail-type': SNAPSHOT_DETAIL_TYPE,
    source: SNAPSHOT_SOURCE,
    account: input.account,
    time: input.time,
    region: input.region,
    resources: input.resources,
    detail: {
      snapshotId: input.snapshotId,
      resourceType: input.resourceType,
      part,
      parts,
      // Every part of every snapshot lists its type completely: a listing that fails is not sent at all.
      complete: true,
      group,
      groups: input.groups,
      items: [],
    },
  };
  // `items` is the last member of `detail`, itself the last member: splice the items in without serializing them again.
  const json = JSON.stringify(event);
  return `${json.slice(0, -'[]}}'.length)}[${itemsJson.join(',')}]}}`;
}
