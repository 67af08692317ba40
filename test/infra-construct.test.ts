import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  ManagementEventsForwarder,
  type ManagementEventsForwarderProps,
  ManagementEventsSync,
  type ManagementEventsSyncProps,
  PropsError,
} from '../infra/index.ts';
import { onlyTemplate, REDIS_URL, synthesizeStack } from './helpers/cdk-app.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

/** The problems a construct reports for these props, or none. */
function problemsOf(create: (stack: Stack) => void, context: Record<string, unknown> = {}): readonly string[] {
  try {
    create(new Stack(new App({ context }), 'team-stack', { env: { region: 'eu-west-1' } }));
    return [];
  } catch (error) {
    assert.ok(error instanceof PropsError, String(error));
    return error.problems;
  }
}

const syncProblems = (props: ManagementEventsSyncProps, context?: Record<string, unknown>) =>
  problemsOf((stack) => new ManagementEventsSync(stack, 'Sync', props), context);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function statementsOf(template: ReturnType<typeof onlyTemplate>, type = 'AWS::IAM::Policy'): Statement[] {
  return Object.values(template.findResources(type)).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

describe('ManagementEventsSync props', () => {
  it('lists every problem at once, in one PropsError, without echoing a password', () => {
    const topic = (stack: Stack) => new sns.Topic(stack, 'Topic');
    const problems = problemsOf((stack) => {
      new ManagementEventsSync(stack, 'Sync', {
        redisUrl: 'rediss://sync:hunter2@cache:6379',
        maxReceiveCount: 0,
        functionTimeoutSeconds: 4,
        redisMaxIdleSeconds: 3601,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        alarmEmail: 'ops@example.com',
        alarmTopic: topic(stack),
        accounts: ['111111111111', '12'],
        reconcileSchedule: scheduler.ScheduleExpression.expression('rate(1 hours)'),
        topicPrefix: '',
      });
    });
    assert.deepEqual(problems, [
      'redisUrl carries a user or password, which would be stored in the template in clear text: put the password in a Secrets Manager secret and pass it as redisAuthSecret',
      'topicPrefix must be non-empty and contain no white space',
      'redisMaxIdleSeconds must be a whole number from 0 to 3600, got "3601"',
      'vpcSubnets, securityGroups and createVpcEndpoints need vpc',
      'alarmEmail and alarmTopic exclude each other: subscribe the address to your topic instead',
      'maxReceiveCount must be a whole number from 1 to 1000, got "0"',
      'functionTimeoutSeconds must be a whole number from 5 to 120, got "4"',
      'accounts: "12" is not a 12-digit AWS account ID',
      'reconcileSchedule "rate(1 hours)": write rate(1 hour) (singular for 1)',
    ]);
  });

  it('checks values a JavaScript caller may pass with the wrong type', () => {
    const props = {
      consumer: 'ec2',
      requireSubscriber: 'yes',
      resourceTypes: 'instance',
    } as unknown as ManagementEventsSyncProps;
    assert.deepEqual(syncProblems({ redisUrl: REDIS_URL, ...props }), [
      'consumer must be lambda or poller, got "ec2"',
      'requireSubscriber must be true or false, got "yes"',
      'resourceTypes must be "all" or a list of instance, vpc, subnet, got "instance"',
    ]);
  });

  it('requires redisUrl for the function, but not where the template is never deployed (cdk ls, cdk destroy)', () => {
    assert.deepEqual(syncProblems({}), ["redisUrl is required, unless consumer is 'poller'"]);
    assert.deepEqual(syncProblems({}, { 'aws:cdk:bundling-stacks': [] }), []);
    assert.deepEqual(syncProblems({ consumer: 'poller' }), []);
  });

  it("checks a redisUrl built from a cache's tokens on what synth knows, and leaves the rest to the tokens", () => {
    const withCache = (url: (address: string, port: string) => string) =>
      problemsOf((stack) => {
        const cache = new elasticache.CfnServerlessCache(stack, 'Cache', { engine: 'redis', serverlessCacheName: 'inventory' });
        new ManagementEventsSync(stack, 'Sync', { redisUrl: url(cache.attrEndpointAddress, cache.attrEndpointPort) });
      });
    assert.deepEqual(
      withCache((address, port) => `rediss://${address}:${port}`),
      [],
    );
    assert.deepEqual(
      withCache((address) => address),
      [],
    );
    assert.deepEqual(
      withCache((address, port) => `https://${address}:${port}`),
      ['redisUrl must be a redis:// or rediss:// URL with a host and a port from 1 to 65535'],
    );
    assert.match(
      withCache((address, port) => `rediss://sync:${port}@${address}:6379`).join(),
      /^redisUrl carries a user or password/,
    );
  });
});

describe('ManagementEventsSync in a team stack', () => {
  it('reads a secret of the stack, decrypting with its key only through Secrets Manager of its region', () => {
    const synthesized = synthesizeStack((stack) => {
      const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const secret = new secretsmanager.Secret(stack, 'RedisSecret', { encryptionKey });
      Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The team rotates the Redis password itself.' });
      new ManagementEventsSync(stack, 'Sync', { redisUrl: REDIS_URL, redisAuthSecret: secret });
    });
    const template = onlyTemplate(synthesized);
    const [secretId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    const statements = statementsOf(template);
    assert.ok(
      statements.some(
        (statement) =>
          JSON.stringify(statement.Action) === '["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"]' &&
          JSON.stringify(statement.Resource) === JSON.stringify({ Ref: secretId }),
      ),
      JSON.stringify(statements),
    );
    assert.deepEqual(
      statements.filter((statement) => JSON.stringify(statement.Action).includes('kms:')),
      [
        {
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
        },
      ],
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REDIS_AUTH_SECRET_ARN: { Ref: secretId } }) },
    });
    assert.deepEqual(synthesized.nagReports, []);
    assert.deepEqual(cfnLintErrors(synthesized.rawTemplates, ['eu-west-1']), []);
  });

  it("sends every alarm, its own and those added later, to the team's topic, and creates no topic of its own", () => {
    const synthesized = synthesizeStack((stack) => {
      const topic = new sns.Topic(stack, 'TeamAlarms', {
        enforceSSL: true,
        masterKey: new kms.Key(stack, 'TopicKey', { enableKeyRotation: true }),
      });
      const sync = new ManagementEventsSync(stack, 'Sync', {
        redisUrl: REDIS_URL,
        alarmTopic: topic,
        reconcileSchedule: scheduler.ScheduleExpression.rate(Duration.hours(6)),
        logRetentionDays: logs.RetentionDays.TWO_WEEKS,
      });
      sync.addAlarm(
        new cloudwatch.Alarm(stack, 'TeamAlarm', {
          metric: sync.queue.metricNumberOfMessagesSent(),
          threshold: 1000,
          evaluationPeriods: 1,
        }),
      );
    });
    const template = onlyTemplate(synthesized);
    const [topicId, ...otherTopics] = Object.keys(template.findResources('AWS::SNS::Topic'));
    assert.equal(otherTopics.length, 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // Six of its own (three for the queues, three for the function), the reconcile function's, the team's.
    assert.equal(alarms.length, 8);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.Properties.AlarmActions, [{ Ref: topicId }]);
      assert.deepEqual(alarm.Properties.OKActions, [{ Ref: topicId }]);
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/management-events-sync-eu-west-1',
      RetentionInDays: 14,
    });
    assert.deepEqual(synthesized.nagReports, []);
    assert.deepEqual(cfnLintErrors(synthesized.rawTemplates, ['eu-west-1']), []);
  });

  it('names its resources after the region CloudFormation deploys to when the stack has no region of its own', () => {
    const stack = new Stack(new App(), 'anywhere');
    new ManagementEventsSync(stack, 'Sync', { consumer: 'poller' });
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      QueueName: { 'Fn::Join': ['', ['management-events-', { Ref: 'AWS::Region' }, '.fifo']] },
    });
  });

  it('warns, without stopping, that function settings go in the poller environment with the poller', () => {
    const stack = new Stack(new App(), 'team-stack', { env: { region: 'eu-west-1' } });
    new ManagementEventsSync(stack, 'Sync', { consumer: 'poller', redisMaxIdleSeconds: 60 });
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp(
        "redisMaxIdleSeconds configures the sync function.*REDIS_MAX_IDLE_SECONDS in the poller's environment",
      ),
    );
  });
});

