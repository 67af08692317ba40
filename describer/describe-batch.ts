/*
 * One batch of live events -> fresh descriptions -> Asset State events, and which records SQS must deliver again.
 *
 * Per account and region: indirect ids are resolved to instances first; then every instance that changed is
 * described in one call, then the subnets whose free addresses changed with them (launches, terminations) together
 * with the subnets and VPCs that changed themselves, one call per type. What cannot be known now is not guessed:
 * a record whose describe failed, or whose just-created asset EC2 does not know yet (eventual consistency), is
 * failed so that SQS delivers it again.
 */
import { randomUUID } from 'node:crypto';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SQSRecord } from 'aws-lambda';
import { ASSET_TYPES, type AssetType, assetId } from '../lambda/inventory-events.ts';
import type { Logger } from '../lambda/log.ts';
import { type CallCounts, countingInto } from './call-counter.ts';
import { describeAll, describeByIds, type Observation } from './describe-assets.ts';
import { type EventReferences, eventReferences } from './references.ts';
import { type Resolved, resolveIndirect } from './resolve-indirect.ts';
import type { StateSender } from './send-states.ts';
import { type StateEvent, stateEvents } from './state-events.ts';

export interface DescribeBatchOptions {
  /** The function's own account: events of other accounts are skipped (each member describes its own). */
  readonly account: string;
  /** The EC2 client of a region, kept for the container (adaptive retry state lives in it). */
  readonly ec2For: (region: string) => EC2Client;
  readonly sender: StateSender;
  /** `resources` of the Asset State events: the describer's function ARN. */
  readonly functionArn: string;
  readonly notFoundGraceMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

export interface DescribeSummary {
  readonly events: number;
  readonly otherAccounts: number;
  /** Events that name no instance, VPC or subnet (tag changes of other resources, failed calls...). */
  readonly ignored: number;
  /** Descriptions EC2 returned, per type. */
  readonly assets: Readonly<Record<AssetType, number>>;
  readonly notFound: number;
  readonly calls: number;
  readonly throttles: number;
  /** Asset State events sent. */
  readonly sent: number;
  /** Records SQS delivers again. */
  readonly failed: number;
}

export interface BatchResult {
  readonly failedMessageIds: readonly string[];
  readonly summary: DescribeSummary;
}

interface Entry {
  readonly record: SQSRecord;
  readonly refs: EventReferences;
}

/** What one account and region needs described, and the entries that need each type. */
interface Wanted {
  readonly ids: Set<string>;
  all: boolean;
  readonly entries: Set<Entry>;
}

interface Batch {
  readonly options: DescribeBatchOptions;
  readonly now: () => Date;
  /** Entries SQS must deliver again, with why. */
  readonly failed: Map<Entry, string>;
  readonly events: StateEvent[];
  readonly assets: Record<AssetType, number>;
  notFound: number;
}

export async function describeBatch(records: readonly SQSRecord[], options: DescribeBatchOptions): Promise<BatchResult> {
  const now = options.now ?? (() => new Date());
  const counts: CallCounts = { calls: 0, throttles: 0 };
  const batch: Batch = { options, now, failed: new Map(), events: [], assets: { instance: 0, vpc: 0, subnet: 0 }, notFound: 0 };
  const badRecords: string[] = [];
  const otherAccounts: Entry[] = [];
  const ignored: Entry[] = [];
  const kept: Entry[] = [];
  for (const record of records) {
    const event = parseEvent(record.body);
    if (event === undefined) {
      badRecords.push(record.messageId);
      options.logger.error('record failed: the body is not an EventBridge event (a JSON object)', {
        messageId: record.messageId,
      });
      continue;
    }
    const entry = { record, refs: eventReferences(event) };
    if (entry.refs.account !== options.account) otherAccounts.push(entry);
    else if (entry.refs.ignored !== undefined || entry.refs.region === '') ignored.push(entry);
    else kept.push(entry);
  }
  const scopes = Map.groupBy(kept, (entry) => `${entry.refs.account}/${entry.refs.region}`);
  if (otherAccounts.length > 0) {
    options.logger.warn('events of other accounts skipped: each member account describes its own', {
      count: otherAccounts.length,
      accounts: [...new Set(otherAccounts.map((entry) => entry.refs.account))],
    });
  }
  if (ignored.length > 0) {
    options.logger.info('events naming no instance, VPC or subnet', {
      count: ignored.length,
      reasons: [...new Set(ignored.map((entry) => entry.refs.ignored ?? 'the event names no region'))].slice(0, 10),
    });
  }

  await countingInto(counts, async () => {
    for (const entries of scopes.values()) await describeScope(entries, batch);
  });

  let sent = 0;
  if (batch.events.length > 0) {
    try {
      await options.sender.send(batch.events);
      sent = batch.events.length;
    } catch (error) {
      options.logger.error('Asset State events not sent; their records are retried', { events: batch.events.length, error });
      for (const entry of kept) if (!batch.failed.has(entry)) batch.failed.set(entry, 'not sent');
    }
  }
  if (batch.failed.size > 0) {
    const reasons: Record<string, number> = {};
    for (const reason of batch.failed.values()) reasons[reason] = (reasons[reason] ?? 0) + 1;
    options.logger.warn('records retried', { count: batch.failed.size, reasons });
  }
  const failedMessageIds = [...badRecords, ...[...batch.failed.keys()].map((entry) => entry.record.messageId)];
  return {
    failedMessageIds,
    summary: {
      events: records.length,
      otherAccounts: otherAccounts.length,
      ignored: ignored.length,
      assets: batch.assets,
      notFound: batch.notFound,
      calls: counts.calls,
      throttles: counts.throttles,
      sent,
      failed: failedMessageIds.length,
    },
  };
}

async function describeScope(entries: readonly Entry[], batch: Batch): Promise<void> {
  const { options } = batch;
  const first = entries[0];
  if (first === undefined) return;
  const { account, region } = first.refs;
  const ec2 = options.ec2For(region);
  const wanted = Object.fromEntries(
    ASSET_TYPES.map((type) => [type, { ids: new Set(), all: false, entries: new Set() }]),
  ) as Record<AssetType, Wanted>;
  const want = (type: AssetType, entry: Entry, id?: string) => {
    wanted[type].entries.add(entry);
    if (id !== undefined) wanted[type].ids.add(id);
  };

  const resolved = await resolve(ec2, entries, batch);
  /** Per entry, the instances it names, directly or through an interface, volume or association. */
  const instancesOf = new Map<Entry, string[]>();
  // One log line per reference that no longer resolves, however many events of the batch name it.
  const unresolved = new Set<string>();
  for (const entry of entries) {
    if (batch.failed.has(entry)) continue;
    for (const asset of entry.refs.assets) want(asset.type, entry, asset.id);
    for (const type of entry.refs.listAll) {
      want(type, entry);
      wanted[type].all = true;
    }
    const instances = entry.refs.assets.filter((asset) => asset.type === 'instance').map((asset) => asset.id);
    for (const ref of entry.refs.indirect) {
      const found = resolved.get(ref.id);
      if (found === undefined) {
        // It no longer resolves (the association or attachment is gone): the instance it named is unknown, and the
        // describer keeps no memory of it (no storage), so every instance of the account in the region is described.
        if (!unresolved.has(ref.id)) {
          options.logger.info('a reference no longer resolves: describing every instance of the region', {
            account,
            region,
            id: ref.id,
          });
        }
        unresolved.add(ref.id);
        want('instance', entry);
        wanted.instance.all = true;
        continue;
      }
      for (const instanceId of found.instanceIds) want('instance', entry, instanceId);
      instances.push(...found.instanceIds);
      if (entry.refs.changesSubnetAddresses && found.subnetId !== undefined) want('subnet', entry, found.subnetId);
    }
    instancesOf.set(entry, instances);
  }

  const instanceObservations = await describeType(ec2, 'instance', wanted.instance, batch, account, region);
  // Launches and terminations take or give back their subnet's addresses: describe those subnets too. A terminated
  // instance no longer says which subnet it was in; then every subnet of the region is described.
  const described = new Map(
    instanceObservations.flatMap((observation) =>
      observation.items.map((item) => [assetId('instance', item), item as { SubnetId?: string }]),
    ),
  );
  for (const [entry, instanceIds] of instancesOf) {
    if (!entry.refs.changesSubnetAddresses || batch.failed.has(entry)) continue;
    for (const instanceId of instanceIds) {
      const item = described.get(instanceId);
      if (item === undefined) continue;
      want('subnet', entry, item.SubnetId);
      if (item.SubnetId === undefined) wanted.subnet.all = true;
    }
  }
  for (const type of ['subnet', 'vpc'] as const) await describeType(ec2, type, wanted[type], batch, account, region);
}

/** Indirect ids of the scope resolved in one go; when EC2 cannot be asked, the entries that need them fail. */
async function resolve(ec2: EC2Client, entries: readonly Entry[], batch: Batch): Promise<Map<string, Resolved>> {
  const needing = entries.filter((entry) => entry.refs.indirect.length > 0);
  if (needing.length === 0) return new Map();
  try {
    return await resolveIndirect(
      ec2,
      needing.flatMap((entry) => entry.refs.indirect),
    );
  } catch (error) {
    batch.options.logger.error('indirect references not resolved; their records are retried', { error });
    for (const entry of needing) batch.failed.set(entry, 'not resolved');
    return new Map();
  }
}

/** Describes one type for the scope and turns the answers into Asset State events; returns the observations. */
async function describeType(
  ec2: EC2Client,
  type: AssetType,
  wanted: Wanted,
  batch: Batch,
  account: string,
  region: string,
): Promise<Observation[]> {
  const { options, now } = batch;
  const entries = [...wanted.entries].filter((entry) => !batch.failed.has(entry));
  if (entries.length === 0 || (!wanted.all && wanted.ids.size === 0)) return [];
  let observations: Observation[];
  try {
    const ids = [...wanted.ids];
    observations = wanted.all ? [await describeAll(ec2, type, ids, now)] : await describeByIds(ec2, type, ids, now);
  } catch (error) {
    options.logger.error('describe failed; its records are retried', { account, region, resourceType: type, error });
    for (const entry of entries) batch.failed.set(entry, `describe ${type} failed`);
    return [];
  }
  const pendingCreates = youngCreates(entries, options.notFoundGraceMs, now());
  for (const observation of observations) {
    if (observation.malformed.length > 0) {
      options.logger.warn('malformed ids dropped', { account, region, resourceType: type, ids: observation.malformed });
    }
    const notFound = observation.notFound.filter((id) => {
      const creators = pendingCreates.get(id);
      if (creators === undefined) return true;
      // Created seconds ago: EC2 may not know it yet. Not a deletion: SQS delivers its create again.
      for (const entry of creators) batch.failed.set(entry, `${type} created, not known to EC2 yet`);
      return false;
    });
    const waiting = observation.notFound.filter((id) => pendingCreates.has(id));
    if (waiting.length > 0) {
      options.logger.info('just created, not known to EC2 yet: retried, not reported as not found', {
        account,
        region,
        resourceType: type,
        ids: waiting,
      });
    }
    batch.assets[type] += observation.items.length;
    batch.notFound += notFound.length;
    if (observation.items.length === 0 && notFound.length === 0) continue;
    batch.events.push(
      ...stateEvents(
        {
          account,
          region,
          resourceType: type,
          observedAt: observation.observedAt,
          items: observation.items,
          notFound,
          eventTime: earliestTime(entries),
        },
        {
          time: now()
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z'),
          resources: [options.functionArn],
          newId: options.newId ?? randomUUID,
        },
      ),
    );
  }
  return observations;
}

/**
 * Per id, the entries that created it less than the grace ago; not an id that another event of the batch names
 * without creating it (a deletion right after the create: the latest word on it is not a create).
 */
function youngCreates(entries: readonly Entry[], graceMs: number, now: Date): Map<string, Entry[]> {
  const creators = new Map<string, Entry[]>();
  const namedOtherwise = new Set<string>();
  for (const entry of entries) {
    for (const asset of entry.refs.assets) if (!entry.refs.creates.includes(asset.id)) namedOtherwise.add(asset.id);
    const time = Date.parse(entry.refs.time ?? '');
    if (Number.isNaN(time) || now.getTime() - time >= graceMs) continue;
    for (const id of entry.refs.creates) creators.set(id, [...(creators.get(id) ?? []), entry]);
  }
  for (const id of namedOtherwise) creators.delete(id);
  return creators;
}

function earliestTime(entries: readonly Entry[]): string | undefined {
  let earliest: { text: string; ms: number } | undefined;
  for (const entry of entries) {
    const ms = Date.parse(entry.refs.time ?? '');
    if (!Number.isNaN(ms) && (earliest === undefined || ms < earliest.ms)) earliest = { text: entry.refs.time ?? '', ms };
  }
  return earliest?.text;
}

function parseEvent(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
