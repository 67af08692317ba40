import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmAtOrAbove } from './alarms.ts';
import { functionCode } from './function-code.ts';
import { type InventoryDestination, sendToDestination } from './inventory-destination.ts';
import { output } from './outputs.ts';
import { PropsError } from './problems.ts';

export interface ReconcileProps {
  readonly region: string;
  /**
   * The FIFO queue the rules feed: snapshots take the same way to Redis. Either this or `centralBusArn`.
   * @default - none
   */
  readonly queue?: sqs.IQueue;
  /**
   * In a member account with the inventory: the central account's default bus, which snapshots are put on.
   * @default - none
   */
  readonly centralBusArn?: string;
  /**
   * Snapshots for the inventory: each part once, through its message group, for the sync function to apply.
   * @default false
   */
  readonly inventory?: boolean;
  /**
   * Without the inventory: the setup's per-account groups (`accounts`) and whether it has the API-call rule. The
   * function derives from them, with the rule table, the message groups its account's events take, and sends each
   * part through each of them.
   * @default []
   */
  readonly accounts?: readonly string[];
  /** @default - none; required without `inventory` */
  readonly apiCallRule?: boolean;
  /** When to run: rate(...), cron(...) or at(...). */
  readonly schedule: scheduler.ScheduleExpression;
  readonly logRetentionDays: logs.RetentionDays;
  /**
   * Long enough to list a large region at EC2's paginated pace, throttled pages included.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * The whole listing is held in memory while it is cut into parts; more memory is also more CPU for that.
   * @default 1024
   */
  readonly memorySize?: number;
}

/**
 * The scheduled reconcile: a function that lists the region's instances, VPCs and subnets and sends them as snapshot
 * events to the FIFO queue, started by EventBridge Scheduler. Read-only on EC2, send-only on the queue.
 */
export class Reconcile extends Construct {
  readonly function: lambda.Function;
  readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ReconcileProps) {
    super(scope, id);
    const problems = reconcilePropsProblems(props);
    if (problems.length > 0) throw new PropsError('Reconcile', problems);
    const name = `management-events-reconcile-${props.region}`;
    const destination: InventoryDestination =
      props.queue === undefined ? { centralBusArn: props.centralBusArn ?? '' } : { queue: props.queue };
    const to = props.queue === undefined ? "the central account's default bus" : 'the FIFO queue';
    // Without the inventory the parts go through the live groups of their account (derived in code: the groups
    // themselves outgrew Lambda's 4 KB environment at 36 accounts); with it, once through the inventory's.
    const accounts = props.accounts ?? [];
    const snapshotFor: Record<string, string> = props.inventory
      ? { INVENTORY: 'true' }
      : { API_CALL_RULE: String(props.apiCallRule), ...(accounts.length > 0 ? { ACCOUNTS: accounts.join(',') } : {}) };

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${name}`,
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `management-events reconcile function: lists EC2 assets, sends snapshots to ${to}`,
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:DescribeInstances', 'ec2:DescribeVpcs', 'ec2:DescribeSubnets'],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeInstances, ec2:DescribeVpcs and ec2:DescribeSubnets support no resource-level permissions: AWS requires Resource "*" for them.',
    });

    this.function = new lambda.Function(this, 'Function', {
      functionName: name,
      description: `Lists the EC2 instances, VPCs and subnets of the region and sends them to ${to} as snapshots`,
      code: functionCode('reconcile'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(5),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // A failed run is not retried by Lambda: the next scheduled run lists everything again.
      retryAttempts: 0,
      environment: {
        ...sendToDestination(role, destination),
        ...snapshotFor,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    // Scheduler's own role, limited to schedules of this account (confused deputy), allowed to invoke this function.
    const stack = Stack.of(this);
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: starts the management-events reconcile function',
    });
    new scheduler.Schedule(this, 'Schedule', {
      scheduleName: name,
      description: 'Starts the reconcile snapshots of the asset inventory',
      schedule: props.schedule,
      target: new schedulerTargets.LambdaInvoke(this.function, {
        role: schedulerRole,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });
    const functionLogicalId = stack.resolve(stack.getLogicalId(this.function.node.defaultChild as lambda.CfnFunction));
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason: "lambda:InvokeFunction on this one function's versions and aliases (ARN:*), as grantInvoke writes it.",
    });

    output(this, 'RunNowCommand', {
      value: `aws lambda invoke --function-name ${name} --region ${props.region} --cli-read-timeout 0 /dev/stdout`,
      description: 'Send a reconcile snapshot now, without waiting for the schedule',
    });

    this.errorsAlarm = alarmAtOrAbove(this, 'ErrorsAlarm', {
      description: `A reconcile run failed: some snapshot was not sent (see ${logGroup.logGroupName}, message "snapshot not sent")`,
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
  }
}

/** Exactly one destination; the central bus only for the inventory; the live groups without it. */
function reconcilePropsProblems(props: ReconcileProps): string[] {
  const problems: string[] = [];
  if ((props.queue === undefined) === (props.centralBusArn === undefined))
    problems.push('give queue or centralBusArn, one of them');
  if (props.centralBusArn !== undefined && !props.inventory) {
    problems.push("centralBusArn needs inventory: the central account takes members' snapshots into its inventory only");
  }
  if (!props.inventory && props.apiCallRule === undefined) problems.push('apiCallRule is required without inventory');
  return problems;
}
