import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmAtOrAbove, alarmTopicFor, notify } from './alarms.ts';
import { toCdkEventPattern } from './cdk-event-pattern.ts';
import { output } from './outputs.ts';
import { checkAccountId, PropsError } from './problems.ts';
import { allowRules, eventBusTarget } from './rule-targets.ts';
import { type RuleDefinition, selectRules } from './rules.ts';
import {
  type AlarmProps,
  alarmPropsProblems,
  type RuleProps,
  resourceTypesOf,
  rulePropsProblems,
  SYNC_DEFAULTS,
  type Unchecked,
} from './sync-props.ts';

export interface ManagementEventsForwarderProps extends RuleProps, AlarmProps {
  /** The account whose default bus, in the same region, receives this account's events: where ManagementEventsSync runs. */
  readonly centralAccount: string;
}

/** Every problem of these props, one line each. */
export function forwarderPropsProblems(props: Unchecked<ManagementEventsForwarderProps>): string[] {
  const problems: string[] = [];
  if (props.centralAccount === undefined) problems.push('centralAccount is required');
  checkAccountId(problems, 'centralAccount', props.centralAccount);
  return [...problems, ...alarmPropsProblems(props), ...rulePropsProblems(props)];
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

    // EventBridge needs a standard queue as a target's dead-letter queue.
    this.deadLetterQueue = new sqs.Queue(this, 'ForwardDeadLetterQueue', {
      queueName: 'management-events-forward-dlq',
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the forwarding rules; a dead-letter queue needs none of its own.',
    });

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
        description: `The central bus (${centralAccount}) refused events; they wait in management-events-forward-dlq`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      }),
    );

    output(this, 'ForwardDeadLetterQueueUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: 'Events the central bus refused',
    });
  }
}
