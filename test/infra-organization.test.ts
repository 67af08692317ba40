import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { RULES } from '../infra/rules.ts';
import { onlyTemplate, REDIS_URL, synthesize } from './helpers/cdk-app.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

const CENTRAL = '111122223333';
const ORGANIZATION = 'o-a1b2c3d4e5';
const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';

type Statement = { Effect: string; Action: unknown; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

function statementsOf(resources: Record<string, Record<string, unknown>>): Statement[] {
  return Object.values(resources).flatMap(
    (resource) => (resource.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
  );
}

describe('member stacks (centralAccount)', () => {
  const member = synthesize({ regions: 'us-east-1,eu-west-1', centralAccount: CENTRAL });
  const template = onlyTemplate(member);
  const json = template.toJSON();
  const centralBus = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, `:${CENTRAL}:event-bus/default`]],
  };

  it('is one environment-agnostic template: every region a StackSet deploys to forwards to the central bus of that region', () => {
    assert.deepEqual(
      member.stacks.map((stack) => stack.stackName),
      ['management-events-member'],
    );
    assert.match(JSON.stringify(json), /AWS::Region/);
  });

  it('deploys the same rules as the central stacks, with the same names and patterns, to the central default bus', () => {
    template.resourceCountIs('AWS::Events::Rule', RULES.length);
    for (const rule of RULES) {
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: rule.name,
        EventBusName: Match.absent(),
        EventPattern: rule.eventPattern,
        Targets: [
          Match.objectLike({
            Arn: centralBus,
            RoleArn: Match.anyValue(),
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
            DeadLetterConfig: { Arn: Match.anyValue() },
          }),
        ],
      });
    }
  });

  it('lets the forwarding role do nothing but events:PutEvents on the central bus, assumed only by EventBridge of this account', () => {
    template.resourceCountIs('AWS::IAM::Role', 1);
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
    assert.equal(role?.Properties.ManagedPolicyArns, undefined);
    assert.deepEqual(role?.Properties.AssumeRolePolicyDocument.Statement, [
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    const statements = statementsOf(template.findResources('AWS::IAM::Policy'));
    assert.deepEqual(statements, [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: centralBus }]);
  });

  it('puts what the central bus refuses in an encrypted, TLS-only standard queue that only its rules may write, with an alarm', () => {
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    assert.equal(queues.length, 1);
    assert.equal(queues[0]?.Properties.FifoQueue, undefined, 'a standard queue: EventBridge refuses a FIFO dead-letter queue');
    assert.equal(queues[0]?.Properties.SqsManagedSseEnabled, true);
    const statements = statementsOf(template.findResources('AWS::SQS::QueuePolicy'));
    assert.deepEqual(
      statements.filter((statement) => statement.Effect === 'Deny').map((statement) => statement.Condition),
      [{ Bool: { 'aws:SecureTransport': 'false' } }],
    );
    const [allow, ...more] = statements.filter((statement) => statement.Effect === 'Allow');
    assert.equal(more.length, 0);
    const sources = allow?.Condition?.ArnEquals?.['aws:SourceArn'] as unknown[];
    assert.equal(sources.length, RULES.length, 'exactly the forwarding rules');
    const rules = Object.keys(template.findResources('AWS::Events::Rule'));
    assert.deepEqual(sources.map((source) => (source as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).sort(), [...rules].sort());
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
    });
  });

  it('has no queue, function or Redis setting', () => {
    for (const type of ['AWS::Lambda::Function', 'AWS::Lambda::EventSourceMapping', 'AWS::Events::EventBusPolicy'])
      template.resourceCountIs(type, 0);
    assert.doesNotMatch(JSON.stringify(json), /redis|\.fifo/i);
  });

  it('deploys through a service-managed StackSet: no parameters, no rules, no assets, no bootstrap reference', () => {
    assert.equal(json.Parameters, undefined);
    assert.equal(json.Rules, undefined);
    assert.doesNotMatch(JSON.stringify(json), /cdk-hnb659fds|BootstrapVersion|AssetParameters|cdk-assets/);
    // The only file asset is the template itself; nothing to upload to a bootstrap bucket, no image to push.
    const manifest = member.assembly.tryGetArtifact('management-events-member.assets');
    const assets = JSON.parse(readFileSync(join(member.assembly.directory, 'management-events-member.assets.json'), 'utf8'));
    assert.ok(manifest !== undefined);
    assert.deepEqual(
      Object.values(assets.files as Record<string, { source: { path: string } }>).map((file) => file.source.path),
      ['management-events-member.template.json'],
    );
    assert.deepEqual(assets.dockerImages ?? {}, {});
  });

  it('is clean for cdk-nag and cfn-lint, with and without alarm e-mail', () => {
    assert.deepEqual(member.nagReports, []);
    const withEmail = synthesize({ regions: 'us-east-1', centralAccount: CENTRAL, alarmEmail: 'ops@example.com' });
    assert.deepEqual(withEmail.nagReports, []);
    onlyTemplate(withEmail).hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' });
    assert.deepEqual(cfnLintErrors([...member.rawTemplates, ...withEmail.rawTemplates], ['us-east-1', 'eu-west-1']), []);
  });
});

