import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { checkBoolean, SettingsError } from './problems.ts';
import { type RegionalSettings, readRegionalSettings, splitList } from './region-settings.ts';
import {
  type InventoryOptionProps,
  type ManagementEventsSyncProps,
  type RuleProps,
  syncPropsProblems,
  type Unchecked,
} from './sync-props.ts';
import { closestKey } from './unknown-context.ts';

/*
 * The app's context, turned into the constructs' props: keys and props share their names, so the props' own checks
 * report context problems in the user's words. Only what context alone has (regions, IDs of existing resources, per
 * region settings) is checked here.
 */

/** Receives before an event is dead-lettered, deployed and local alike. */
export { DEFAULT_MAX_RECEIVE_COUNT } from '../lambda/retry-delay.ts';
export type { RegionalSettings, VpcPlacement } from './region-settings.ts';

/** Context keys the app reads; each is documented in the README. */
export const CONTEXT_KEYS = [
  'regions',
  'consumer',
  'redisUrl',
  'redisAuthSecretArn',
  'redisSecretKmsKeyArn',
  'regionSettings',
  'organizationId',
  'accounts',
  'centralAccount',
  'vpcId',
  'subnetIds',
  'securityGroupIds',
  'createVpcEndpoints',
  'topicPrefix',
  'requireSubscriber',
  'alarmEmail',
  'logRetentionDays',
  'maxReceiveCount',
  'functionTimeoutSeconds',
  'memorySize',
  'oldestMessageAlarmSeconds',
  'apiCallRule',
  'resourceTypes',
  'reconcileSchedule',
  'archiveRetentionDays',
  'streamRetentionHours',
  'redisCluster',
  'redisMaxIdleSeconds',
  'inventory',
  'inventoryTombstoneHours',
  'inventoryFeedBytesPerSecond',
  'assetTopicPrefix',
  'memberAssetsBucketPrefix',
  'dashboard',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];
export type ContextReader = (key: string) => unknown;

export class ContextError extends SettingsError {
  override name = 'ContextError';
  constructor(problems: readonly string[]) {
    super('invalid context (-c key=value or cdk.json)', problems);
  }
}

/** What every region's stack is built from. */
export interface AppSettings {
  readonly regions: readonly string[];
  /** The props all regions share, checked. */
  readonly sync: ManagementEventsSyncProps;
  /** Each region's Redis, secret and network: the top-level keys unless regionSettings overrides them. */
  readonly regional: Readonly<Record<string, RegionalSettings>>;
}

export interface ReadOptions {
  /**
   * False when the CDK CLI runs a command that never deploys the template (`cdk ls`, `cdk destroy`): then a missing
   * redisUrl is no problem. See app.ts.
   */
  readonly redisUrlRequired?: boolean;
}

/** Every region of every partition that the installed aws-cdk-lib knows. */
const KNOWN_REGIONS: readonly string[] = RegionInfo.regions.map((region) => region.name);

/** Why `region` is not a region this aws-cdk-lib knows (npm start's --region too), or undefined when it is one. */
export function regionProblem(region: string): string | undefined {
  if (KNOWN_REGIONS.includes(region)) return undefined;
  const suggestion = closestKey(region, KNOWN_REGIONS);
  return `"${region}" is not an AWS region${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}; one launched after this aws-cdk-lib needs a newer aws-cdk-lib`;
}

/**
 * Values from -c arrive as strings, values from cdk.json as JSON: both become the props' types where they parse
 * ("true", "8"), and stay as given where they do not, for the props' checks to name them.
 */
export function contextValues(read: ContextReader) {
  const text = (key: ContextKey): string | undefined => {
    const value = read(key);
    if (value === undefined || value === null) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };
  const list = (key: ContextKey): string[] | undefined => {
    const value = read(key);
    const items = Array.isArray(value)
      ? value.map((item) => String(item).trim()).filter((item) => item !== '')
      : splitList(text(key) ?? '');
    return items.length === 0 ? undefined : items;
  };
  const bool = (key: ContextKey): boolean | string | undefined => {
    const value = text(key)?.toLowerCase();
    return value === 'true' || value === 'false' ? value === 'true' : value;
  };
  const number = (key: ContextKey): number | string | undefined => {
    const value = text(key);
    return value === undefined || Number.isNaN(Number(value)) ? value : Number(value);
  };
  return { text, list, bool, number };
}