describe('ManagementEventsForwarder props', () => {
  const forwarderProblems = (props: ManagementEventsForwarderProps) =>
    problemsOf((stack) => new ManagementEventsForwarder(stack, 'Forwarder', props));

  it('lists every problem at once', () => {
    assert.deepEqual(forwarderProblems({ centralAccount: '1234', alarmEmail: 'ops', apiCallRule: 'no' as unknown as boolean }), [
      'centralAccount "1234" is not a 12-digit AWS account ID',
      'alarmEmail "ops" is not an email address',
      'apiCallRule must be true or false, got "no"',
    ]);
  });

  it('forwards the same rules as the sync construct, in a team stack, clean for cdk-nag and cfn-lint', () => {
    const synthesized = synthesizeStack((stack) => {
      new ManagementEventsForwarder(stack, 'Forwarder', {
        centralAccount: '111122223333',
        resourceTypes: 'all',
        apiCallRule: false,
      });
    });
    const template = onlyTemplate(synthesized);
    assert.deepEqual(
      Object.values(template.findResources('AWS::Events::Rule')).map((rule) => rule.Properties.Name),
      ['management-events-tags', 'management-events-ec2'],
    );
    assert.deepEqual(synthesized.nagReports, []);
    assert.deepEqual(cfnLintErrors(synthesized.rawTemplates, ['eu-west-1']), []);
  });
});