describe('central stacks (organizationId)', () => {
  const central = synthesize({ regions: 'us-east-1,eu-west-1', organizationId: ORGANIZATION, redisUrl: REDIS_URL });

  it('lets the accounts of the organization, and only them, put events on the default bus of each region', () => {
    for (const template of central.templates.values()) {
      template.resourceCountIs('AWS::Events::EventBusPolicy', 1);
      template.hasResourceProperties('AWS::Events::EventBusPolicy', {
        EventBusName: 'default',
        Statement: {
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                Match.stringLikeRegexp('^:events:(us-east-1|eu-west-1):$'),
                { Ref: 'AWS::AccountId' },
                ':event-bus/default',
              ],
            ],
          },
          Condition: { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION } },
        },
      });
      // Rules that match every account's events: no account filter.
      for (const rule of Object.values(template.findResources('AWS::Events::Rule')))
        assert.equal(rule.Properties.EventPattern.account, undefined);
    }
  });

  it('adds no bus policy without organizationId', () => {
    const plain = synthesize({ regions: 'us-east-1', redisUrl: REDIS_URL });
    onlyTemplate(plain).resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  it('is clean for cdk-nag and cfn-lint', () => {
    assert.deepEqual(central.nagReports, []);
    assert.deepEqual(cfnLintErrors(central.rawTemplates, ['us-east-1', 'eu-west-1']), []);
  });
});

