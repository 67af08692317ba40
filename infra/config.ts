import { isRedisUrl, redisUrlHasCredentials } from '../lambda/config.ts';
import { SUPPORTED_RESOURCE_TYPES } from './rules.ts';
import { scheduleExpressionProblem } from './schedule-expression.ts';

export type Consumer = 'lambda' | 'poller';

/** Receives before an event is dead-lettered, deployed and local alike. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

export interface VpcPlacement {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** Interface endpoints for Secrets Manager and STS, for subnets without a NAT route. */
  readonly createVpcEndpoints: boolean;
}

export interface StackSettings {
  readonly regions: readonly string[];
  readonly consumer: Consumer;
  /** Required with `consumer=lambda`. Never with credentials: those come from `redisAuthSecretArn`. */
  readonly redisUrl: string | undefined;
  readonly redisAuthSecretArn: string | undefined;
  readonly vpc: VpcPlacement | undefined;
  readonly topicPrefix: string;
  readonly requireSubscriber: boolean;
  readonly alarmEmail: string | undefined;
  readonly logRetentionDays: number;
  readonly maxReceiveCount: number;
  readonly functionTimeoutSeconds: number;
  readonly memorySize: number;
  /** Age of the oldest queued event that raises the alarm. */
  readonly oldestMessageAlarmSeconds: number;
  /** The CloudTrail API-call rule (create, change, delete of VPCs, subnets, instances); needs a trail. */
  readonly apiCallRule: boolean;
  /** Tag changes forwarded: `all` (the seed's unfiltered rule) or these EC2 resource types. */
  readonly resourceTypes: 'all' | readonly string[];
  /** EventBridge Scheduler expression of the reconcile snapshots; none without it. */
  readonly reconcileSchedule: string | undefined;
  /** Days the EventBridge archive of the rules' events keeps them; no archive without it. */
  readonly archiveRetentionDays: number | undefined;
  /** Notes for the operator that do not stop synth (e.g. a low maxReceiveCount). */
  readonly warnings: readonly string[];
}

/** Context keys the app reads; each is documented in the README. */
export const CONTEXT_KEYS = [
  'regions',
  'consumer',
  'redisUrl',
  'redisAuthSecretArn',
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
] as const;

export type ContextReader = (key: (typeof CONTEXT_KEYS)[number]) => unknown;

