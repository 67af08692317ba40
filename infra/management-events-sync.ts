import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { rulesPerAccount } from './account-rules.ts';
import { alarmAtOrAbove, alarmTopicFor, notify } from './alarms.ts';
import { RulesArchive } from './archive.ts';
import { toCdkEventPattern } from './cdk-event-pattern.ts';
import { POLLER_METRICS_FUNCTION_NAME, SyncDashboard } from './dashboard.ts';
import { standardDeadLetterQueue } from './dead-letter-queue.ts';
import { environmentSizeProblems, resourceCountProblems } from './deployment-limits.ts';
import { Inventory } from './inventory.ts';
import { memberInventoryRule } from './inventory-rule.ts';
import { allowOrganizationOnDefaultBus } from './organization-bus-policy.ts';
import { output } from './outputs.ts';
import { addPollerPolicy } from './poller-policy.ts';
import { PropsError } from './problems.ts';
import { Reconcile } from './reconcile.ts';
import { allowRulesByNamePrefix, fifoQueueTarget, type TargetDelivery } from './rule-targets.ts';
import { deadLetterQueueName, queueName, type RuleDefinition, selectRules } from './rules.ts';
import { addSyncFunction, publishAlarms } from './sync-function.ts';
import {
  type ManagementEventsSyncProps,
  type ResolvedSyncProps,
  resourceTypesOf,
  syncPropsProblems,
  syncPropsWarnings,
  withSyncDefaults,
} from './sync-props.ts';

/** Every rule of the setup has a name that starts so (the per-account grants rely on it). */
const RULE_NAME_PREFIX = 'management-events-';

/**
 * One region's whole setup, in the stack you place it in (one per region and account: the queue and rules keep the
 * seed's names). EventBridge rules on the default bus feed the FIFO queue `management-events-<region>.fifo`, which
 * the sync function (or the poller, `consumer: 'poller'`) publishes to Redis, in order per message group; dead-letter
 * queues, alarms and the opt-ins (reconcile snapshots, archive, stream mirror, organization bus policy, the inventory)
 * come with it. The props are checked at construction, every problem listed in one `PropsError`.
 */
export class ManagementEventsSync extends Construct {
  /** The FIFO queue the rules feed. */
  readonly queue: sqs.Queue;
  /** Events that failed maxReceiveCount times, and the records the function parks as poison (FIFO). */
  readonly deadLetterQueue: sqs.Queue;
  /** Events EventBridge could not deliver to the queue (a standard queue, as EventBridge requires). */
  readonly targetDeadLetterQueue: sqs.Queue;
  /** The rule table deployed: names, patterns and message groups, as plain data. */
  readonly ruleDefinitions: readonly RuleDefinition[];
  /** The rules on the default bus, in the table's order; another target may be added to each. */
  readonly rules: readonly events.Rule[];
  /** The sync function; none with `consumer: 'poller'`. */
  readonly syncFunction?: lambda.Function;
  /** The sync function's log group. */
  readonly functionLogGroup?: logs.LogGroup;
  /** What the poller needs (`consumer: 'poller'`): attach it where the poller runs. */
  readonly pollerPolicy?: iam.ManagedPolicy;
  /** The scheduled reconcile, with `reconcileSchedule`. */
  readonly reconcile?: Reconcile;
  /** The archive of the rules' events, with `archiveRetentionDays`. */
  readonly archive?: RulesArchive;
  /** The describe queue and the describer, with `inventory`. */
  readonly inventory?: Inventory;
  /** With `inventory` and `organizationId`: the rule that brings members' descriptions and snapshots to the queue. */
  readonly memberInventoryRule?: events.Rule;
  /** The region's CloudWatch dashboard (`dashboard`); `dashboard.addInventory()` adds the inventory's row. */
  readonly dashboard?: SyncDashboard;
  /** Where the alarms go: `alarmTopic`, or the topic created for `alarmEmail`. */
  readonly alarmTopic?: sns.ITopic;
  /** The settings in force: the props with every default filled in. */
  readonly settings: ResolvedSyncProps;
  private readonly allAlarms: cloudwatch.Alarm[] = [];
  private readonly perAccountRules: { readonly accounts: number; readonly rulesPerAccount: number };

