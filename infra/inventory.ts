import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';
import { alarmAtOrAbove } from './alarms.ts';
import { standardDeadLetterQueue } from './dead-letter-queue.ts';
import { functionCode } from './function-code.ts';
import { type InventoryDestination, sendToDestination } from './inventory-destination.ts';
import { output } from './outputs.ts';
import { allowRules, allowRulesByNamePrefix, standardQueueTarget, type TargetDelivery } from './rule-targets.ts';

export interface InventoryProps {
  /** The live rules: the describe queue becomes a target of each, beside the one they have. */
  readonly rules: readonly events.Rule[];
  /** How EventBridge delivers to the describe queue: the retry policy and dead-letter queue of the rules' own target. */
  readonly delivery: TargetDelivery;
  /** Where the describer sends its descriptions: the FIFO queue, or in a member account the central default bus. */
  readonly destination: InventoryDestination;
  /**
   * Lets every rule of the account whose name starts with this prefix send to the describe queue, in one statement,
   * instead of naming each rule (per-account rules outgrow a queue policy).
   * @default - the rules, by ARN
   */
  readonly rulesNamePrefix?: string;
  readonly logRetentionDays: logs.RetentionDays;
}

/**
 * docs/inventory.md, Batching: the queue hands the describer what arrived within about 2 s, up to 1,000 records (1,000
 * CloudTrail events of about 3 KB stay within Lambda's 6 MB payload, which also ends a batch early). A burst is
 * described once per account, region and type and batch, so few batches at a time means few EC2 calls: 2 is the
 * lowest maximum concurrency Lambda accepts for an SQS event source.
 */
const BATCH_SIZE = 1000;
const BATCHING_WINDOW = Duration.seconds(2);
const MAX_CONCURRENCY = 2;
/** Describing 1,000 instances and sending the states takes seconds; adaptive retries under throttling take more. */
const TIMEOUT = Duration.seconds(30);
/** A record is received again after each failure, one visibility timeout (3 minutes) later: 20 receives is an hour. */
const MAX_RECEIVE_COUNT = 20;

const DESCRIBE_ACTIONS = [
  'ec2:DescribeInstances',
  'ec2:DescribeVpcs',
  'ec2:DescribeSubnets',
  // Resolving what events name indirectly: interfaces and their attachments, volumes, address associations.
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVolumes',
  'ec2:DescribeAddresses',
];

/**
 * The inventory's describe-on-change path (docs/inventory.md): the rules' events also go to a standard describe
 * queue, read with a batching window by the describer, which describes what they name with EC2 and sends the
 * descriptions ("Asset State" events) to the FIFO queue, or from a member account to the central bus. The describer
 * runs outside any VPC: EC2's API is public, and the sync function (the only writer to Redis) makes no EC2 call.
 */
export class Inventory extends Construct {
  /** The standard queue the rules feed, beside the FIFO queue. */
  readonly describeQueue: sqs.Queue;
  /** Events the describer failed MAX_RECEIVE_COUNT times. */
  readonly describeDeadLetterQueue: sqs.Queue;
  readonly describerFunction: lambda.Function;
  readonly describerLogGroup: logs.LogGroup;
  /** The describer's errors and the describe dead-letter queue's depth: give them to the setup's `addAlarm`. */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: InventoryProps) {
    super(scope, id);
    const region = Stack.of(this).region;

    this.describeDeadLetterQueue = standardDeadLetterQueue(
      this,
      'DescribeDeadLetterQueue',
      `management-events-${region}-describe-dlq`,
      'the describe queue',
    );
    this.describeQueue = new sqs.Queue(this, 'DescribeQueue', {
      queueName: `management-events-${region}-describe`,
      // SQS-managed keys: with a KMS key CDK drops the aws:SourceArn condition from the EventBridge grant.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so a batch in flight is not handed out twice.
      visibilityTimeout: Duration.seconds(6 * TIMEOUT.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.describeDeadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    for (const rule of props.rules) rule.addTarget(standardQueueTarget(this.describeQueue, props.delivery));
    if (props.rulesNamePrefix === undefined) allowRules(this.describeQueue, props.rules);
    else allowRulesByNamePrefix(this.describeQueue, props.rulesNamePrefix);

    const name = `management-events-describer-${region}`;
    this.describerLogGroup = new logs.LogGroup(this, 'DescriberLogs', {
      logGroupName: `/aws/lambda/${name}`,
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'DescriberRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'management-events describer: describes the EC2 assets that events name, sends the descriptions on',
    });
    this.describerLogGroup.grantWrite(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: DESCRIBE_ACTIONS, resources: ['*'] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `${DESCRIBE_ACTIONS.join(', ')} support no resource-level permissions: AWS requires Resource "*" for them.`,
    });
    // What the event source mapping needs (Lambda's documented three): not the ChangeMessageVisibility and
    // GetQueueUrl that SqsEventSource would grant, which the describer never calls.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [this.describeQueue.queueArn],
      }),
    );

    this.describerFunction = new lambda.Function(this, 'Describer', {
      functionName: name,
      description: 'Describes the EC2 instances, VPCs and subnets that events name, and sends the descriptions to the inventory',
      code: functionCode('describer'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      // Parsing a DescribeInstances answer of 1,000 instances, and more CPU for it.
      memorySize: 512,
      timeout: TIMEOUT,
      role,
      logGroup: this.describerLogGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        ...sendToDestination(role, props.destination),
        METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    this.describerFunction.addEventSourceMapping('DescribeQueueSource', {
      eventSourceArn: this.describeQueue.queueArn,
      batchSize: BATCH_SIZE,
      maxBatchingWindow: BATCHING_WINDOW,
      maxConcurrency: MAX_CONCURRENCY,
      reportBatchItemFailures: true,
    });

    this.alarms = [
      alarmAtOrAbove(this, 'DescriberErrorsAlarm', {
        description: `The describer itself failed (crash, timeout, out of memory): see /aws/lambda/${name}`,
        metric: this.describerFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      }),
      alarmAtOrAbove(this, 'DescribeDeadLetterQueueAlarm', {
        description: `Events the describer failed ${MAX_RECEIVE_COUNT} times wait in management-events-${region}-describe-dlq: their assets were not described (the next reconcile heals them)`,
        metric: this.describeDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      }),
    ];
    output(this, 'DescribeDeadLetterQueueUrl', {
      value: this.describeDeadLetterQueue.queueUrl,
      description: 'Events the describer failed repeatedly',
    });
  }
}
