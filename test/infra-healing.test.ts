import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { archiveEventPattern } from '../infra/archive.ts';
import { ContextError } from '../infra/config.ts';
import { RULES, type RuleDefinition } from '../infra/rules.ts';
import { scheduleExpressionProblem } from '../infra/schedule-expression.ts';
import { SyncStack } from '../infra/sync-stack.ts';

const REDIS_URL = 'rediss://cache.example.internal:6379';
const REGION = 'eu-west-1';

function synth(context: Record<string, unknown>) {
  const app = buildApp(new App({ context: { regions: REGION, ...context } }));
  const stack = app.node.children.find((child): child is SyncStack => child instanceof SyncStack);
  assert.ok(stack);
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
  return { template: Template.fromStack(stack), nagReports: report.pluginReports as unknown[] };
}

/** cfn-lint's error-level findings (what CloudFormation would refuse); warnings are left to review. */
function cfnLintErrors(template: Template): { Rule: { Id: string }; Message: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template.toJSON()));
    const result = spawnSync('cfn-lint', ['--format', 'json', '--regions', REGION, '--', file], { encoding: 'utf8' });
    if (result.error !== undefined) throw result.error;
    if (result.stdout.trim() === '') {
      assert.equal(result.status, 0, result.stderr);
      return [];
    }
    return (JSON.parse(result.stdout) as { Level: string; Rule: { Id: string }; Message: string }[]).filter(
      (match) => match.Level === 'Error',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

function statementsOfRole(template: Template, roleDescription: string): Statement[] {
  const roles = template.findResources('AWS::IAM::Role', {
    Properties: { Description: Match.stringLikeRegexp(roleDescription) },
  });
  const [roleId] = Object.keys(roles);
  assert.ok(roleId, `a role described ${roleDescription}`);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

describe('opt-in healing: none of it by default', () => {
  for (const context of [{ redisUrl: REDIS_URL }, { consumer: 'poller' }]) {
    it(`adds no reconcile function, schedule or archive (${JSON.stringify(context)})`, () => {
      const { template } = synth(context);
      template.resourceCountIs('AWS::Scheduler::Schedule', 0);
      template.resourceCountIs('AWS::Events::Archive', 0);
      assert.deepEqual(
        Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.FunctionName),
        'redisUrl' in context ? [`management-events-sync-${REGION}`] : [],
      );
    });
  }
});

describe('reconcileSchedule', () => {
  const { template, nagReports } = synth({
    redisUrl: REDIS_URL,
    reconcileSchedule: 'rate(6 hours)',
    alarmEmail: 'ops@example.com',
  });
  const queueId = Object.keys(
    template.findResources('AWS::SQS::Queue', { Properties: { QueueName: `management-events-${REGION}.fifo` } }),
  )[0];
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { FunctionName: `management-events-reconcile-${REGION}` },
  });
  const [functionId] = Object.keys(functions);

  it('deploys the reconcile function on Node.js 24, arm64, 5 minutes, 1 GB, sending to the queue through every rule group', () => {
    assert.ok(functionId);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: `management-events-reconcile-${REGION}`,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 300,
      MemorySize: 1024,
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
      Environment: {
        Variables: {
          QUEUE_URL: { Ref: queueId },
          API_CALL_RULE: 'true',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/lambda/management-events-reconcile-${REGION}`,
      RetentionInDays: 30,
    });
    // A failed run is not repeated by Lambda: the next scheduled run lists everything again.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId },
      MaximumRetryAttempts: 0,
    });
  });

  it('grants exactly the three Describe calls, SendMessage on the queue, and its own log group', () => {
    const statements = statementsOfRole(template, 'reconcile function');
    const byAction = Object.fromEntries(
      statements.map((statement) => [[statement.Action].flat().sort().join(), statement.Resource]),
    );
    assert.deepEqual(byAction['ec2:DescribeInstances,ec2:DescribeSubnets,ec2:DescribeVpcs'], '*');
    assert.deepEqual(byAction['sqs:SendMessage'], { 'Fn::GetAtt': [queueId, 'Arn'] });
    const other = Object.keys(byAction).filter((actions) => !actions.startsWith('ec2:') && actions !== 'sqs:SendMessage');
    assert.deepEqual(other, ['logs:CreateLogStream,logs:PutLogEvents']);
    assert.ok(JSON.stringify(byAction[other[0] ?? '']).includes('ReconcileLogs'), 'its own log group only');
  });

  it('starts it with EventBridge Scheduler on the given expression, through a role that may only invoke it', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: `management-events-reconcile-${REGION}`,
      ScheduleExpression: 'rate(6 hours)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      }),
    });
    const statements = statementsOfRole(template, 'EventBridge Scheduler');
    assert.deepEqual(
      statements.map((statement) => statement.Action),
      ['lambda:InvokeFunction'],
    );
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('EventBridge Scheduler'),
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
  });

  it('alarms when a run fails, through the alarm topic, and outputs the command to run one now', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      AlarmActions: [Match.anyValue()],
    });
    const outputs = Object.values(template.findOutputs('*')).map((output) => output.Value);
    assert.ok(
      outputs.includes(
        `aws lambda invoke --function-name management-events-reconcile-${REGION} --region ${REGION} --cli-read-timeout 0 /dev/stdout`,
      ),
    );
  });

  it('passes cdk-nag and cfn-lint', () => {
    assert.deepEqual(nagReports, []);
    assert.deepEqual(cfnLintErrors(template), []);
  });

  it('works with consumer=poller too: it only needs the queue', () => {
    const { template: poller, nagReports: pollerNag } = synth({ consumer: 'poller', reconcileSchedule: 'cron(0 */6 * * ? *)' });
    assert.deepEqual(
      Object.values(poller.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.FunctionName),
      [`management-events-reconcile-${REGION}`],
    );
    poller.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 */6 * * ? *)' });
    assert.deepEqual(pollerNag, []);
    assert.deepEqual(cfnLintErrors(poller), []);
  });
});

describe('archiveRetentionDays', () => {
  const { template, nagReports } = synth({ consumer: 'poller', archiveRetentionDays: '30' });

  it('archives on the default bus what the rules match, for the given days', () => {
    template.hasResourceProperties('AWS::Events::Archive', {
      ArchiveName: `management-events-${REGION}`,
      SourceArn: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:events:${REGION}:`, { Ref: 'AWS::AccountId' }, ':event-bus/default'],
        ],
      },
      EventPattern: archiveEventPattern(RULES),
      RetentionDays: 30,
    });
  });

  it('outputs a replay command into the rules only', () => {
    const replay = Object.entries(template.findOutputs('*')).find(([id]) => id.includes('ReplayCommand'))?.[1];
    const text = JSON.stringify(replay?.Value);
    assert.match(text, /aws events start-replay/);
    for (const rule of RULES) assert.ok(text.includes(`:rule/${rule.name}`), `FilterArns names ${rule.name}`);
  });

  it('passes cdk-nag and cfn-lint', () => {
    assert.deepEqual(nagReports, []);
    assert.deepEqual(cfnLintErrors(template), []);
  });

  it('builds one pattern matching exactly what any rule matches', () => {
    const one = RULES.slice(0, 1);
    assert.deepEqual(archiveEventPattern(one), JSON.parse(JSON.stringify(one[0]?.eventPattern)));
    // Built from an existing rule, so the test follows the rule table's shape as it evolves.
    const nested = {
      source: ['aws.ec2'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['ec2.amazonaws.com'], errorCode: [{ exists: false }] },
    };
    const rules: RuleDefinition[] = [
      ...RULES,
      { ...(RULES[0] as RuleDefinition), name: 'another', eventPattern: nested as unknown as RuleDefinition['eventPattern'] },
    ];
    assert.deepEqual(archiveEventPattern(rules), { $or: rules.map((rule) => JSON.parse(JSON.stringify(rule.eventPattern))) });
  });
});

