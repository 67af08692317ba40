import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';
import { METRIC_NAMES } from '../lambda/metric-names.ts';
import { alarmAtOrAbove } from './alarms.ts';
import { grantVpcNetworkInterfaces, redisSecretReadStatements } from './function-access.ts';
import { functionCode } from './function-code.ts';
import { output } from './outputs.ts';
import type { ResolvedSyncProps } from './sync-props.ts';

export interface SyncFunctionOptions {
  readonly region: string;
  /** The FIFO queue the function consumes. */
  readonly queue: sqs.IQueue;
  /** Where the function parks a record that can never be published (poison), so its group flows on. */
  readonly deadLetterQueue: sqs.IQueue;
  readonly settings: ResolvedSyncProps;
}

export interface SyncFunctionParts {
  readonly function: lambda.Function;
  /** The SQS event source mapping's ID (its metrics' EventSourceMappingUUID). */
  readonly eventSourceMappingId: string;
  readonly logGroup: logs.LogGroup;
  readonly alarms: readonly cloudwatch.Alarm[];
}

/**
 * The sync function with everything that belongs to it, in `scope` (the region's construct, so the resources keep
 * their logical IDs): its log group, its own role, its network, the queue as event source, its alarms, the saved
 * Logs Insights queries and the outputs an operator uses.
 */
export function addSyncFunction(scope: Construct, options: SyncFunctionOptions): SyncFunctionParts {
  const { region, queue, deadLetterQueue, settings } = options;
  const logGroup = new logs.LogGroup(scope, 'FunctionLogs', {
    logGroupName: `/aws/lambda/management-events-sync-${region}`,
    retention: settings.logRetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  // Its own role: write to its own log group, read its own queue, park in its DLQ, read the Redis secret; nothing else.
  const role = new iam.Role(scope, 'FunctionRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'management-events sync function',
  });
  logGroup.grantWrite(role);
  // Only SendMessage: not the GetQueueAttributes and GetQueueUrl of grantSendMessages.
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [deadLetterQueue.queueArn] }));
  if (settings.redisAuthSecret !== undefined) {
    for (const statement of redisSecretReadStatements(settings.redisAuthSecret)) role.addToPrincipalPolicy(statement);
  }

  const network = settings.vpc === undefined ? {} : placeInVpc(scope, role, settings.vpc, settings);

  const environment: Record<string, string> = {
    REDIS_URL: settings.redisUrl ?? '',
    TOPIC_PREFIX: settings.topicPrefix,
    REQUIRE_SUBSCRIBER: String(settings.requireSubscriber),
    REDIS_MAX_IDLE_SECONDS: String(settings.redisMaxIdleSeconds),
    DEAD_LETTER_QUEUE_URL: deadLetterQueue.queueUrl,
    METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
    NODE_OPTIONS: '--enable-source-maps',
  };
  if (settings.redisAuthSecret !== undefined) environment.REDIS_AUTH_SECRET_ARN = settings.redisAuthSecret.secretArn;
  if (settings.streamRetentionHours !== undefined) environment.STREAM_RETENTION_HOURS = String(settings.streamRetentionHours);
  if (settings.redisCluster !== undefined) environment.REDIS_CLUSTER = String(settings.redisCluster);
  if (settings.inventory) {
    environment.INVENTORY = 'true';
    environment.ASSET_TOPIC_PREFIX = settings.assetTopicPrefix;
    environment.INVENTORY_TOMBSTONE_HOURS = String(settings.inventoryTombstoneHours);
    environment.INVENTORY_FEED_BYTES_PER_SECOND = String(settings.inventoryFeedBytesPerSecond);
  }

  const fn = new lambda.Function(scope, 'SyncFunction', {
    functionName: `management-events-sync-${region}`,
    description: 'Publishes management events from the FIFO queue to Redis, in order per message group',
    code: functionCode('sync'),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: settings.memorySize,
    timeout: Duration.seconds(settings.functionTimeoutSeconds),
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment,
    ...network,
  });
  // Its grant covers ChangeMessageVisibility too, which the function's backoff of transient failures uses.
  const eventSource = new SqsEventSource(queue, {
    batchSize: 10,
    reportBatchItemFailures: true,
    // The mapping's own counts (polled, invoked, failed, deleted) for the dashboard: Lambda sends none without it.
    metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
  });
  fn.addEventSource(eventSource);

  const alarms = [
    ...publishAlarms(scope, fn.functionName),
    alarmAtOrAbove(scope, 'FunctionErrorsAlarm', {
      description: 'The sync function itself failed (crash, timeout, out of memory)',
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
    }),
  ];

  for (const [name, queryString] of savedQueries()) {
    new logs.QueryDefinition(scope, `Query-${name}`, {
      queryDefinitionName: `management-events-sync-${region}/${name}`,
      queryString,
      logGroups: [logGroup],
    });
  }

  output(scope, 'FunctionName', { value: fn.functionName });
  output(scope, 'LogGroupName', { value: logGroup.logGroupName });
  output(scope, 'TailCommand', {
    value: `aws logs tail ${logGroup.logGroupName} --follow --format short --region ${region}`,
    description: 'Follow what the function does',
  });
  return { function: fn, eventSourceMappingId: eventSource.eventSourceMappingId, logGroup, alarms };
}