/** `apiCallRule` and `resourceTypes`: central and member stacks deploy the same rules. */
export function ruleContext(read: ContextReader): Unchecked<RuleProps> {
  const { bool, list } = contextValues(read);
  return { apiCallRule: bool('apiCallRule'), resourceTypes: list('resourceTypes') };
}

/** `inventory` and `reconcileSchedule`: member stacks describe and reconcile their own account too. */
export function inventoryContext(read: ContextReader): Unchecked<InventoryOptionProps> {
  const { bool, text } = contextValues(read);
  const schedule = text('reconcileSchedule');
  return {
    inventory: bool('inventory'),
    reconcileSchedule: schedule === undefined ? undefined : scheduler.ScheduleExpression.expression(schedule),
  };
}

/**
 * Reads and checks the context of the central stacks; every problem is reported in one error, after the `earlier`
 * ones (unknown keys).
 */
export function readSettings(read: ContextReader, options: ReadOptions = {}, earlier: readonly string[] = []): AppSettings {
  const problems = [...earlier];
  const { text, list, bool, number } = contextValues(read);

  const regions = list('regions') ?? [];
  if (regions.length === 0) problems.push('regions is required: a comma-separated list such as us-east-1,eu-west-1');
  for (const problem of regions.map(regionProblem)) if (problem !== undefined) problems.push(`regions: ${problem}`);
  if (new Set(regions).size !== regions.length) problems.push('regions lists a region twice');

  const consumer = text('consumer');
  if (text('memberAssetsBucketPrefix') !== undefined) {
    problems.push('memberAssetsBucketPrefix is a member setting: it goes with centralAccount and inventory');
  }
  const createVpcEndpoints = bool('createVpcEndpoints');
  checkBoolean(problems, 'createVpcEndpoints', createVpcEndpoints);
  const regional = readRegionalSettings(
    {
      regions,
      global: {
        redisUrl: text('redisUrl'),
        redisAuthSecretArn: text('redisAuthSecretArn'),
        redisSecretKmsKeyArn: text('redisSecretKmsKeyArn'),
        vpcId: text('vpcId'),
        subnetIds: list('subnetIds') ?? [],
        securityGroupIds: list('securityGroupIds') ?? [],
        createVpcEndpoints: createVpcEndpoints === true,
      },
      regionSettings: read('regionSettings'),
      redisUrlUsed: consumer !== 'poller',
      redisUrlRequired: options.redisUrlRequired ?? true,
      suggest: closestKey,
    },
    problems,
  );

  const cluster = bool('redisCluster');
  // Each region's Redis, secret and network are checked above, with the region they belong to.
  const sync: Unchecked<ManagementEventsSyncProps> = {
    consumer,
    redisCluster: cluster === 'auto' ? undefined : cluster,
    redisMaxIdleSeconds: number('redisMaxIdleSeconds'),
    topicPrefix: text('topicPrefix'),
    requireSubscriber: bool('requireSubscriber'),
    streamRetentionHours: number('streamRetentionHours'),
    alarmEmail: text('alarmEmail'),
    logRetentionDays: number('logRetentionDays'),
    maxReceiveCount: number('maxReceiveCount'),
    functionTimeoutSeconds: number('functionTimeoutSeconds'),
    memorySize: number('memorySize'),
    oldestMessageAlarmSeconds: number('oldestMessageAlarmSeconds'),
    ...ruleContext(read),
    organizationId: text('organizationId'),
    accounts: list('accounts'),
    ...inventoryContext(read),
    archiveRetentionDays: number('archiveRetentionDays'),
    inventoryTombstoneHours: number('inventoryTombstoneHours'),
    inventoryFeedBytesPerSecond: number('inventoryFeedBytesPerSecond'),
    assetTopicPrefix: text('assetTopicPrefix'),
    dashboard: bool('dashboard'),
  };
  problems.push(...syncPropsProblems(sync, { redisUrlRequired: false }));
  if (problems.length > 0) throw new ContextError(problems);
  return { regions, sync: sync as ManagementEventsSyncProps, regional };
}