describe('per-account message groups (accounts)', () => {
  const perAccount = synthesize({
    regions: 'eu-west-1',
    organizationId: ORGANIZATION,
    redisUrl: REDIS_URL,
    accounts: `${ACCOUNT_A},${ACCOUNT_B}`,
  });
  const template = onlyTemplate(perAccount);

  it('makes one rule per account and kind, its pattern narrowed to the account and its group suffixed with it', () => {
    for (const rule of RULES) {
      for (const account of [ACCOUNT_A, ACCOUNT_B]) {
        template.hasResourceProperties('AWS::Events::Rule', {
          Name: `${rule.name}-${account}`,
          EventPattern: { ...rule.eventPattern, account: [account] },
          Targets: [Match.objectLike({ SqsParameters: { MessageGroupId: `${rule.messageGroupId}-${account}` } })],
        });
      }
    }
  });

  it("keeps the seed's rule and group for every account not listed, so an account that joins later is not lost", () => {
    for (const rule of RULES) {
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: rule.name,
        EventPattern: { ...rule.eventPattern, account: [{ 'anything-but': [ACCOUNT_A, ACCOUNT_B] }] },
        Targets: [Match.objectLike({ SqsParameters: { MessageGroupId: rule.messageGroupId } })],
      });
    }
    template.resourceCountIs('AWS::Events::Rule', RULES.length * 3);
  });

  it('grants the rules in one queue-policy statement, whatever the number of accounts (SQS allows 20 statements)', () => {
    const accounts = Array.from({ length: 40 }, (_, i) => String(100_000_000_000 + i));
    const many = onlyTemplate(synthesize({ regions: 'eu-west-1', redisUrl: REDIS_URL, accounts: accounts.join(',') }));
    many.resourceCountIs('AWS::Events::Rule', RULES.length * 41);
    const allows = statementsOf(many.findResources('AWS::SQS::QueuePolicy')).filter((s) => s.Effect === 'Allow');
    assert.equal(allows.length, 2, 'one statement for the queue, one for the target dead-letter queue');
    for (const allow of allows) {
      assert.deepEqual(allow.Condition, {
        ArnLike: {
          'aws:SourceArn': {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:', { Ref: 'AWS::AccountId' }, ':rule/management-events-*'],
            ],
          },
        },
      });
    }
  });

  it('warns when the rules exceed the default quota of 300 per bus', () => {
    const accounts = Array.from({ length: 150 }, (_, i) => String(100_000_000_000 + i));
    const app = buildApp(new App({ context: { regions: 'eu-west-1', redisUrl: REDIS_URL, accounts: accounts.join(',') } }));
    const [stack] = app.node.children.filter((child) => child.node.id.startsWith('management-events-sync-'));
    Annotations.fromStack(stack as never).hasWarning('*', Match.stringLikeRegexp('quota of 300 rules per bus'));
  });

  it('is clean for cdk-nag and cfn-lint', () => {
    assert.deepEqual(perAccount.nagReports, []);
    assert.deepEqual(cfnLintErrors(perAccount.rawTemplates, ['eu-west-1']), []);
  });
});

describe('organization settings', () => {
  const problemsOf = (context: Record<string, unknown>): string[] => {
    try {
      buildApp(new App({ context: { regions: 'us-east-1', ...context } }));
    } catch (error) {
      if (error instanceof ContextError) return [...error.problems];
      throw error;
    }
    return [];
  };

  it('stops synth on a malformed centralAccount or organizationId, one line each', () => {
    assert.deepEqual(problemsOf({ centralAccount: '1234' }), ['centralAccount "1234" is not a 12-digit AWS account ID']);
    const [problem, ...others] = problemsOf({ organizationId: 'org-123', redisUrl: REDIS_URL });
    assert.equal(others.length, 0);
    assert.match(problem ?? '', /^organizationId "org-123" is not an AWS Organizations ID/);
    assert.doesNotMatch(problem ?? '', /\n/);
    assert.match(problemsOf({ accounts: '111111111111,12', redisUrl: REDIS_URL }).join(), /"12" is not a 12-digit/);
  });

  it('refuses redisUrl and central-only settings in member mode, with the reason', () => {
    const problems = problemsOf({
      centralAccount: CENTRAL,
      redisUrl: REDIS_URL,
      vpcId: 'vpc-0123456789abcdef0',
      organizationId: ORGANIZATION,
      maxReceiveCount: '7',
    });
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0] ?? '', /^redisUrl is a central setting: .*never talks to Redis/);
    for (const key of ['vpcId', 'organizationId', 'maxReceiveCount'])
      assert.ok(
        problems.some((problem) => problem.startsWith(`${key} is a central setting: `)),
        key,
      );
  });

  it('accepts in member mode the values cdk.json carries for the central stacks (they are the defaults)', () => {
    assert.deepEqual(
      problemsOf({
        centralAccount: CENTRAL,
        consumer: 'lambda',
        functionTimeoutSeconds: 10,
        logRetentionDays: 30,
      }),
      [],
    );
  });
});
