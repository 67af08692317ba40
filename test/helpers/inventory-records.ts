import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import {
  type AssetType,
  INVENTORY_MESSAGE_GROUP,
  SNAPSHOT_DETAIL_TYPE,
  SNAPSHOT_SOURCE,
  STATE_DETAIL_TYPE,
  STATE_SOURCE,
} from '../../lambda/inventory-events.ts';
import { ACCOUNT, sqsRecord } from './records.ts';

export const REGION = 'us-east-1';
export const CHANGES = `topic-account-asset-changes-${ACCOUNT}`;
export const INVENTORY = `{management-events-sync}:inventory:${ACCOUNT}:${REGION}`;

/** An EC2 description as the describer sends it: the SDK's object through JSON (dates as ISO strings). */
export function asSent(item: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(item));
}

export interface StateSpec {
  readonly type: AssetType;
  readonly items?: readonly unknown[];
  readonly notFound?: readonly string[];
  readonly observedAt: Date | string;
  readonly account?: string;
  readonly region?: string;
}

/** An "Asset State" event as the describer sends it into the FIFO queue. */
export function assetState(spec: StateSpec): SQSRecord {
  const observedAt = typeof spec.observedAt === 'string' ? spec.observedAt : spec.observedAt.toISOString();
  const event = {
    version: '0',
    id: randomUUID(),
    'detail-type': STATE_DETAIL_TYPE,
    source: STATE_SOURCE,
    account: spec.account ?? ACCOUNT,
    time: observedAt.replace(/\.\d{3}Z$/, 'Z'),
    region: spec.region ?? REGION,
    resources: [],
    detail: { resourceType: spec.type, observedAt, items: (spec.items ?? []).map(asSent), notFound: spec.notFound ?? [] },
  };
  return sqsRecord({ body: JSON.stringify(event), group: INVENTORY_MESSAGE_GROUP });
}

export interface SnapshotSpec {
  readonly snapshotId: string;
  readonly type: AssetType;
  readonly part: number;
  readonly parts: number;
  readonly items: readonly unknown[];
  readonly observedAt: Date;
  readonly types?: readonly AssetType[];
  readonly account?: string;
  readonly region?: string;
}

/** One part of a reconcile snapshot as the reconcile function sends it with the inventory on. */
export function snapshotPart(spec: SnapshotSpec): SQSRecord {
  const event = {
    version: '0',
    id: randomUUID(),
    'detail-type': SNAPSHOT_DETAIL_TYPE,
    source: SNAPSHOT_SOURCE,
    account: spec.account ?? ACCOUNT,
    time: spec.observedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: spec.region ?? REGION,
    resources: [],
    detail: {
      snapshotId: spec.snapshotId,
      resourceType: spec.type,
      part: spec.part,
      parts: spec.parts,
      complete: true,
      observedAt: spec.observedAt.toISOString(),
      types: spec.types ?? [spec.type],
      items: spec.items.map(asSent),
    },
  };
  return sqsRecord({ body: JSON.stringify(event), group: INVENTORY_MESSAGE_GROUP });
}

/** Seconds from now, as a Date. */
export function at(offsetSeconds: number, from = Date.now()): Date {
  return new Date(from + offsetSeconds * 1000);
}
