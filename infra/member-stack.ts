import { Aws, CfnOutput, CliCredentialsStackSynthesizer, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { notifyByEmail } from './alarm-topic.ts';
import { toCdkEventPattern } from './cdk-event-pattern.ts';
import type { MemberSettings } from './organization-settings.ts';
import { allowRules, eventBusTarget } from './rule-targets.ts';
import type { RuleDefinition as RuleLike } from './rules.ts';

export const MEMBER_STACK_NAME = 'management-events-member';

export interface MemberStackProps extends StackProps {
  readonly settings: MemberSettings;
  readonly rules: readonly RuleLike[];
}

/**
 * A member account of an organization: the same rules as the central stacks, forwarding to the central account's
 * default bus in the region the stack runs in. One template for every account and region, deployable by a
 * service-managed StackSet to accounts never bootstrapped for CDK: environment-agnostic (the bus ARN names
 * AWS::Region), no parameters, no bootstrap version rule, no assets.
 */
export class MemberStack extends Stack {
  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, {
      ...props,
      // CLI credentials and no BootstrapVersion parameter or rule; the tests check that no asset creeps in.
      synthesizer: new CliCredentialsStackSynthesizer(),
      analyticsReporting: false,
    });
    const { settings, rules } = props;

    const centralBusArn = Stack.of(this).formatArn({
      service: 'events',
      account: settings.centralAccount,
      resource: 'event-bus',
      resourceName: 'default',
    });

    // EventBridge needs a standard queue as a target's dead-letter queue.
    const deadLetterQueue = new sqs.Queue(this, 'ForwardDeadLetterQueue', {
      queueName: 'management-events-forward-dlq',
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the forwarding rules; a dead-letter queue needs none of its own.',
    });

    // A role is required to put events on a bus of another account of the organization; it may do only that.
    const role = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: `Forwards management events to the default bus of ${settings.centralAccount}`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [centralBusArn] }));

    const delivery = { deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) };
    const deployed = rules.map(
      (rule) =>
        new events.Rule(this, `Rule-${rule.name}`, {
          ruleName: rule.name,
          description: `${rule.description}, forwarded to ${settings.centralAccount}`,
          eventPattern: toCdkEventPattern(rule.eventPattern),
          targets: [eventBusTarget(centralBusArn, role, delivery)],
        }),
    );
    allowRules(deadLetterQueue, deployed);

    const alarm = new cloudwatch.Alarm(this, 'ForwardDeadLetterQueueAlarm', {
      alarmDescription: `The central bus (${settings.centralAccount}) refused events; they wait in management-events-forward-dlq`,
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (settings.alarmEmail !== undefined) notifyByEmail(this, settings.alarmEmail, [alarm]);

    new CfnOutput(this, 'ForwardDeadLetterQueueUrl', {
      value: deadLetterQueue.queueUrl,
      description: 'Events the central bus refused',
    });
  }
}
