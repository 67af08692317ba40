import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { SyncStack } from '../infra/sync-stack.ts';
import { outageCoveredSeconds, QUEUE_RETENTION_SECONDS } from '../lambda/retry-delay.ts';

const REDIS_URL = 'rediss://cache.example.internal:6379';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis-auth-AbCdEf';

function synthApp(context: Record<string, unknown>) {
  const app = buildApp(new App({ context: { regions: 'us-east-1,eu-west-1', ...context } }));
  const stacks = app.node.children.filter((child): child is SyncStack => child instanceof SyncStack);
  return { app, stacks, templates: stacks.map((stack) => Template.fromStack(stack)) };
}

function templateFor(context: Record<string, unknown>, region = 'eu-west-1') {
  const { stacks, templates } = synthApp({ regions: region, ...context });
  assert.equal(stacks.length, 1);
  return templates[0] as Template;
}

describe('the CDK app', () => {
  const { stacks, templates } = synthApp({ redisUrl: REDIS_URL });

  it('makes one stack per region, named after it', () => {
    assert.deepEqual(
      stacks.map((stack) => [stack.stackName, stack.region]),
      [
        ['management-events-sync-us-east-1', 'us-east-1'],
        ['management-events-sync-eu-west-1', 'eu-west-1'],
      ],
    );
  });

  for (const [index, region] of ['us-east-1', 'eu-west-1'].entries()) {
    describe(`in ${region}`, () => {
      const template = templates[index] as Template;

      it('creates the FIFO queue with content-based dedup, SSE, a visibility of 6x the timeout and a FIFO DLQ', () => {
        const dlq = template.findResources('AWS::SQS::Queue', {
          Properties: { QueueName: `management-events-${region}-dlq.fifo`, FifoQueue: true, MessageRetentionPeriod: 1_209_600 },
        });
        assert.equal(Object.keys(dlq).length, 1);
        template.hasResourceProperties('AWS::SQS::Queue', {
          QueueName: `management-events-${region}.fifo`,
          FifoQueue: true,
          ContentBasedDeduplication: true,
          SqsManagedSseEnabled: true,
          VisibilityTimeout: 60,
          // With the function's backoff, 1000 receives outlast the queue's retention: an outage dead-letters nothing.
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Object.keys(dlq)[0], 'Arn'] }, maxReceiveCount: 1000 },
        });
      });

      it('denies every queue access that is not over TLS', () => {
        const policies = template.findResources('AWS::SQS::QueuePolicy');
        const denies = Object.values(policies).flatMap((policy) =>
          (policy.Properties.PolicyDocument.Statement as { Effect: string; Condition?: unknown }[]).filter(
            (statement) => statement.Effect === 'Deny',
          ),
        );
        assert.equal(denies.length, 3, 'queue, dead-letter queue and target dead-letter queue');
        for (const deny of denies) assert.deepEqual(deny.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
      });

      it('creates the two seed rules on the default bus with their message groups, retries and a standard DLQ', () => {
        for (const [name, source, detailType, group] of [
          ['management-events-tags', 'aws.tag', 'Tag Change on Resource', 'management-events-tags'],
          ['management-events-ec2', 'aws.ec2', 'EC2 Instance State-change Notification', 'ec2-instances-events'],
        ]) {
          template.hasResourceProperties('AWS::Events::Rule', {
            Name: name,
            EventBusName: Match.absent(),
            EventPattern: { source: [source], 'detail-type': [detailType] },
            Targets: [
              Match.objectLike({
                SqsParameters: { MessageGroupId: group },
                RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
                DeadLetterConfig: { Arn: Match.anyValue() },
              }),
            ],
          });
        }
        const targetDlq = template.findResources('AWS::SQS::Queue', {
          Properties: { QueueName: `management-events-${region}-target-dlq` },
        });
        assert.equal(Object.keys(targetDlq).length, 1);
        assert.equal(Object.values(targetDlq)[0]?.Properties.FifoQueue, undefined, 'a standard queue');
      });

      it('lets the rules send to the queue (aws:SourceArn)', () => {
        const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
        const allows = policies.flatMap((policy) =>
          (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).filter(
            (statement) => statement.Effect === 'Allow' && JSON.stringify(statement.Principal).includes('events.amazonaws.com'),
          ),
        );
        const sourceArns = allows.map((statement) => JSON.stringify((statement.Condition as Record<string, unknown>)?.ArnEquals));
        assert.ok(sourceArns.filter((arn) => arn.includes('aws:SourceArn')).length >= 3, JSON.stringify(allows));
      });

      it('deploys the function on Node.js 24, arm64, JSON logs, source maps, with its own log group', () => {
        template.hasResourceProperties('AWS::Lambda::Function', {
          FunctionName: `management-events-sync-${region}`,
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Timeout: 10,
          Handler: 'index.handler',
          LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
          Environment: {
            Variables: {
              REDIS_URL,
              TOPIC_PREFIX: 'topic-account-management-events-',
              REQUIRE_SUBSCRIBER: 'false',
              METRICS_NAMESPACE: 'AssetSync',
              NODE_OPTIONS: '--enable-source-maps',
            },
          },
        });
        template.hasResourceProperties('AWS::Logs::LogGroup', {
          LogGroupName: `/aws/lambda/management-events-sync-${region}`,
          RetentionInDays: 30,
        });
      });

      it('grants the function its log group and its queue, nothing broader', () => {
        const policies = Object.values(template.findResources('AWS::IAM::Policy'));
        const statements = policies.flatMap(
          (policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
        );
        assert.ok(statements.length > 0);
        for (const statement of statements) assert.notEqual(statement.Resource, '*', JSON.stringify(statement));
        const actions = statements.flatMap((statement) => [statement.Action].flat() as string[]);
        assert.ok(
          actions.every((action) => /^(sqs|logs):/.test(action)),
          actions.join(),
        );
        template.resourceCountIs('AWS::IAM::Role', 1);
        const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
        assert.equal(role?.Properties.ManagedPolicyArns, undefined);
      });

      it('triggers the function from the queue in batches of 10 with partial batch responses', () => {
        template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          MaximumBatchingWindowInSeconds: Match.absent(),
        });
      });

      it('alarms on both dead-letter queues, the oldest message, failed records, zero receivers and function errors', () => {
        const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
        const byMetric = (name: string) => alarms.filter((alarm) => alarm.MetricName === name);
        assert.equal(byMetric('ApproximateNumberOfMessagesVisible').length, 2);
        assert.equal(byMetric('ApproximateAgeOfOldestMessage').length, 1);
        assert.equal(byMetric('Errors').length, 1);
        for (const name of ['RecordsFailed', 'ZeroReceiverPublishes']) {
          const [alarm] = byMetric(name);
          assert.equal(alarm?.Namespace, 'AssetSync');
          assert.equal(alarm?.Threshold, 1);
          assert.equal(alarm?.Dimensions[0].Name, 'FunctionName');
        }
      });

      it('says both ways into the dead-letter queue in its alarm: parked on the first try, or after maxReceiveCount receives', () => {
        const [dlq] = Object.keys(
          template.findResources('AWS::SQS::Queue', { Properties: { QueueName: `management-events-${region}-dlq.fifo` } }),
        );
        const [alarm] = Object.values(
          template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ApproximateNumberOfMessagesVisible' } }),
        ).filter((candidate) => JSON.stringify(candidate.Properties.Dimensions).includes(`"${dlq}"`));

        const description = String(alarm?.Properties.AlarmDescription);

        assert.match(description, new RegExp(`management-events-${region}-dlq\\.fifo`));
        assert.match(description, /parked on their first try/);
        assert.match(description, /after 1000 receives/);
      });

      it('saves the three Logs Insights queries against the function log group', () => {
        const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')).map((q) => q.Properties.Name);
        assert.deepEqual(queries.sort(), [
          `management-events-sync-${region}/failures-by-reason`,
          `management-events-sync-${region}/invocation-summaries`,
          `management-events-sync-${region}/resource-history`,
        ]);
        // Records whose outcome is unknown are failures SQS redelivers too: the query counts them.
        const failures = Object.values(template.findResources('AWS::Logs::QueryDefinition')).find((q) =>
          String(q.Properties.Name).endsWith('/failures-by-reason'),
        );
        assert.match(String(failures?.Properties.QueryString), /filter outcome in \["failed", "unknown"\]/);
      });

      it('outputs the queue URLs, the function, its log group and a ready tail command', () => {
        const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
        for (const name of [
          'QueueUrl',
          'DeadLetterQueueUrl',
          'TargetDeadLetterQueueUrl',
          'FunctionName',
          'LogGroupName',
          'TailCommand',
        ]) {
          assert.ok(outputs[name] !== undefined, name);
        }
        assert.match(JSON.stringify(outputs.TailCommand?.Value), new RegExp(`aws logs tail .*--region ${region}`));
      });
    });
  }

  it('passes cdk-nag AwsSolutions with nothing unacknowledged, in every configuration', () => {
    for (const context of [
      { redisUrl: REDIS_URL },
      { consumer: 'poller', alarmEmail: 'ops@example.com' },
      {
        regions: 'eu-west-1',
        redisUrl: REDIS_URL,
        redisAuthSecretArn: SECRET_ARN,
        alarmEmail: 'ops@example.com',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
        createVpcEndpoints: 'true',
      },
    ]) {
      const { app } = synthApp(context);
      const assembly = app.synth();
      const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
      assert.deepEqual(report.pluginReports, [], JSON.stringify(report.pluginReports).slice(0, 2000));
    }
  });
});

