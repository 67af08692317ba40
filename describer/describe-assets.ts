/*
 * Describes one account's assets of one type in a region, as few calls as EC2 allows: every id that changed in the
 * batch in one call (chunked only at 1,000 ids), or the whole paginated listing when an event changed something it
 * does not name. EC2 fails a describe by ids whole when one id is unknown (`InvalidInstanceID.NotFound` and its kin,
 * naming the ids) or malformed (`.Malformed`): those ids are taken out and the rest is asked again.
 */
import { DescribeInstancesCommand, DescribeSubnetsCommand, DescribeVpcsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { type AssetType, assetId } from '../lambda/inventory-events.ts';
import { listAssets } from '../reconcile/list-assets.ts';

/**
 * EC2 documents no cap on the ids of DescribeInstances, DescribeVpcs or DescribeSubnets; 1,000 is the cap it
 * documents for instance-id lists elsewhere (TerminateInstances, DescribeInstanceCreditSpecifications) and the most
 * one of its describe pages holds.
 */
export const MAX_IDS_PER_CALL = 1000;

/** One answer of EC2 (or one chunk's answers), ready for an Asset State event. */
export interface Observation {
  readonly items: readonly unknown[];
  /** Asked for and unknown to EC2: EC2 named them in a NotFound error, or left them out of its answer. */
  readonly notFound: readonly string[];
  /** Refused by EC2 as malformed: not ids of this type at all. */
  readonly malformed: readonly string[];
  /** When EC2 answered (the first answer of the chunk: later answers only understate, never overstate, freshness). */
  readonly observedAt: string;
}

const ERROR_CODES: Readonly<Record<AssetType, { readonly notFound: string; readonly malformed: string }>> = {
  instance: { notFound: 'InvalidInstanceID.NotFound', malformed: 'InvalidInstanceID.Malformed' },
  vpc: { notFound: 'InvalidVpcID.NotFound', malformed: 'InvalidVpcID.Malformed' },
  subnet: { notFound: 'InvalidSubnetID.NotFound', malformed: 'InvalidSubnetID.Malformed' },
};

export async function describeByIds(
  ec2: EC2Client,
  type: AssetType,
  ids: readonly string[],
  now: () => Date = () => new Date(),
): Promise<Observation[]> {
  const observations: Observation[] = [];
  for (let start = 0; start < ids.length; start += MAX_IDS_PER_CALL) {
    observations.push(await describeChunk(ec2, type, ids.slice(start, start + MAX_IDS_PER_CALL), now));
  }
  return observations;
}

/**
 * The whole listing (paginated); `named` ids missing from it are not found. Observed when the listing began: its
 * pages are answered over time, and an earlier time never overstates how fresh an item is.
 */
export async function describeAll(
  ec2: EC2Client,
  type: AssetType,
  named: readonly string[],
  now: () => Date = () => new Date(),
): Promise<Observation> {
  const observedAt = now().toISOString();
  const items = await listAssets(ec2, type);
  const listed = new Set(items.map((item) => assetId(type, item)));
  return { items, notFound: named.filter((id) => !listed.has(id)), malformed: [], observedAt };
}

async function describeChunk(ec2: EC2Client, type: AssetType, ids: readonly string[], now: () => Date): Promise<Observation> {
  const items: unknown[] = [];
  const notFound: string[] = [];
  const malformed: string[] = [];
  let observedAt: string | undefined;
  const toAsk: string[][] = [[...ids]];
  while (toAsk.length > 0) {
    const asked = toAsk.shift() ?? [];
    try {
      const answer = await describeCall(ec2, type, asked);
      observedAt ??= now().toISOString();
      items.push(...answer);
      const returned = new Set(answer.map((item) => assetId(type, item)));
      notFound.push(...asked.filter((id) => !returned.has(id)));
    } catch (error) {
      observedAt ??= now().toISOString();
      const name = (error as Error | undefined)?.name;
      const codes = ERROR_CODES[type];
      if (name !== codes.notFound && name !== codes.malformed) throw error;
      const named = namedIds((error as Error).message, asked);
      if (named.length === 0 && asked.length > 1) {
        // EC2 named none of them in a form this code reads: halve until each half answers or names its id.
        const half = Math.ceil(asked.length / 2);
        toAsk.unshift(asked.slice(0, half), asked.slice(half));
        continue;
      }
      const refused = named.length === 0 ? asked : named;
      (name === codes.notFound ? notFound : malformed).push(...refused);
      const rest = asked.filter((id) => !refused.includes(id));
      if (rest.length > 0) toAsk.unshift(rest);
    }
  }
  return { items, notFound, malformed, observedAt: observedAt ?? now().toISOString() };
}

/** One describe by ids (following NextToken, which EC2 does not send for id lists, should it ever). */
async function describeCall(ec2: EC2Client, type: AssetType, ids: string[]): Promise<unknown[]> {
  const items: unknown[] = [];
  let NextToken: string | undefined;
  do {
    if (type === 'instance') {
      const page = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids, NextToken }));
      for (const reservation of page.Reservations ?? []) items.push(...(reservation.Instances ?? []));
      NextToken = page.NextToken;
    } else if (type === 'vpc') {
      const page = await ec2.send(new DescribeVpcsCommand({ VpcIds: ids, NextToken }));
      items.push(...(page.Vpcs ?? []));
      NextToken = page.NextToken;
    } else {
      const page = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ids, NextToken }));
      items.push(...(page.Subnets ?? []));
      NextToken = page.NextToken;
    }
  } while (NextToken);
  return items;
}

/**
 * The asked ids an EC2 error message names. The forms: `The instance IDs 'i-1, i-2' do not exist`,
 * `The vpc ID 'vpc-1' does not exist`, `Invalid id: "i-123" (expecting "i-...")`.
 */
export function namedIds(message: string, asked: readonly string[]): string[] {
  const tokens = new Set(message.split(/[\s'",]+/));
  return asked.filter((id) => tokens.has(id));
}