type NetworkProps = Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;

/** The function's subnets and security groups, its ENI permissions, and on request the endpoints it calls. */
function placeInVpc(scope: Construct, role: iam.Role, vpc: ec2.IVpc, settings: ResolvedSyncProps): NetworkProps {
  const securityGroups = settings.securityGroups ?? [functionSecurityGroup(scope, vpc)];
  grantVpcNetworkInterfaces(role);
  if (settings.createVpcEndpoints) {
    const endpointSecurityGroup = new ec2.SecurityGroup(scope, 'EndpointSecurityGroup', {
      vpc,
      description: 'HTTPS from the sync function to the Secrets Manager, STS and SQS endpoints',
      allowAllOutbound: false,
    });
    for (const group of securityGroups)
      endpointSecurityGroup.addIngressRule(ec2.Peer.securityGroupId(group.securityGroupId), ec2.Port.tcp(443));
    for (const [name, service] of [
      ['SecretsManagerEndpoint', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
      ['StsEndpoint', ec2.InterfaceVpcEndpointAwsService.STS],
      // The function parks poison records in the dead-letter queue and backs off with ChangeMessageVisibility.
      ['SqsEndpoint', ec2.InterfaceVpcEndpointAwsService.SQS],
    ] as const) {
      new ec2.InterfaceVpcEndpoint(scope, name, {
        vpc,
        service,
        subnets: settings.vpcSubnets,
        securityGroups: [endpointSecurityGroup],
        privateDnsEnabled: true,
        // Only the function's security groups may connect (above), not the whole VPC.
        open: false,
      });
    }
  }
  return { vpc, vpcSubnets: settings.vpcSubnets, securityGroups: [...securityGroups] };
}

/** Created when none is given: its ID is output, for the cache's inbound rule (TCP 6379 from this group). */
function functionSecurityGroup(scope: Construct, vpc: ec2.IVpc): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'FunctionSecurityGroup', {
    vpc,
    description: 'management-events sync function',
    allowAllOutbound: true,
  });
  output(scope, 'FunctionSecurityGroupId', {
    value: group.securityGroupId,
    description: "Allow inbound TCP 6379 from this group in the Redis cache's security group",
  });
  return group;
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

/**
 * What the publishes say, as alarms: records failed (partial batch failures are not Lambda errors), and publishes
 * that reached nobody. The sync function's, or the poller's (FunctionName=poller, which it sends once a minute).
 */
export function publishAlarms(scope: Construct, functionName: string): cloudwatch.Alarm[] {
  const emf = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: DEFAULT_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { FunctionName: functionName },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
  return [
    alarmAtOrAbove(scope, 'FailedRecordsAlarm', {
      description: 'Records failed to publish (partial batch failures are not Lambda errors): see the failures-by-reason query',
      metric: emf(METRIC_NAMES.failed),
    }),
    alarmAtOrAbove(scope, 'ZeroReceiversAlarm', {
      description: 'Events were published to a channel nobody subscribes to: the inventory missed them',
      metric: emf(METRIC_NAMES.zeroReceivers),
    }),
  ];
}
