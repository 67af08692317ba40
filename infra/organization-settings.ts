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
  reconcileSchedule: undefined,
  archiveRetentionDays: undefined,
  streamRetentionHours: undefined,
  redisCluster: undefined,
  redisMaxIdleSeconds: undefined,
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
        : `${key} is a central setting: with centralAccount the stack has no queue, function or Redis, only rules that forward to the central bus`,
    );
  }
  return centralAccount;
}
