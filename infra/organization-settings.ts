import { SYNC_DEFAULTS } from './sync-props.ts';

/*
 * Context for member stacks (`centralAccount`): what may not be set there. Plain data, no CDK import.
 */

type Read = (key: string) => unknown;

function text(read: Read, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * Settings of the central stacks that mean nothing in a member account, with the value each has when not given
 * (cdk.json carries some of them with that value, so only a different value is refused).
 */
const CENTRAL_ONLY: Readonly<Record<string, string | undefined>> = {
  redisUrl: undefined,
  redisAuthSecretArn: undefined,
  redisSecretKmsKeyArn: undefined,
  regionSettings: undefined,
  vpcId: undefined,
  subnetIds: undefined,
  securityGroupIds: undefined,
  createVpcEndpoints: String(SYNC_DEFAULTS.createVpcEndpoints),
  consumer: SYNC_DEFAULTS.consumer,
  topicPrefix: undefined,
  requireSubscriber: String(SYNC_DEFAULTS.requireSubscriber),
  logRetentionDays: String(SYNC_DEFAULTS.logRetentionDays),
  maxReceiveCount: String(SYNC_DEFAULTS.maxReceiveCount),
  functionTimeoutSeconds: String(SYNC_DEFAULTS.functionTimeoutSeconds),
  memorySize: undefined,
  oldestMessageAlarmSeconds: undefined,
  organizationId: undefined,
  accounts: undefined,
  archiveRetentionDays: undefined,
  streamRetentionHours: undefined,
  redisCluster: undefined,
  redisMaxIdleSeconds: undefined,
  inventoryTombstoneHours: undefined,
  inventoryFeedBytesPerSecond: undefined,
  assetTopicPrefix: undefined,
};

/**
 * `centralAccount` makes member stacks: its value, or undefined for central stacks. Central-only settings are refused
 * rather than silently ignored.
 */
export function readCentralAccount(read: Read, problems: string[]): string | undefined {
  const centralAccount = text(read, 'centralAccount');
  if (centralAccount === undefined) return undefined;
  for (const [key, fallback] of Object.entries(CENTRAL_ONLY)) {
    const value = text(read, key);
    if (value === undefined || value === fallback) continue;
    problems.push(
      key === 'redisUrl'
        ? 'redisUrl is a central setting: with centralAccount this account only forwards its events to the central bus, and never talks to Redis'
        : `${key} is a central setting: with centralAccount the stack has no FIFO queue, sync function or Redis, only rules that forward to the central bus (and, with inventory, the describer and reconcile of this account)`,
    );
  }
  return centralAccount;
}

/**
 * `memberAssetsBucketPrefix`: where a StackSet's member accounts read the inventory's function code, the bucket
 * `<prefix>-<region>` (3 to 63 characters with the longest region name). Only for a member stack with the inventory.
 */
export function readMemberAssetsBucketPrefix(read: Read, inventory: boolean, problems: string[]): string | undefined {
  const prefix = text(read, 'memberAssetsBucketPrefix');
  if (prefix === undefined) return undefined;
  if (!inventory) problems.push('memberAssetsBucketPrefix needs inventory: without it the member template has no assets');
  if (!/^[a-z0-9][a-z0-9.-]{1,46}$/.test(prefix)) {
    problems.push(
      `memberAssetsBucketPrefix "${prefix}" is not the start of an S3 bucket name (2 to 47 lowercase letters, digits, dots and hyphens; "-<region>" is added)`,
    );
  }
  return prefix;
}