export class ContextError extends Error {
  override name = 'ContextError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid context (-c key=value or cdk.json):\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

const REGION = /^(us|eu|ap|sa|ca|me|af|il|mx)(-gov)?-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Reads and validates the context; every problem is reported in one error. */
export function readSettings(read: ContextReader): StackSettings {
  const problems: string[] = [];
  const warnings: string[] = [];
  const text = (key: (typeof CONTEXT_KEYS)[number]): string | undefined => {
    const value = read(key);
    if (value === undefined || value === null) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };
  const list = (key: (typeof CONTEXT_KEYS)[number]): string[] => {
    const value = read(key);
    const items = Array.isArray(value) ? value.map(String) : (text(key)?.split(',') ?? []);
    return items.map((item) => item.trim()).filter((item) => item !== '');
  };
  // Values from -c arrive as strings, values from cdk.json as JSON: both are accepted.
  const bool = (key: (typeof CONTEXT_KEYS)[number], fallback: boolean): boolean => {
    const value = text(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === 'false') return value === 'true';
    problems.push(`${key} must be true or false, got "${value}"`);
    return fallback;
  };
  const integer = (key: (typeof CONTEXT_KEYS)[number], fallback: number, min: number, max: number): number => {
    const value = text(key);
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      problems.push(`${key} must be a whole number from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return number;
  };

  const regions = list('regions');
  if (regions.length === 0) problems.push('regions is required: a comma-separated list such as us-east-1,eu-west-1');
  for (const region of regions) if (!REGION.test(region)) problems.push(`regions: "${region}" is not an AWS region code`);
  if (new Set(regions).size !== regions.length) problems.push('regions lists a region twice');

  const consumerText = text('consumer') ?? 'lambda';
  if (consumerText !== 'lambda' && consumerText !== 'poller') {
    problems.push(`consumer must be lambda or poller, got "${consumerText}"`);
  }
  const consumer: Consumer = consumerText === 'poller' ? 'poller' : 'lambda';

  const redisUrl = text('redisUrl');
  if (consumer === 'lambda') {
    if (redisUrl === undefined) {
      problems.push('redisUrl is required (-c redisUrl=rediss://host:6379), unless consumer=poller');
    } else if (!isRedisUrl(redisUrl)) {
      problems.push('redisUrl must be a redis:// or rediss:// URL with a host');
    } else if (redisUrlHasCredentials(redisUrl)) {
      problems.push(
        'redisUrl carries a user or password, which would be stored in the template in clear text: put the password in a Secrets Manager secret and pass its ARN as redisAuthSecretArn',
      );
    }
  }

  const redisAuthSecretArn = text('redisAuthSecretArn');
  if (redisAuthSecretArn !== undefined && !SECRET_ARN.test(redisAuthSecretArn)) {
    problems.push('redisAuthSecretArn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name)');
  }

  const vpcId = text('vpcId');
  const subnetIds = list('subnetIds');
  const securityGroupIds = list('securityGroupIds');
  const createVpcEndpoints = bool('createVpcEndpoints', false);
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) problems.push(`vpcId "${vpcId}" is not a VPC ID (vpc-...)`);
  if (vpcId === undefined && (subnetIds.length > 0 || securityGroupIds.length > 0 || createVpcEndpoints)) {
    problems.push('subnetIds, securityGroupIds and createVpcEndpoints need vpcId');
  }
  if (vpcId !== undefined && subnetIds.length === 0)
    problems.push('vpcId needs subnetIds (the private subnets the function runs in)');
  for (const id of subnetIds) if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) problems.push(`subnetIds: "${id}" is not a subnet ID`);
  for (const id of securityGroupIds)
    if (!/^sg-[0-9a-f]{8,17}$/.test(id)) problems.push(`securityGroupIds: "${id}" is not a security group ID`);
  if (vpcId !== undefined && regions.length > 1) {
    problems.push('vpcId names one VPC, which lives in one region: deploy one region at a time with VPC placement');
  }

  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    problems.push(`alarmEmail "${alarmEmail}" is not an email address`);
  }

  const topicPrefix = text('topicPrefix') ?? 'topic-account-management-events-';
  if (/\s/.test(topicPrefix)) problems.push('topicPrefix must contain no white space');

  const logRetentionDays = integer('logRetentionDays', 30, 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  }
  const maxReceiveCount = integer('maxReceiveCount', DEFAULT_MAX_RECEIVE_COUNT, 1, 1000);
  if (maxReceiveCount < 5) {
    warnings.push(
      `maxReceiveCount=${maxReceiveCount}: a Redis outage longer than ${maxReceiveCount} visibility timeouts sends events to the dead-letter queue`,
    );
  }
  const functionTimeoutSeconds = integer('functionTimeoutSeconds', 10, 5, 120);
  const memorySize = integer('memorySize', 256, 128, 10240);
  const oldestMessageAlarmSeconds = integer('oldestMessageAlarmSeconds', 600, 60, 1_209_600);

  const requireSubscriber = bool('requireSubscriber', false);

  const apiCallRule = bool('apiCallRule', true);
  const resourceTypes = readResourceTypes(list('resourceTypes'), problems);
  const reconcileSchedule = text('reconcileSchedule');
  const scheduleProblem = reconcileSchedule === undefined ? undefined : scheduleExpressionProblem(reconcileSchedule);
  if (scheduleProblem !== undefined) problems.push(`reconcileSchedule ${scheduleProblem}`);
  const archiveRetentionDays =
    text('archiveRetentionDays') === undefined ? undefined : integer('archiveRetentionDays', 1, 1, 3650);

  if (problems.length > 0) throw new ContextError(problems);
  return {
    regions,
    consumer,
    redisUrl: consumer === 'lambda' ? redisUrl : undefined,
    redisAuthSecretArn,
    vpc: vpcId === undefined ? undefined : { vpcId, subnetIds, securityGroupIds, createVpcEndpoints },
    topicPrefix,
    requireSubscriber,
    alarmEmail,
    logRetentionDays,
    maxReceiveCount,
    functionTimeoutSeconds,
    memorySize,
    oldestMessageAlarmSeconds,
    apiCallRule,
    resourceTypes,
    reconcileSchedule,
    archiveRetentionDays,
    warnings,
  };
}

/** `all`, or a list of supported types (default: all three); unknown, repeated or mixed with `all` is a problem. */
function readResourceTypes(items: readonly string[], problems: string[]): 'all' | readonly string[] {
  if (items.length === 0) return SUPPORTED_RESOURCE_TYPES;
  const supported: readonly string[] = SUPPORTED_RESOURCE_TYPES;
  if (items.includes('all')) {
    if (items.length > 1) problems.push('resourceTypes: "all" stands alone (every resource type), not in a list');
    return 'all';
  }
  for (const item of items) {
    if (!supported.includes(item)) {
      problems.push(`resourceTypes: "${item}" is not one of ${supported.join(', ')} (or all, for every tag change)`);
    }
  }
  if (new Set(items).size !== items.length) problems.push('resourceTypes lists a type twice');
  return items;
}