describe('context for the opt-ins', () => {
  it('accepts each form of Scheduler expression', () => {
    for (const expression of [
      'rate(1 hour)',
      'rate(6 hours)',
      'rate(30 minutes)',
      'rate(1 day)',
      'cron(0 */6 * * ? *)',
      'cron(15 2 ? * MON-FRI *)',
      'at(2026-12-24T06:00:00)',
    ]) {
      assert.equal(scheduleExpressionProblem(expression), undefined, expression);
    }
  });

  it('stops synth with one line per mistake, all at once', () => {
    assert.throws(
      () => synth({ redisUrl: REDIS_URL, reconcileSchedule: 'rate(1 hours)', archiveRetentionDays: '0' }),
      (error: Error) => {
        assert.ok(error instanceof ContextError);
        assert.deepEqual(error.problems, [
          'reconcileSchedule "rate(1 hours)": write rate(1 hour) (singular for 1)',
          'archiveRetentionDays must be a whole number from 1 to 3650, got "0"',
        ]);
        return true;
      },
    );
    for (const [expression, problem] of [
      ['every 6 hours', /must be an EventBridge Scheduler expression such as rate\(6 hours\)/],
      ['rate(0 minutes)', /at least 1/],
      ['rate(6 hour)', /plural above 1/],
      ['cron(0 6 * * *)', /takes 6 fields/],
      ['cron(0 6 * * 1 *)', /exactly one of day-of-month and day-of-week must be \?/],
      ['cron(0 6 * * ? 20x6)', /the year field/],
      ['at(2026-02-30T06:00:00)', /not a real date/],
    ] as const) {
      const message = scheduleExpressionProblem(expression);
      assert.match(message ?? '', problem, expression);
      assert.doesNotMatch(message ?? '', /\n/);
    }
  });
});