  constructor(scope: Construct, id: string, props: ManagementEventsSyncProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // `cdk ls` and `cdk destroy` never deploy the template: a redisUrl is not needed there.
    const problems = syncPropsProblems(props, { redisUrlRequired: stack.bundlingRequired });
    if (problems.length > 0) throw new PropsError('ManagementEventsSync', problems);
    const settings = withSyncDefaults(props);
    this.settings = settings;
    const region = stack.region;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(region),
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: queueName(region),
      fifo: true,
      contentBasedDeduplication: true,
      // High throughput: EventBridge sends one SendMessage per event, and a queue outside this mode takes 300 calls a
      // second per action for all its groups together (docs/deploying.md, FIFO throughput).
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      // SQS-managed keys: with a KMS key CDK drops the aws:SourceArn condition from the EventBridge grant.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so a batch in flight is not handed out twice.
      visibilityTimeout: Duration.seconds(6 * settings.functionTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    this.targetDeadLetterQueue = standardDeadLetterQueue(
      this,
      'TargetDeadLetterQueue',
      `management-events-${region}-target-dlq`,
      'the EventBridge rule targets',
    );

    const accounts = settings.accounts ?? [];
    const ruleKinds = selectRules({
      apiCallRule: settings.apiCallRule,
      resourceTypes: resourceTypesOf(settings.resourceTypes, []),
    });
    this.ruleDefinitions = rulesPerAccount(ruleKinds, accounts);
    this.perAccountRules = { accounts: accounts.length, rulesPerAccount: ruleKinds.length };
    for (const { id, message } of syncPropsWarnings(props, ruleKinds, region)) Annotations.of(this).addWarningV2(id, message);
    const perAccount = accounts.length > 0;
    // Per-account rules outgrow a queue policy's 20 statements: then one statement covers every rule of the setup.
    if (perAccount) {
      allowRulesByNamePrefix(this.queue, RULE_NAME_PREFIX);
      allowRulesByNamePrefix(this.targetDeadLetterQueue, RULE_NAME_PREFIX);
    }
    const delivery = { deadLetterQueue: this.targetDeadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) };
    this.rules = this.addRules(this.ruleDefinitions, delivery, perAccount);
    if (settings.organizationId !== undefined) allowOrganizationOnDefaultBus(this, settings.organizationId);

    this.alarmTopic = alarmTopicFor(this, settings);
    this.addAlarm(
      alarmAtOrAbove(this, 'DeadLetterQueueAlarm', {
        // The consumer parks what can never be published at once; maxReceiveCount is only the last resort.
        description: `Records wait in ${deadLetterQueueName(region)}: parked on their first try (they can never be published), or given up after ${settings.maxReceiveCount} receives; see the dead-letter runbook in the README`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      }),
    );
    this.addAlarm(
      alarmAtOrAbove(this, 'TargetDeadLetterQueueAlarm', {
        description: `EventBridge could not deliver events to the FIFO queue${settings.inventory ? ' or the describe queue' : ''}; they wait in the target dead-letter queue`,
        metric: this.targetDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      }),
    );
    this.addAlarm(
      alarmAtOrAbove(this, 'OldestMessageAlarm', {
        description: `An event has waited over ${settings.oldestMessageAlarmSeconds} s in ${queueName(region)}: the consumer is down or a group is blocked`,
        metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: settings.oldestMessageAlarmSeconds,
        evaluationPeriods: 3,
      }),
    );

    output(this, 'QueueUrl', { value: this.queue.queueUrl, description: 'The FIFO queue the rules feed' });
    output(this, 'DeadLetterQueueUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: 'Events that failed maxReceiveCount times',
    });
    output(this, 'TargetDeadLetterQueueUrl', {
      value: this.targetDeadLetterQueue.queueUrl,
      description: 'Events EventBridge could not deliver to the queue',
    });

    let eventSourceMappingId: string | undefined;
    if (settings.consumer === 'lambda') {
      const parts = addSyncFunction(this, { region, queue: this.queue, deadLetterQueue: this.deadLetterQueue, settings });
      this.syncFunction = parts.function;
      eventSourceMappingId = parts.eventSourceMappingId;
      this.functionLogGroup = parts.logGroup;
      for (const alarm of parts.alarms) this.addAlarm(alarm);
    } else {
      output(this, 'PollerCommand', {
        value: `node poller.mjs --queue-url ${this.queue.queueUrl}`,
        description:
          'Run the poller next to Redis (consumer=poller): npm run build:poller writes dist/poller.mjs, one file for plain Node >= 22',
      });
      this.pollerPolicy = addPollerPolicy(this, {
        region,
        queue: this.queue,
        deadLetterQueue: this.deadLetterQueue,
        redisAuthSecret: settings.redisAuthSecret,
      });
      // The poller sends the function's metrics (FunctionName=poller): the same alarms watch them.
      for (const alarm of publishAlarms(this, POLLER_METRICS_FUNCTION_NAME)) this.addAlarm(alarm);
    }

