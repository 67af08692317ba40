import {
  CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM,
  MAX_STREAM_RETENTION_HOURS,
  MIN_FUNCTION_TIMEOUT_SECONDS,
} from '../lambda/config.ts';
import { readOrganization } from './organization-settings.ts';
import { type RegionalSettings, readRegionalSettings, splitList, type VpcPlacement } from './region-settings.ts';
import { SUPPORTED_RESOURCE_TYPES } from './rules.ts';
import { scheduleExpressionProblem } from './schedule-expression.ts';
import { closestKey } from './unknown-context.ts';

export type { RegionalSettings, VpcPlacement } from './region-settings.ts';

export type Consumer = 'lambda' | 'poller';

/** Receives before an event is dead-lettered, deployed and local alike. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

export interface StackSettings {
  readonly regions: readonly string[];
  readonly consumer: Consumer;
  /** Required with `consumer=lambda`. Never with credentials: those come from `redisAuthSecretArn`. */
  readonly redisUrl: string | undefined;
  readonly redisAuthSecretArn: string | undefined;
  /** Customer-managed KMS key of the secret: the function may decrypt with it via Secrets Manager only. */
  readonly redisSecretKmsKeyArn: string | undefined;
  readonly vpc: VpcPlacement | undefined;
  /** Each region's Redis, secret and network: the top-level values unless regionSettings overrides them. */
  readonly regional: Readonly<Record<string, RegionalSettings>>;
  /** Central account of an AWS Organization: its default buses accept events from the organization's accounts. */
  readonly organizationId: string | undefined;
  /** Accounts that get their own rules and message groups (per-account groups); empty for shared groups. */
  readonly accounts: readonly string[];
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
  /** Hours each account's durable stream keeps what was published (the function's STREAM_RETENTION_HOURS); none: pub/sub only. */
  readonly streamRetentionHours: number | undefined;
  /** The function's REDIS_CLUSTER: `auto` finds out from INFO. */
  readonly redisCluster: 'auto' | 'true' | 'false';
  /** Notes for the operator that do not stop synth (e.g. a low maxReceiveCount). */
  readonly warnings: readonly string[];
}

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
/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export interface ReadOptions {
  /**
   * False when the CDK CLI runs a command that never deploys the template (`cdk ls`, `cdk destroy`): then a missing
   * redisUrl is no problem. See app.ts.
   */
  readonly redisUrlRequired?: boolean;
}

/** Reads and validates the context; every problem is reported in one error. */
export function readSettings(read: ContextReader, options: ReadOptions = {}): StackSettings {
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
    return Array.isArray(value)
      ? value.map((item) => String(item).trim()).filter((item) => item !== '')
      : splitList(text(key) ?? '');
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

  const regional = readRegionalSettings(
    {
      regions,
      global: {
        redisUrl: text('redisUrl'),
        redisAuthSecretArn: text('redisAuthSecretArn'),
        redisSecretKmsKeyArn: text('redisSecretKmsKeyArn'),
        vpcId: text('vpcId'),
        subnetIds: list('subnetIds'),
        securityGroupIds: list('securityGroupIds'),
        createVpcEndpoints: bool('createVpcEndpoints', false),
      },
      regionSettings: read('regionSettings'),
      redisUrlUsed: consumer === 'lambda',
      redisUrlRequired: options.redisUrlRequired ?? true,
      suggest: closestKey,
    },
    problems,
  );
  const organization = readOrganization(read as (key: string) => unknown, problems);

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
  // Less cannot fit the function's waits (connect, script) and its own answer: see MIN_FUNCTION_TIMEOUT_SECONDS.
  const functionTimeoutSeconds = integer('functionTimeoutSeconds', 10, MIN_FUNCTION_TIMEOUT_SECONDS, 120);
  const memorySize = integer('memorySize', 256, 128, 10240);
  const oldestMessageAlarmSeconds = integer('oldestMessageAlarmSeconds', 600, 60, 1_209_600);

  const requireSubscriber = bool('requireSubscriber', false);

  const apiCallRule = bool('apiCallRule', true);
  const resourceTypes = readResourceTypes(list('resourceTypes'), problems);
  const reconcileSchedule = text('reconcileSchedule');
  const scheduleProblem = reconcileSchedule === undefined ? undefined : scheduleExpressionProblem(reconcileSchedule);
  if (scheduleProblem !== undefined) problems.push(`reconcileSchedule ${scheduleProblem}`);
  const streamRetentionHours =
    text('streamRetentionHours') === undefined ? undefined : integer('streamRetentionHours', 24, 1, MAX_STREAM_RETENTION_HOURS);
  const redisCluster = (text('redisCluster')?.toLowerCase() ?? 'auto') as StackSettings['redisCluster'];
  if (!['auto', 'true', 'false'].includes(redisCluster)) {
    problems.push(`redisCluster must be auto, true or false, got "${redisCluster}"`);
  }
  // PUBLISH counts only one node's subscribers in a cluster: the function refuses it too, but synth says it first.
  if (redisCluster === 'true' && requireSubscriber)
    problems.push(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM.replace('REQUIRE_SUBSCRIBER', 'requireSubscriber'));
  const archiveRetentionDays =
    text('archiveRetentionDays') === undefined ? undefined : integer('archiveRetentionDays', 1, 1, 3650);

  // With the poller these are the poller's environment, not the stack's: say so rather than ignore them.
  if (consumer === 'poller') {
    const functionOnly = [
      ['streamRetentionHours', 'STREAM_RETENTION_HOURS'],
      ['redisCluster', 'REDIS_CLUSTER'],
      ['requireSubscriber', 'REQUIRE_SUBSCRIBER'],
      ['topicPrefix', 'TOPIC_PREFIX'],
    ].filter(([key]) => text(key as (typeof CONTEXT_KEYS)[number]) !== undefined);
    for (const [key, variable] of functionOnly) {
      warnings.push(
        `${key} configures the sync function, which consumer=poller does not deploy: set ${variable} in the poller's environment`,
      );
    }
  }
  if (problems.length > 0) throw new ContextError(problems);
  return {
    regions,
    consumer,
    redisUrl: consumer === 'lambda' ? text('redisUrl') : undefined,
    redisAuthSecretArn: text('redisAuthSecretArn'),
    redisSecretKmsKeyArn: text('redisSecretKmsKeyArn'),
    vpc: regions.length === 1 ? regional[regions[0] as string]?.vpc : undefined,
    regional,
    ...organization,
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
    streamRetentionHours,
    redisCluster,
    warnings,
  };
}

/** `all`, or a list of supported types (default: all three); unknown, repeated or mixed with `all` is a problem. */
export function readResourceTypes(items: readonly string[], problems: string[]): 'all' | readonly string[] {
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

/** The settings one region's stack is built with: the top-level ones, with that region's Redis, secret and network. */
export function settingsForRegion(settings: StackSettings, region: string): StackSettings {
  const regional = settings.regional[region];
  return regional === undefined ? settings : { ...settings, ...regional };
}
