/*
 * Context for AWS Organizations: central stacks (`organizationId`, `accounts`) and member stacks (`centralAccount`).
 * Plain data, no CDK import.
 */

type Read = (key: string) => unknown;

const ACCOUNT_ID = /^\d{12}$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

function text(read: Read, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

export interface OrganizationSettings {
  readonly organizationId: string | undefined;
  readonly accounts: readonly string[];
}

/** `organizationId` (central stacks) and `accounts` (per-account message groups). */
export function readOrganization(read: Read, problems: string[]): OrganizationSettings {
  const organizationId = text(read, 'organizationId');
  if (organizationId !== undefined && !ORGANIZATION_ID.test(organizationId)) {
    problems.push(
      `organizationId "${organizationId}" is not an AWS Organizations ID (o- and 10 to 32 lowercase letters or digits)`,
    );
  }
  const raw = read('accounts');
  const accounts = (Array.isArray(raw) ? raw.map(String) : (text(read, 'accounts')?.split(',') ?? []))
    .map((account) => account.trim())
    .filter((account) => account !== '');
  for (const account of accounts) {
    if (!ACCOUNT_ID.test(account)) problems.push(`accounts: "${account}" is not a 12-digit AWS account ID`);
  }
  if (new Set(accounts).size !== accounts.length) problems.push('accounts lists an account twice');
  return { organizationId, accounts };
}

export interface MemberSettings {
  /** The account whose default bus (same region) receives this account's events. */
  readonly centralAccount: string;
  readonly alarmEmail: string | undefined;
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
  createVpcEndpoints: 'false',
  consumer: 'lambda',
  topicPrefix: undefined,
  requireSubscriber: 'false',
  logRetentionDays: '30',
  maxReceiveCount: '5',
  functionTimeoutSeconds: '10',
  memorySize: undefined,
  oldestMessageAlarmSeconds: undefined,
  organizationId: undefined,
  accounts: undefined,
  reconcileSchedule: undefined,
  archiveRetentionDays: undefined,
  streamRetentionHours: undefined,
  redisCluster: undefined,
};

/** `centralAccount` makes member stacks; central-only settings are refused rather than silently ignored. */
export function readMemberSettings(read: Read, problems: string[]): MemberSettings | undefined {
  const centralAccount = text(read, 'centralAccount');
  if (centralAccount === undefined) return undefined;
  if (!ACCOUNT_ID.test(centralAccount)) {
    problems.push(`centralAccount "${centralAccount}" is not a 12-digit AWS account ID`);
  }
  for (const [key, fallback] of Object.entries(CENTRAL_ONLY)) {
    const value = text(read, key);
    if (value === undefined || value === fallback) continue;
    problems.push(
      key === 'redisUrl'
        ? 'redisUrl is a central setting: with centralAccount this account only forwards its events to the central bus, and never talks to Redis'
        : `${key} is a central setting: with centralAccount the stack has no queue, function or Redis, only rules that forward to the central bus`,
    );
  }
  const alarmEmail = text(read, 'alarmEmail');
  return { centralAccount, alarmEmail };
}