describe('context', () => {
  it('stops synth with every problem listed at once', () => {
    assert.throws(
      () =>
        synthApp({
          regions: 'us-east-1,moon-1',
          redisUrl: 'http://cache:6379',
          maxReceiveCount: '0',
          subnetIds: 'subnet-0123456789abcdef0',
          requireSubscriber: 'maybe',
        }),
      (error: Error) => {
        assert.ok(error instanceof ContextError);
        assert.equal(error.problems.length, 5, error.message);
        for (const key of ['moon-1', 'redisUrl', 'maxReceiveCount', 'vpcId', 'requireSubscriber'])
          assert.match(error.message, new RegExp(key));
        return true;
      },
    );
  });

  it('requires redisUrl for the Lambda consumer and names it', () => {
    assert.throws(() => synthApp({}), /redisUrl is required/);
  });

  it('refuses a redisUrl with credentials and points to redisAuthSecretArn, without echoing the password', () => {
    assert.throws(
      () => synthApp({ redisUrl: 'rediss://sync:hunter2@cache:6379' }),
      (error: Error) => /redisAuthSecretArn/.test(error.message) && !error.message.includes('hunter2'),
    );
  });

  it('warns, without stopping, when maxReceiveCount dead-letters an outage shorter than the retention, saying how long it covers', () => {
    const warningsFor = (maxReceiveCount: number) => {
      const { stacks } = synthApp({ regions: 'eu-west-1', redisUrl: REDIS_URL, maxReceiveCount: String(maxReceiveCount) });
      return Annotations.fromStack(stacks[0] as SyncStack)
        .findWarning('*', Match.stringLikeRegexp('maxReceiveCount'))
        .map((warning) => String(warning.entry.data));
    };
    // The fewest receives whose retries outlast the queue's retention, from the function's own schedule.
    let enough = 1;
    while (outageCoveredSeconds(enough) < QUEUE_RETENTION_SECONDS) enough += 1;
    assert.deepEqual(warningsFor(enough), []);
    assert.equal(warningsFor(enough - 1).length, 1);
    const [warning] = warningsFor(500);
    const hours = Number((outageCoveredSeconds(500) / 3600).toFixed(1));
    assert.match(
      warning ?? '',
      new RegExp(`^maxReceiveCount=500: .*outage of about ${hours} hours.*keeps events about 96 hours`),
    );
    const { stacks: quiet } = synthApp({ regions: 'eu-west-1', redisUrl: REDIS_URL });
    Annotations.fromStack(quiet[0] as SyncStack).hasNoWarning('*', Match.stringLikeRegexp('maxReceiveCount'));
  });

  it("warns that function settings go in the poller's environment with consumer=poller", () => {
    const { stacks } = synthApp({ regions: 'eu-west-1', consumer: 'poller', streamRetentionHours: '24' });
    Annotations.fromStack(stacks[0] as SyncStack).hasWarning(
      '*',
      Match.stringLikeRegexp(
        "streamRetentionHours configures the sync function.*STREAM_RETENTION_HOURS in the poller's environment",
      ),
    );
  });

  it('parses numbers and booleans given as strings with -c', () => {
    const template = templateFor({
      redisUrl: REDIS_URL,
      functionTimeoutSeconds: '8',
      maxReceiveCount: '3',
      requireSubscriber: 'true',
      memorySize: '512',
      logRetentionDays: '14',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 8,
      MemorySize: 512,
      Environment: { Variables: Match.objectLike({ REQUIRE_SUBSCRIBER: 'true' }) },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 48,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });
});

describe('options', () => {
  it('consumer=poller: queues, rules and alarms, no function and no redisUrl needed', () => {
    const template = templateFor({ consumer: 'poller' });
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.resourceCountIs('AWS::SQS::Queue', 3);
    // The queues' three, and the two on the metrics the poller sends (FunctionName=poller).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    for (const metricName of ['RecordsFailed', 'ZeroReceiverPublishes']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Namespace: 'AssetSync',
        Dimensions: [{ Name: 'FunctionName', Value: 'poller' }],
      });
    }
    assert.match(JSON.stringify(template.toJSON().Outputs.PollerCommand.Value), /node poller.mjs --queue-url/);
  });

  it('grants read on the Redis secret only, and passes its ARN, not its value', () => {
    const template = templateFor({ redisUrl: REDIS_URL, redisAuthSecretArn: SECRET_ARN });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: SECRET_ARN }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REDIS_AUTH_SECRET_ARN: SECRET_ARN }) },
    });
  });

  it('places the function in the VPC and adds the Secrets Manager, STS and SQS endpoints on request', () => {
    const template = templateFor({
      redisUrl: REDIS_URL,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0',
      securityGroupIds: 'sg-0123456789abcdef0',
      createVpcEndpoints: 'true',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] },
    });
    const services = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((endpoint) =>
      JSON.stringify(endpoint.Properties.ServiceName),
    );
    assert.equal(services.length, 3);
    assert.ok(services.some((name) => name.includes('secretsmanager')));
    assert.ok(services.some((name) => name.includes('sts')));
    // The function calls SQS itself: it parks poison records in the dead-letter queue and backs off retries.
    assert.ok(services.some((name) => name.includes('.sqs')));
  });

  it("creates a security group for the function when none is given, and outputs it for the cache's inbound rule", () => {
    const template = templateFor({ redisUrl: REDIS_URL, vpcId: 'vpc-0123456789abcdef0', subnetIds: 'subnet-0123456789abcdef0' });
    const groups = Object.keys(template.findResources('AWS::EC2::SecurityGroup'));
    assert.equal(groups.length, 1);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.FunctionSecurityGroupId?.Value, { 'Fn::GetAtt': [groups[0], 'GroupId'] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [groups[0], 'GroupId'] }] },
    });
  });

  it('sends alarms to an encrypted SNS topic with an email subscription when alarmEmail is set', () => {
    const template = templateFor({ redisUrl: REDIS_URL, alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]),
      },
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    assert.ok(alarms.every((alarm) => alarm.Properties.AlarmActions?.length === 1));
  });

  interface PolicyStatementJson {
    Effect: string;
    Principal?: unknown;
    Action: unknown;
    Condition?: Record<string, Record<string, string>>;
  }

  it("lets CloudWatch publish this account's alarms to that topic, whose TLS-only policy replaces SNS's default", () => {
    const template = templateFor({ redisUrl: REDIS_URL, alarmEmail: 'ops@example.com' });
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    assert.equal(policies.length, 1);
    const statements = policies[0]?.Properties.PolicyDocument.Statement as PolicyStatementJson[];
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    assert.deepEqual(
      allows.map((statement) => [statement.Principal, statement.Action, Object.keys(statement.Condition ?? {}).sort()]),
      [[{ Service: 'cloudwatch.amazonaws.com' }, 'sns:Publish', ['ArnLike', 'StringEquals']]],
    );
    assert.ok(
      statements.some(
        (statement) => statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
  });
});
