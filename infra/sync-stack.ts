import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';
import { METRIC_NAMES } from '../lambda/metric-names.ts';
import { notifyByEmail } from './alarm-topic.ts';
import { RulesArchive } from './archive.ts';
import { FUNCTION_ENTRY, nodejsBundling } from './bundling.ts';
import { toCdkEventPattern } from './cdk-event-pattern.ts';
import type { StackSettings } from './config.ts';
import { grantRedisSecret, grantVpcNetworkInterfaces } from './function-access.ts';
import { Reconcile } from './reconcile.ts';
import { allowRulesByNamePrefix, fifoQueueTarget } from './rule-targets.ts';
import { deadLetterQueueName, queueName, type RuleDefinition as RuleLike, selectRules } from './rules.ts';

const PROJECT_ROOT = new URL('..', import.meta.url).pathname;

export interface SyncStackProps extends StackProps {
  readonly settings: StackSettings;
  /** The region this stack deploys to. */
  readonly region: string;
  /** The rules on the default bus; rules.ts's table unless per-account groups expand it. */
  readonly rules?: readonly RuleLike[];
}

/** The seed's setup for one region: FIFO queue, the rules (the seed's two, and API calls), the sync function (or none, for the poller), alarms. */
export class SyncStack extends Stack {
  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, { ...props, env: { ...props.env, region: props.region } });
    const { settings, region } = props;

    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(region),
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, 'Queue', {
      queueName: queueName(region),
      fifo: true,
      contentBasedDeduplication: true,
      // SQS-managed keys: with a KMS key CDK drops the aws:SourceArn condition from the EventBridge grant.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so a batch in flight is not handed out twice.
      visibilityTimeout: Duration.seconds(6 * settings.functionTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    // EventBridge needs a standard queue as a target's dead-letter queue.
    const targetDeadLetterQueue = new sqs.Queue(this, 'TargetDeadLetterQueue', {
      queueName: `management-events-${region}-target-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(targetDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the EventBridge rule targets; a dead-letter queue needs none of its own.',
    });

    const rules = props.rules ?? selectRules({ apiCallRule: settings.apiCallRule, resourceTypes: settings.resourceTypes });
    // Per-account rules outgrow a queue policy's 20 statements: then one statement covers every rule of the app.
    const grantByPrefix = settings.accounts.length > 0;
    if (grantByPrefix) {
      allowRulesByNamePrefix(queue, 'management-events-');
      allowRulesByNamePrefix(targetDeadLetterQueue, 'management-events-');
    }
    const delivery = { deadLetterQueue: targetDeadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) };
    for (const rule of rules) {
      new events.Rule(this, `Rule-${rule.name}`, {
        ruleName: rule.name,
        description: rule.description,
        eventPattern: toCdkEventPattern(rule.eventPattern),
        targets: [
          grantByPrefix
            ? fifoQueueTarget(queue, rule.messageGroupId, delivery)
            : new targets.SqsQueue(queue, { messageGroupId: rule.messageGroupId, ...delivery }),
        ],
      });
    }

    const alarms: cloudwatch.Alarm[] = [
      new cloudwatch.Alarm(this, 'DeadLetterQueueAlarm', {
        alarmDescription: `Events gave up after ${settings.maxReceiveCount} receives and wait in ${deadLetterQueueName(region)}: see the dead-letter runbook in the README`,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'TargetDeadLetterQueueAlarm', {
        alarmDescription: 'EventBridge could not deliver events to the FIFO queue; they wait in the target dead-letter queue',
        metric: targetDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
        alarmDescription: `An event has waited over ${settings.oldestMessageAlarmSeconds} s in ${queueName(region)}: the consumer is down or a group is blocked`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: settings.oldestMessageAlarmSeconds,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];

    new CfnOutput(this, 'QueueUrl', { value: queue.queueUrl, description: 'The FIFO queue the rules feed' });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: deadLetterQueue.queueUrl,
      description: 'Events that failed maxReceiveCount times',
    });
    new CfnOutput(this, 'TargetDeadLetterQueueUrl', {
      value: targetDeadLetterQueue.queueUrl,
      description: 'Events EventBridge could not deliver to the queue',
    });

    if (settings.consumer === 'lambda') {
      alarms.push(...this.addFunction(settings, region, queue));
    } else {
      new CfnOutput(this, 'PollerCommand', {
        value: `node poller.mjs --queue-url ${queue.queueUrl}`,
        description:
          'Run the poller next to Redis (consumer=poller): npm run build:poller writes dist/poller.mjs, one file for plain Node >= 22',
      });
      this.addPollerPolicy(settings, queue);
    }

    // Opt-in healing (docs/reconcile.md): both need only the queue and the rules, so they work with either consumer.
    if (settings.reconcileSchedule !== undefined) {
      const reconcile = new Reconcile(this, 'Reconcile', {
        region,
        queue,
        rules,
        schedule: settings.reconcileSchedule,
        logRetentionDays: settings.logRetentionDays,
      });
      alarms.push(reconcile.errorsAlarm);
    }
    if (settings.archiveRetentionDays !== undefined) {
      new RulesArchive(this, 'Archive', { region, rules, retentionDays: settings.archiveRetentionDays });
    }

    if (settings.alarmEmail !== undefined) notifyByEmail(this, settings.alarmEmail, alarms);
  }

  /** What the poller's role or user needs, exactly: attach it where the poller runs (an instance role, a user). */
  /** Created when none is given: its ID is output, for the cache's inbound rule (TCP 6379 from this group). */
  private functionSecurityGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc,
      description: 'management-events sync function',
      allowAllOutbound: true,
    });
    new CfnOutput(this, 'FunctionSecurityGroupId', {
      value: group.securityGroupId,
      description: "Allow inbound TCP 6379 from this group in the Redis cache's security group",
    });
    return group;
  }

  private addPollerPolicy(settings: StackSettings, queue: sqs.Queue): void {
    const statements = [
      new iam.PolicyStatement({
        sid: 'ConsumeTheQueue',
        // GetQueueAttributes: the poller checks the queue at start. DeleteMessage also covers DeleteMessageBatch.
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queue.queueArn],
      }),
    ];
    if (settings.redisAuthSecretArn !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadTheRedisSecret',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [settings.redisAuthSecretArn],
        }),
      );
    }
    const policy = new iam.ManagedPolicy(this, 'PollerPolicy', {
      description: `The poller (dist/poller.mjs) consuming ${queue.node.id} in ${this.region}`,
      statements,
    });
    new CfnOutput(this, 'PollerPolicyArn', {
      value: policy.managedPolicyArn,
      description: 'Attach to the role or user the poller runs as',
    });
  }

  private addFunction(settings: StackSettings, region: string, queue: sqs.Queue): cloudwatch.Alarm[] {
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      logGroupName: `/aws/lambda/management-events-sync-${region}`,
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Its own role: write to its own log group, read its own queue, read the Redis secret; nothing else.
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'management-events sync function',
    });
    logGroup.grantWrite(role);

    let vpcProps: Pick<nodejs.NodejsFunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
    if (settings.vpc !== undefined) {
      const placement = settings.vpc;
      const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: placement.vpcId,
        availabilityZones: placement.subnetIds.map((_, i) => `${region}${'abcdef'[i % 6]}`),
      });
      const subnets = placement.subnetIds.map((id) => ec2.Subnet.fromSubnetId(this, `Subnet-${id}`, id));
      const securityGroups =
        placement.securityGroupIds.length > 0
          ? placement.securityGroupIds.map((id) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup-${id}`, id))
          : [this.functionSecurityGroup(vpc)];
      vpcProps = { vpc, vpcSubnets: { subnets }, securityGroups };
      grantVpcNetworkInterfaces(role);
      if (placement.createVpcEndpoints) {
        const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
          vpc,
          description: 'HTTPS from the sync function to the Secrets Manager and STS endpoints',
          allowAllOutbound: false,
        });
        for (const group of securityGroups)
          endpointSecurityGroup.addIngressRule(ec2.Peer.securityGroupId(group.securityGroupId), ec2.Port.tcp(443));
        for (const [name, service] of [
          ['SecretsManagerEndpoint', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
          ['StsEndpoint', ec2.InterfaceVpcEndpointAwsService.STS],
        ] as const) {
          new ec2.InterfaceVpcEndpoint(this, name, {
            vpc,
            service,
            subnets: { subnets },
            securityGroups: [endpointSecurityGroup],
            privateDnsEnabled: true,
            // Only the function's security groups may connect (below), not the whole VPC.
            open: false,
          });
        }
      }
    }

    const environment: Record<string, string> = {
      REDIS_URL: settings.redisUrl ?? '',
      TOPIC_PREFIX: settings.topicPrefix,
      REQUIRE_SUBSCRIBER: String(settings.requireSubscriber),
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (settings.redisAuthSecretArn !== undefined) environment.REDIS_AUTH_SECRET_ARN = settings.redisAuthSecretArn;
    if (settings.streamRetentionHours !== undefined) environment.STREAM_RETENTION_HOURS = String(settings.streamRetentionHours);
    if (settings.redisCluster !== 'auto') environment.REDIS_CLUSTER = settings.redisCluster;

    const fn = new nodejs.NodejsFunction(this, 'SyncFunction', {
      functionName: `management-events-sync-${region}`,
      description: 'Publishes management events from the FIFO queue to Redis, in order per message group',
      entry: FUNCTION_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: Duration.seconds(settings.functionTimeoutSeconds),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment,
      ...vpcProps,
      bundling: nodejsBundling(),
    });

    if (settings.redisAuthSecretArn !== undefined) {
      grantRedisSecret(this, fn, settings.redisAuthSecretArn, settings.redisSecretKmsKeyArn);
    }
    fn.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));

    const emf = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: DEFAULT_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { FunctionName: fn.functionName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    const failedRecords = new cloudwatch.Alarm(this, 'FailedRecordsAlarm', {
      alarmDescription:
        'Records failed to publish (partial batch failures are not Lambda errors): see the failures-by-reason query',
      metric: emf(METRIC_NAMES.failed),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const zeroReceivers = new cloudwatch.Alarm(this, 'ZeroReceiversAlarm', {
      alarmDescription: 'Events were published to a channel nobody subscribes to: the inventory missed them',
      metric: emf(METRIC_NAMES.zeroReceivers),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const errors = new cloudwatch.Alarm(this, 'FunctionErrorsAlarm', {
      alarmDescription: 'The sync function itself failed (crash, timeout, out of memory)',
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const [name, queryString] of savedQueries()) {
      new logs.QueryDefinition(this, `Query-${name}`, {
        queryDefinitionName: `management-events-sync-${region}/${name}`,
        queryString,
        logGroups: [logGroup],
      });
    }

    new CfnOutput(this, 'FunctionName', { value: fn.functionName });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
    new CfnOutput(this, 'TailCommand', {
      value: `aws logs tail ${logGroup.logGroupName} --follow --format short --region ${region}`,
      description: 'Follow what the function does',
    });
    return [failedRecords, zeroReceivers, errors];
  }
}

function savedQueries(): [string, logs.QueryString][] {
  return [
    [
      'failures-by-reason',
      new logs.QueryString({
        // `unknown`: the call went out and no answer came (Redis may have published it); both are redelivered.
        filterStatements: ['outcome in ["failed", "unknown"]'],
        statsStatements: [
          'count(*) as records, earliest(@timestamp) as first, latest(@timestamp) as last by error.name, error.message, group',
        ],
        sort: 'records desc',
      }),
    ],
    [
      'resource-history',
      new logs.QueryString({
        fields: ['@timestamp', 'detailType', 'outcome', 'group', 'messageId', 'receivers', 'error.message'],
        // Replace the instance, VPC or subnet ID before running.
        filterStatements: ['ispresent(outcome)', '@message like "i-0123456789abcdef0"'],
        sort: '@timestamp asc',
      }),
    ],
    [
      'invocation-summaries',
      new logs.QueryString({
        filterStatements: ['message = "batch processed"'],
        statsStatements: [
          'sum(records) as records, sum(published) as published, sum(failed) as failed, sum(zeroReceivers) as zeroReceivers, max(oldestEventAgeMs) as oldestEventAgeMs, pct(durationMs, 99) as p99DurationMs by bin(5m)',
        ],
      }),
    ],
  ];
}
