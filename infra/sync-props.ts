import { Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import {
  CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM,
  DEFAULT_ASSET_TOPIC_PREFIX,
  DEFAULT_INVENTORY_FEED_BYTES_PER_SECOND,
  DEFAULT_INVENTORY_TOMBSTONE_HOURS,
  DEFAULT_TOPIC_PREFIX,
  MAX_INVENTORY_TOMBSTONE_HOURS,
  MAX_STREAM_RETENTION_HOURS,
  MIN_FUNCTION_TIMEOUT_SECONDS,
} from '../lambda/config.ts';
import { DEFAULT_MAX_RECEIVE_COUNT, outageCoveredSeconds, QUEUE_RETENTION_SECONDS } from '../lambda/retry-delay.ts';
import {
  EVENT_PATTERN_SIZE_QUOTA,
  eventPatternSize,
  mostAccountsWithin,
  RULES_PER_BUS_QUOTA,
  rulesPerAccount,
} from './account-rules.ts';
import { ACCOUNT_ID, checkBoolean, checkEmail, checkWholeNumber, redisUrlProblem } from './problems.ts';
import { secretRegion } from './region-settings.ts';
import { type ResourceType, type RuleDefinition, SUPPORTED_RESOURCE_TYPES } from './rules.ts';
import { scheduleExpressionProblem } from './schedule-expression.ts';

export type Consumer = 'lambda' | 'poller';

/** Which rules a region gets: the sync construct and the member forwarder read the same props. */
export interface RuleProps {
  /**
   * The `management-events-api-calls` rule: successful EC2 API calls that create, change or delete VPCs, subnets
   * and instances, through CloudTrail (it needs a trail in the account; an organization trail counts).
   * @default true
   */
  readonly apiCallRule?: boolean;
  /**
   * The EC2 resource types whose tag changes are forwarded, or `'all'`: every tag change in the account (the seed's
   * unfiltered rule).
   * @default ['instance', 'vpc', 'subnet']
   */
  readonly resourceTypes?: 'all' | readonly ResourceType[];
}

/** Where the alarms go. */
export interface AlarmProps {
  /**
   * Your topic for every alarm (alarm and OK actions). Its access policy must let `cloudwatch.amazonaws.com`
   * publish (SNS's default policy does; a policy of your own, such as enforceSSL's, replaces it), and an encrypted
   * topic's key must let CloudWatch use it.
   * @default - none, unless alarmEmail creates one
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * An address that gets every alarm: a topic encrypted with a customer-managed key, TLS-only, that CloudWatch may
   * publish to and use the key of, and an email subscription are created. Not with `alarmTopic`: subscribe the address to your topic instead.
   * @default - no email
   */
  readonly alarmEmail?: string;
}

/** The inventory and its healing: the sync construct and the member forwarder read the same props. */
export interface InventoryOptionProps {
  /**
   * The inventory (docs/inventory.md): every instance, VPC and subnet kept in Redis as EC2 describes it. The rules
   * also feed a describe queue, read by a describer function (outside any VPC) that describes what changed and sends
   * the descriptions to the FIFO queue, or, in a member account, to the central account's default bus.
   * @default false
   */
  readonly inventory?: boolean;
  /**
   * When to send reconcile snapshots of the region's instances, VPCs and subnets: through the queue, or with the
   * inventory to it (in a member account, which needs `inventory`: to the central bus).
   * @default - no reconcile function
   */
  readonly reconcileSchedule?: scheduler.ScheduleExpression;
}

/** One region's setup. Every setting is optional but `redisUrl` (with the default consumer). */
export interface ManagementEventsSyncProps extends RuleProps, AlarmProps, InventoryOptionProps {
  /**
   * Who consumes the queue: `'lambda'`, the sync function; `'poller'`, the one-file poller you run next to Redis
   * (for a Redis that Lambda cannot reach): queues, rules, alarms and a managed policy for the poller, no function.
   * @default 'lambda'
   */
  readonly consumer?: Consumer;
  /**
   * The Redis endpoint, `redis://host:port` or `rediss://host:port` (TLS), without user or password (the template
   * would hold them in clear text: use `redisAuthSecret`). A cache your stack defines can be given by its
   * endpoint's tokens, such as `` `rediss://${cache.attrEndpointAddress}:${cache.attrEndpointPort}` ``.
   * Required with the `'lambda'` consumer.
   * @default - none
   */
  readonly redisUrl?: string;
  /**
   * The Redis password, or JSON `{"username": "...", "password": "..."}`. The function reads it at cold start and
   * again once after Redis refuses it (rotation); it may read this secret only, and decrypt it with the secret's
   * `encryptionKey` (when it has one) only through Secrets Manager. With the poller, its policy allows the same.
   * @default - no AUTH
   */
  readonly redisAuthSecret?: secretsmanager.ISecret;
  /**
   * `true`: a cluster-aware client from the start; `false`: never; unset: detected from `INFO` (REDIS_CLUSTER).
   * @default - detected
   */
  readonly redisCluster?: boolean;
  /**
   * A Redis connection idle longer than this is replaced before use, since a NAT gateway or Lambda's network
   * interface forgets idle flows after 350 s (REDIS_MAX_IDLE_SECONDS, 0-3600; synth warns above 340). 0 never
   * replaces it.
   * @default 300
   */
  readonly redisMaxIdleSeconds?: number;
  /**
   * The channel is this prefix and the event's account.
   * @default 'topic-account-management-events-'
   */
  readonly topicPrefix?: string;
  /**
   * A PUBLISH that reached nobody fails the record, so SQS keeps the event until a subscriber is back. Not with
   * `redisCluster: true`: PUBLISH counts only one node's subscribers there.
   * @default false
   */
  readonly requireSubscriber?: boolean;
  /**
   * Hours (1-8760) each account's durable stream keeps what was published, for consumers that were away.
   * @default - no stream, pub/sub only
   */
  readonly streamRetentionHours?: number;
  /**
   * The VPC the function runs in (that of the cache: ElastiCache answers only inside its VPC).
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The function's subnets in `vpc`; the interface endpoints go there too.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The function's security groups; the cache must allow inbound TCP 6379 from them.
   * @default - one with all outbound allowed, its ID in the output FunctionSecurityGroupId
   */
  readonly securityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * Interface endpoints for Secrets Manager, STS and SQS in `vpcSubnets`, for subnets without a NAT route; only the
   * function's security groups may connect to them. Their private DNS takes those services' names over for the whole
   * VPC, and a VPC that has such an endpoint already cannot take another: only for a VPC of the function's own, or
   * one without these endpoints (synth warns; docs/deploying.md).
   * @default false
   */
  readonly createVpcEndpoints?: boolean;
  /**
   * The function's timeout (5-120 s); the queue's visibility timeout is six times this.
   * @default 10
   */
  readonly functionTimeoutSeconds?: number;
  /**
   * The function's memory, in MB (128-10240).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetentionDays?: logs.RetentionDays;
  /**
   * Receives before SQS moves an event to the dead-letter queue (1-1000). With the function's backoff, the default
   * outlasts the queue's 4-day retention, so an outage dead-letters nothing; synth warns when a lower value does not.
   * @default 1000
   */
  readonly maxReceiveCount?: number;
  /**
   * Age (60-1209600 s) of the oldest queued event that raises the alarm.
   * @default 600
   */
  readonly oldestMessageAlarmSeconds?: number;
  /**
   * Per-account message groups: one rule per listed account and kind (and the shared rule for every other account),
   * so one account's poison event holds back only its own group. Each costs rules (300 per bus by default).
   * @default - one group per rule, shared by all accounts
   */
  readonly accounts?: readonly string[];
  /**
   * An AWS Organizations ID (`o-...`): the default bus accepts events that member accounts forward.
   * @default - no bus policy
   */
  readonly organizationId?: string;
  /**
   * Days (1-3650) an EventBridge archive keeps what the rules match, for replay after a long outage.
   * @default - no archive
   */
  readonly archiveRetentionDays?: number;
  /**
   * Hours (1-8760) a deleted asset's record stays in the inventory as a tombstone, so that a late message cannot
   * bring it back (INVENTORY_TOMBSTONE_HOURS).
   * @default 24
   */
  readonly inventoryTombstoneHours?: number;
  /**
   * The inventory's change feed is published no faster than this, on average, by everything writing to the Redis
   * (INVENTORY_FEED_BYTES_PER_SECOND): a subscriber that reads this fast is never dropped by Redis. 0: unpaced.
   * @default 1000000
   */
  readonly inventoryFeedBytesPerSecond?: number;
  /**
   * The inventory's change feed goes to this prefix and the account (ASSET_TOPIC_PREFIX); not `topicPrefix`.
   * @default 'topic-account-asset-changes-'
   */
  readonly assetTopicPrefix?: string;
  /**
   * The CloudWatch dashboard `management-events-<region>`: the alarms, the rules, the queue and its dead-letter
   * queues, the consumer, the publishes and the end-to-end lag.
   * @default true
   */
  readonly dashboard?: boolean;
}

/** The value of every optional setting that has one: the construct and the app read them here. */
export const SYNC_DEFAULTS = {
  consumer: 'lambda' as Consumer,
  redisMaxIdleSeconds: 300,
  topicPrefix: DEFAULT_TOPIC_PREFIX,
  requireSubscriber: false,
  createVpcEndpoints: false,
  functionTimeoutSeconds: 10,
  memorySize: 256,
  logRetentionDays: 30 as logs.RetentionDays,
  maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
  oldestMessageAlarmSeconds: 600,
  apiCallRule: true,
  resourceTypes: SUPPORTED_RESOURCE_TYPES as readonly ResourceType[],
  inventory: false,
  inventoryTombstoneHours: DEFAULT_INVENTORY_TOMBSTONE_HOURS,
  inventoryFeedBytesPerSecond: DEFAULT_INVENTORY_FEED_BYTES_PER_SECOND,
  assetTopicPrefix: DEFAULT_ASSET_TOPIC_PREFIX,
  dashboard: true,
} as const;

type Defaulted = keyof typeof SYNC_DEFAULTS;

/** The props with every default filled in: what the construct builds from. */
export type ResolvedSyncProps = Omit<ManagementEventsSyncProps, Defaulted> & {
  readonly [K in Defaulted]-?: NonNullable<ManagementEventsSyncProps[K]>;
};

export function withSyncDefaults(props: ManagementEventsSyncProps): ResolvedSyncProps {
  const resolved: Record<string, unknown> = { ...props };
  for (const [key, value] of Object.entries(SYNC_DEFAULTS)) resolved[key] ??= value;
  return resolved as ResolvedSyncProps;
}

/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/** Props as they may arrive: from JavaScript, or parsed from context strings, any value may have any type. */
export type Unchecked<T> = { readonly [K in keyof T]?: unknown };

export interface SyncCheckOptions {
  /** False where the template is never deployed (`cdk ls`, `cdk destroy`): then a missing redisUrl is no problem. */
  readonly redisUrlRequired: boolean;
}

/** Every problem of these props, one line each, in a stable order. */
export function syncPropsProblems(props: Unchecked<ManagementEventsSyncProps>, options: SyncCheckOptions): string[] {
  const problems: string[] = [];
  const { consumer = SYNC_DEFAULTS.consumer, redisUrl } = props;
  if (consumer !== 'lambda' && consumer !== 'poller')
    problems.push(`consumer must be lambda or poller, got "${String(consumer)}"`);
  if (consumer === 'lambda') {
    if (redisUrl === undefined) {
      if (options.redisUrlRequired) problems.push("redisUrl is required, unless consumer is 'poller'");
    } else {
      const problem = typeof redisUrl === 'string' ? redisUrlProblem(redisUrl, 'it as redisAuthSecret') : 'must be a string';
      if (problem !== undefined) problems.push(`redisUrl ${problem}`);
    }
  }
  const { redisCluster, requireSubscriber, topicPrefix } = props;
  if (redisCluster !== undefined && typeof redisCluster !== 'boolean') {
    problems.push(`redisCluster must be true or false, or unset to detect it (auto), got "${String(redisCluster)}"`);
  }
  checkBoolean(problems, 'requireSubscriber', requireSubscriber);
  // PUBLISH counts only one node's subscribers in a cluster: the function refuses it too, but synth says it first.
  if (redisCluster === true && requireSubscriber === true) {
    problems.push(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM.replace('REQUIRE_SUBSCRIBER', 'requireSubscriber'));
  }
  for (const [key, prefix] of [
    ['topicPrefix', topicPrefix],
    ['assetTopicPrefix', props.assetTopicPrefix],
  ] as const) {
    // As the function checks TOPIC_PREFIX and ASSET_TOPIC_PREFIX: it would refuse every record otherwise.
    if (
      prefix !== undefined &&
      !Token.isUnresolved(prefix) &&
      (typeof prefix !== 'string' || prefix.trim() === '' || /\s/.test(prefix))
    ) {
      problems.push(`${key} must be non-empty and contain no white space`);
    }
  }
  // The change feed and the raw events are different messages: one channel for both would mix them.
  if ((props.assetTopicPrefix ?? SYNC_DEFAULTS.assetTopicPrefix) === (topicPrefix ?? SYNC_DEFAULTS.topicPrefix)) {
    problems.push('assetTopicPrefix must differ from topicPrefix: the change feed and the raw events are different messages');
  }
  checkWholeNumber(problems, 'redisMaxIdleSeconds', props.redisMaxIdleSeconds, 0, 3600);
  checkWholeNumber(problems, 'streamRetentionHours', props.streamRetentionHours, 1, MAX_STREAM_RETENTION_HOURS);
  if (
    props.vpc === undefined &&
    (props.vpcSubnets !== undefined || props.securityGroups !== undefined || props.createVpcEndpoints)
  ) {
    problems.push('vpcSubnets, securityGroups and createVpcEndpoints need vpc');
  }
  checkBoolean(problems, 'createVpcEndpoints', props.createVpcEndpoints);
  problems.push(...alarmPropsProblems(props));
  checkWholeNumber(problems, 'logRetentionDays', props.logRetentionDays, 1, 3653);
  const { logRetentionDays } = props;
  if (typeof logRetentionDays === 'number' && Number.isInteger(logRetentionDays) && !RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  }
  checkWholeNumber(problems, 'maxReceiveCount', props.maxReceiveCount, 1, 1000);
  // Less cannot fit the function's waits (connect, script) and its own answer: see MIN_FUNCTION_TIMEOUT_SECONDS.
  checkWholeNumber(problems, 'functionTimeoutSeconds', props.functionTimeoutSeconds, MIN_FUNCTION_TIMEOUT_SECONDS, 120);
  checkWholeNumber(problems, 'memorySize', props.memorySize, 128, 10240);
  checkWholeNumber(problems, 'oldestMessageAlarmSeconds', props.oldestMessageAlarmSeconds, 60, 1_209_600);
  problems.push(...rulePropsProblems(props));
  const { organizationId, accounts } = props;
  if (organizationId !== undefined && !Token.isUnresolved(organizationId)) {
    if (typeof organizationId !== 'string' || !ORGANIZATION_ID.test(organizationId)) {
      problems.push(
        `organizationId "${String(organizationId)}" is not an AWS Organizations ID (o- and 10 to 32 lowercase letters or digits)`,
      );
    }
  }
  if (accounts !== undefined) {
    const list = Array.isArray(accounts) ? (accounts as unknown[]) : [accounts];
    for (const account of list) {
      if (typeof account !== 'string' || !ACCOUNT_ID.test(account)) {
        problems.push(`accounts: "${String(account)}" is not a 12-digit AWS account ID`);
      }
    }
    if (new Set(list).size !== list.length) problems.push('accounts lists an account twice');
  }
  problems.push(...inventoryOptionProblems(props));
  checkWholeNumber(problems, 'archiveRetentionDays', props.archiveRetentionDays, 1, 3650);
  checkWholeNumber(problems, 'inventoryTombstoneHours', props.inventoryTombstoneHours, 1, MAX_INVENTORY_TOMBSTONE_HOURS);
  checkWholeNumber(problems, 'inventoryFeedBytesPerSecond', props.inventoryFeedBytesPerSecond, 0, 1_000_000_000);
  checkBoolean(problems, 'dashboard', props.dashboard);
  return problems;
}

/** `inventory` and `reconcileSchedule`. */
export function inventoryOptionProblems(props: Unchecked<InventoryOptionProps>): string[] {
  const problems: string[] = [];
  checkBoolean(problems, 'inventory', props.inventory);
  const schedule = props.reconcileSchedule as scheduler.ScheduleExpression | undefined;
  if (schedule !== undefined && !Token.isUnresolved(schedule.expressionString)) {
    const problem = scheduleExpressionProblem(schedule.expressionString);
    if (problem !== undefined) problems.push(`reconcileSchedule ${problem}`);
  }
  return problems;
}

/**
 * A note that does not stop synth, under an ID of its own: a team that has weighed it can acknowledge that one
 * (`Annotations.of(scope).acknowledgeWarning(id)`) and keep the others.
 */
export interface SettingsWarning {
  readonly id: string;
  readonly message: string;
}

/**
 * Above this, a connection kept idle outlives what the path to Redis remembers: a NAT gateway and the network
 * interface of a Lambda function in a VPC forget a TCP flow idle for 350 s (10 s of margin for timers and clocks).
 */
export const REDIS_MAX_IDLE_WARNING_SECONDS = 340;

/**
 * Notes that do not stop synth. `ruleKinds`: the rule table before per-account rules; `region`: the stack's (a token
 * when environment-agnostic).
 */
export function syncPropsWarnings(
  props: ManagementEventsSyncProps,
  ruleKinds: readonly RuleDefinition[],
  region: string,
): SettingsWarning[] {
  const warnings: SettingsWarning[] = [];
  const warn = (id: string, message: string) => warnings.push({ id: `sync:${id}`, message });
  const maxReceiveCount = props.maxReceiveCount ?? SYNC_DEFAULTS.maxReceiveCount;
  const covered = outageCoveredSeconds(maxReceiveCount);
  if (covered < QUEUE_RETENTION_SECONDS) {
    warn(
      'max-receive-count',
      `maxReceiveCount=${maxReceiveCount}: the function's retries cover a Redis outage of ${duration(covered)}, and the queue keeps events ${duration(QUEUE_RETENTION_SECONDS)}: a longer outage sends events to the dead-letter queue (the default, ${SYNC_DEFAULTS.maxReceiveCount}, covers the whole retention)`,
    );
  }
  const accounts = props.accounts ?? [];
  const rules = rulesPerAccount(ruleKinds, accounts);
  if (rules.length > RULES_PER_BUS_QUOTA) {
    warn(
      'rules-per-bus',
      `accounts: ${rules.length} rules on the default bus exceed EventBridge's default quota of ${RULES_PER_BUS_QUOTA} rules per bus: raise it in Service Quotas before deploying`,
    );
  }
  const oversized = rules.filter((rule) => eventPatternSize(rule) > EVENT_PATTERN_SIZE_QUOTA);
  if (oversized.length > 0) {
    const sizes = oversized.map((rule) => `${rule.name} ${eventPatternSize(rule).toLocaleString('en-US')}`).join(', ');
    warn(
      'event-pattern-size',
      `accounts: with ${accounts.length} accounts the event pattern of the shared rules outgrows EventBridge's default quota "Event pattern size" of ${EVENT_PATTERN_SIZE_QUOTA.toLocaleString('en-US')} characters (${sizes}): list at most ${mostAccountsWithin(ruleKinds, EVENT_PATTERN_SIZE_QUOTA)} accounts, or raise the quota in Service Quotas before deploying`,
    );
  }
  const inventory = props.inventory ?? SYNC_DEFAULTS.inventory;
  if (!inventory) {
    for (const [key] of INVENTORY_KEYS) {
      if (props[key] !== undefined) warn('inventory-setting-unused', `${key} has no effect without inventory`);
    }
  }
  warnings.push(...inventoryOptionWarnings(props));
  // Settings of the function that consumer=poller does not deploy: each said, none ignored in silence.
  if ((props.consumer ?? SYNC_DEFAULTS.consumer) === 'poller') {
    if (inventory) {
      warn(
        'poller-inventory',
        "inventory deploys the describer, whose descriptions the poller applies: set INVENTORY=true in the poller's environment",
      );
    }
    for (const [keys, instead] of POLLER_IGNORES) {
      const given = keys.filter((key) => props[key] !== undefined);
      if (given.length === 0) continue;
      warn(
        'poller-ignores',
        `${given.join(', ')} ${given.length === 1 ? 'configures' : 'configure'} the sync function, which consumer=poller does not deploy: ${instead}`,
      );
    }
    return warnings;
  }
  const maxIdle = props.redisMaxIdleSeconds ?? SYNC_DEFAULTS.redisMaxIdleSeconds;
  if (maxIdle > REDIS_MAX_IDLE_WARNING_SECONDS) {
    warn(
      'redis-max-idle',
      `redisMaxIdleSeconds=${maxIdle}: a NAT gateway and Lambda's network interface forget a connection idle for 350 s, so the first call after such a pause goes into a dead connection, times out and its batch is retried: keep it at most ${REDIS_MAX_IDLE_WARNING_SECONDS} (the default is ${SYNC_DEFAULTS.redisMaxIdleSeconds})`,
    );
  }
  if (props.createVpcEndpoints) {
    warn(
      'vpc-endpoints-private-dns',
      "createVpcEndpoints: the Secrets Manager, STS and SQS endpoints take over those services' names for the whole VPC (private DNS) and admit only the function's security groups, so every other workload in the VPC that calls them is refused, and the deploy fails where the VPC already has such an endpoint: use it only in a VPC of the function's own or one without these endpoints, otherwise allow the function's security group on the existing endpoints (docs/deploying.md)",
    );
    const secretArn = props.redisAuthSecret?.secretArn;
    const secretIn = secretArn === undefined || Token.isUnresolved(secretArn) ? undefined : secretRegion(secretArn);
    if (secretIn !== undefined && !Token.isUnresolved(region) && secretIn !== region) {
      warn(
        'secret-region',
        `the Redis secret is in ${secretIn} but the function runs in ${region} behind createVpcEndpoints, whose Secrets Manager endpoint serves ${region} only: without a NAT route the function cannot read the secret and every record fails; replicate the secret to ${region} and give that ARN, or give the subnets a NAT route`,
      );
    }
  }
  return warnings;
}

/**
 * `inventory` without `reconcileSchedule` (without a snapshot the inventory never learns of an asset that no event
 * names after the deploy), and a reconcile so frequent that its runs overlap: the sync construct and the member
 * forwarder say the same.
 */
export function inventoryOptionWarnings(props: InventoryOptionProps): SettingsWarning[] {
  const warnings: SettingsWarning[] = [];
  const expression = props.reconcileSchedule?.expressionString;
  const rate = expression === undefined || Token.isUnresolved(expression) ? null : /^rate\((\d+) minutes?\)$/.exec(expression);
  if (rate !== null && Number(rate[1]) < RECONCILE_MIN_MINUTES) {
    warnings.push({
      id: 'reconcile:frequent',
      message: `reconcileSchedule ${expression}: each run lists every instance, VPC and subnet of the region and may take up to 5 minutes, so runs closer than ${RECONCILE_MIN_MINUTES} minutes overlap and spend the account's EC2 Describe* request budget that the describer and others share; reconcile heals what events missed, which rate(1 hour) to rate(6 hours) does (docs/reconcile.md)`,
    });
  }
  if (props.inventory === true && props.reconcileSchedule === undefined) {
    warnings.push({
      id: 'inventory:without-reconcile',
      message:
        "inventory without reconcileSchedule: the inventory holds only the assets that events touch after the deploy, never those that nothing changes, and keeps what events miss; add reconcileSchedule (such as -c reconcileSchedule='rate(6 hours)') for every asset from the first snapshot on (docs/inventory.md)",
    });
  }
  return warnings;
}

/** Three times the reconcile function's 5-minute timeout: runs further apart do not overlap. */
const RECONCILE_MIN_MINUTES = 15;

/** The sync function's inventory settings, and their variables. */
const INVENTORY_KEYS = [
  ['inventoryTombstoneHours', 'INVENTORY_TOMBSTONE_HOURS'],
  ['inventoryFeedBytesPerSecond', 'INVENTORY_FEED_BYTES_PER_SECOND'],
  ['assetTopicPrefix', 'ASSET_TOPIC_PREFIX'],
] as const;

/** The function's settings with consumer=poller, grouped, and what to do instead (context keys share the names). */
const POLLER_IGNORES: readonly (readonly [readonly (keyof ManagementEventsSyncProps)[], string])[] = [
  ...(
    [
      ['redisUrl', 'REDIS_URL'],
      ['streamRetentionHours', 'STREAM_RETENTION_HOURS'],
      ['redisCluster', 'REDIS_CLUSTER'],
      ['requireSubscriber', 'REQUIRE_SUBSCRIBER'],
      ['topicPrefix', 'TOPIC_PREFIX'],
      ['redisMaxIdleSeconds', 'REDIS_MAX_IDLE_SECONDS'],
      ...INVENTORY_KEYS,
    ] as const
  ).map(([key, variable]) => [[key], `set ${variable} in the poller's environment`] as const),
  [['memorySize'], 'the poller runs in your own process; it is ignored'],
  [
    ['vpc', 'vpcSubnets', 'securityGroups', 'createVpcEndpoints'],
    'the poller runs where you start it (context vpcId, subnetIds, securityGroupIds, createVpcEndpoints); they are ignored',
  ],
];

/** `apiCallRule` and `resourceTypes`. */
export function rulePropsProblems(props: Unchecked<RuleProps>): string[] {
  const problems: string[] = [];
  checkBoolean(problems, 'apiCallRule', props.apiCallRule);
  resourceTypesOf(props.resourceTypes, problems);
  return problems;
}

/** `alarmEmail` and `alarmTopic`. */
export function alarmPropsProblems(props: Unchecked<AlarmProps>): string[] {
  const problems: string[] = [];
  checkEmail(problems, 'alarmEmail', props.alarmEmail);
  if (props.alarmEmail !== undefined && props.alarmTopic !== undefined) {
    problems.push('alarmEmail and alarmTopic exclude each other: subscribe the address to your topic instead');
  }
  return problems;
}

/** The tag rule's types: `all`, or supported types (default: all three); unknown, repeated or mixed with `all` is a problem. */
export function resourceTypesOf(value: unknown, problems: string[]): 'all' | readonly ResourceType[] {
  if (value === undefined) return SYNC_DEFAULTS.resourceTypes;
  if (value === 'all') return 'all';
  if (!Array.isArray(value)) {
    problems.push(`resourceTypes must be "all" or a list of ${SUPPORTED_RESOURCE_TYPES.join(', ')}, got "${String(value)}"`);
    return SYNC_DEFAULTS.resourceTypes;
  }
  const items = value.map(String);
  if (items.length === 0) return SYNC_DEFAULTS.resourceTypes;
  if (items.includes('all')) {
    if (items.length > 1) problems.push('resourceTypes: "all" stands alone (every resource type), not in a list');
    return 'all';
  }
  const supported: readonly string[] = SUPPORTED_RESOURCE_TYPES;
  for (const item of items) {
    if (!supported.includes(item)) {
      problems.push(`resourceTypes: "${item}" is not one of ${supported.join(', ')} (or all, for every tag change)`);
    }
  }
  if (new Set(items).size !== items.length) problems.push('resourceTypes lists a type twice');
  return items as ResourceType[];
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} seconds`;
  if (seconds < 7200) return `about ${Math.round(seconds / 60)} minutes`;
  return `about ${Number((seconds / 3600).toFixed(1))} hours`;
}
