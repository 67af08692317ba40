import { Annotations, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmAtOrAbove, alarmTopicFor, notify } from './alarms.ts';
import { toCdkEventPattern } from './cdk-event-pattern.ts';
import { standardDeadLetterQueue } from './dead-letter-queue.ts';
import { Inventory } from './inventory.ts';
import { output } from './outputs.ts';
import { checkAccountId, PropsError } from './problems.ts';
import { Reconcile } from './reconcile.ts';
import { allowRules, eventBusTarget } from './rule-targets.ts';
import { type RuleDefinition, selectRules } from './rules.ts';
import {
  type AlarmProps,
  alarmPropsProblems,
  type InventoryOptionProps,
  inventoryOptionProblems,
  inventoryOptionWarnings,
  type RuleProps,
  resourceTypesOf,
  rulePropsProblems,
  SYNC_DEFAULTS,
  type Unchecked,
} from './sync-props.ts';

/** The ID of the warning that the inventory's code assets need a bootstrapped account or published assets. */
export const FORWARDER_ASSETS_WARNING = 'forwarder:inventory-assets';

export interface ManagementEventsForwarderProps extends RuleProps, AlarmProps, InventoryOptionProps {
  /** The account whose default bus, in the same region, receives this account's events: where ManagementEventsSync runs. */
  readonly centralAccount: string;
}

/** Every problem of these props, one line each. */
export function forwarderPropsProblems(props: Unchecked<ManagementEventsForwarderProps>): string[] {
  const problems: string[] = [];
  if (props.centralAccount === undefined) problems.push('centralAccount is required');
  checkAccountId(problems, 'centralAccount', props.centralAccount);
  if (props.reconcileSchedule !== undefined && props.inventory !== true) {
    problems.push("reconcileSchedule in a member account needs inventory: its snapshots are for the central account's inventory");
  }
  return [...problems, ...alarmPropsProblems(props), ...rulePropsProblems(props), ...inventoryOptionProblems(props)];
}

/**
 * A member account of an organization: the same rules as ManagementEventsSync, forwarding to the central account's
 * default bus in the region the stack runs in, through a role that may only put events there. What the central bus
 * refuses waits in a dead-letter queue, with an alarm. Nothing here needs an asset or a region of its own, so the
 * stack can be one template for every account and region of a StackSet.
 */
export class ManagementEventsForwarder extends Construct {
  readonly ruleDefinitions: readonly RuleDefinition[];
  readonly rules: readonly events.Rule[];
  /** Events the central bus refused (a standard queue, as EventBridge requires). */
  readonly deadLetterQueue: sqs.Queue;
  readonly alarmTopic?: sns.ITopic;
  /** The central account's default bus in this region. */
  readonly centralBusArn: string;
  /** With `inventory`: the describe queue and the describer, which puts its descriptions on the central bus. */
  readonly inventory?: Inventory;
  /** With `inventory` and `reconcileSchedule`: snapshots of this account, put on the central bus. */
  readonly reconcile?: Reconcile;

  constructor(scope: Construct, id: string, props: ManagementEventsForwarderProps) {
    super(scope, id);
    const problems = forwarderPropsProblems(props);
    if (problems.length > 0) throw new PropsError('ManagementEventsForwarder', problems);
    const { centralAccount } = props;

    const centralBusArn = Stack.of(this).formatArn({
      service: 'events',
      account: centralAccount,
      resource: 'event-bus',
      resourceName: 'default',
    });
    this.centralBusArn = centralBusArn;

    this.deadLetterQueue = standardDeadLetterQueue(
      this,
      'ForwardDeadLetterQueue',
      'management-events-forward-dlq',
      'the forwarding rules',
    );

    // A role is required to put events on a bus of another account of the organization; it may do only that.
    const role = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: `Forwards management events to the default bus of ${centralAccount}`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [centralBusArn] }));

    this.ruleDefinitions = selectRules({
      apiCallRule: props.apiCallRule ?? SYNC_DEFAULTS.apiCallRule,
      resourceTypes: resourceTypesOf(props.resourceTypes, []),
    });
    const delivery = { deadLetterQueue: this.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) };
    this.rules = this.ruleDefinitions.map(
      (rule) =>
        new events.Rule(this, `Rule-${rule.name}`, {
          ruleName: rule.name,
          description: `${rule.description}, forwarded to ${centralAccount}`,
          eventPattern: toCdkEventPattern(rule.eventPattern),
          targets: [eventBusTarget(centralBusArn, role, delivery)],
        }),
    );
    allowRules(this.deadLetterQueue, this.rules);

    this.alarmTopic = alarmTopicFor(this, props);
    notify(
      this.alarmTopic,
      alarmAtOrAbove(this, 'ForwardDeadLetterQueueAlarm', {
        description: `The central bus (${centralAccount})${props.inventory ? ' or the describe queue' : ''} refused events; they wait in management-events-forward-dlq`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      }),
    );

    // Members describe and reconcile their own account and put the results on the central bus: the central account
    // holds no read role into members (docs/organizations.md).
    if (props.inventory) {
      Annotations.of(this).addWarningV2(
        FORWARDER_ASSETS_WARNING,
        'inventory adds Lambda functions, whose code is a file asset: this template is no longer one a StackSet deploys as it is. Deploy it with cdk deploy in each member account and region (bootstrapped), or publish its assets where the StackSet accounts can read them (docs/organizations.md)',
      );
      for (const { id, message } of inventoryOptionWarnings(props)) Annotations.of(this).addWarningV2(id, message);
      const destination = { centralBusArn };
      const logRetentionDays = SYNC_DEFAULTS.logRetentionDays;
      this.inventory = new Inventory(this, 'Inventory', { rules: this.rules, delivery, destination, logRetentionDays });
      for (const alarm of this.inventory.alarms) notify(this.alarmTopic, alarm);
      if (props.reconcileSchedule !== undefined) {
        this.reconcile = new Reconcile(this, 'Reconcile', {
          region: Stack.of(this).region,
          ...destination,
          inventory: true,
          schedule: props.reconcileSchedule,
          logRetentionDays,
        });
        notify(this.alarmTopic, this.reconcile.errorsAlarm);
      }
    }

    output(this, 'ForwardDeadLetterQueueUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: 'Events the central bus refused',
    });
  }
}