    // Opt-in healing (docs/reconcile.md): both need only the queue and the rules, so they work with either consumer.
    if (settings.reconcileSchedule !== undefined) {
      this.reconcile = new Reconcile(this, 'Reconcile', {
        region,
        queue: this.queue,
        inventory: settings.inventory,
        accounts,
        apiCallRule: settings.apiCallRule,
        schedule: settings.reconcileSchedule,
        logRetentionDays: settings.logRetentionDays,
      });
      this.addAlarm(this.reconcile.errorsAlarm);
    }
    if (settings.inventory) {
      this.inventory = new Inventory(this, 'Inventory', {
        rules: this.rules,
        delivery,
        destination: { queue: this.queue },
        rulesNamePrefix: perAccount ? RULE_NAME_PREFIX : undefined,
        logRetentionDays: settings.logRetentionDays,
      });
      for (const alarm of this.inventory.alarms) this.addAlarm(alarm);
      // Members describe and reconcile their own accounts (docs/organizations.md) and put the results on this bus.
      if (settings.organizationId !== undefined) {
        [this.memberInventoryRule] = this.addRules([memberInventoryRule(stack.account)], delivery, perAccount);
      }
    }
    if (settings.archiveRetentionDays !== undefined) {
      this.archive = new RulesArchive(this, 'Archive', {
        region,
        rules: this.ruleDefinitions,
        retentionDays: settings.archiveRetentionDays,
      });
    }
    if (settings.dashboard) {
      this.dashboard = new SyncDashboard(this, 'Dashboard', {
        dashboardName: `management-events-${region}`,
        ruleKinds: ruleKinds.map((kind) => ({
          name: kind.name,
          ruleNames: rulesPerAccount([kind], accounts).map((rule) => rule.name),
        })),
        queue: this.queue,
        deadLetterQueue: this.deadLetterQueue,
        targetDeadLetterQueue: this.targetDeadLetterQueue,
        consumer:
          this.syncFunction === undefined || eventSourceMappingId === undefined
            ? { kind: 'poller' }
            : { kind: 'lambda', function: this.syncFunction, eventSourceMappingId },
        alarms: this.allAlarms,
      });
      if (this.inventory !== undefined) {
        this.dashboard.addInventory({
          describer: this.inventory.describerFunction,
          describeQueue: this.inventory.describeQueue,
          describeDeadLetterQueue: this.inventory.describeDeadLetterQueue,
        });
      }
    }
    this.node.addValidation({ validate: () => this.deploymentLimitProblems() });
  }

  /**
   * What Lambda or CloudFormation would refuse only at deploy: a function's environment over 4 KB (its own functions
   * and any added to it), the stack over 500 resources. Checked again when the app is synthesized.
   */
  deploymentLimitProblems(): string[] {
    return [...environmentSizeProblems(this), ...resourceCountProblems(Stack.of(this), this.perAccountRules)];
  }

  /** Every alarm of this setup, in the order they were added (for a dashboard). */
  get alarms(): readonly cloudwatch.Alarm[] {
    return this.allAlarms;
  }

  /** Adds an alarm of a part built on this setup: it goes where the others go (alarmTopic, alarmEmail). */
  addAlarm(alarm: cloudwatch.Alarm): void {
    this.allAlarms.push(alarm);
    notify(this.alarmTopic, alarm);
  }

  private addRules(definitions: readonly RuleDefinition[], delivery: TargetDelivery, perAccount: boolean): events.Rule[] {
    return definitions.map(
      (rule) =>
        new events.Rule(this, `Rule-${rule.name}`, {
          ruleName: rule.name,
          description: rule.description,
          eventPattern: toCdkEventPattern(rule.eventPattern),
          targets: [
            perAccount
              ? fifoQueueTarget(this.queue, rule.messageGroupId, delivery)
              : new targets.SqsQueue(this.queue, { messageGroupId: rule.messageGroupId, ...delivery }),
          ],
        }),
    );
  }
}
