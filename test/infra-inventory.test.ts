import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { matchesEventPattern } from '../infra/event-pattern.ts';
import { ManagementEventsSync, PropsError, Reconcile } from '../infra/index.ts';
import { MEMBER_INVENTORY_RULE_NAME, memberInventoryRule } from '../infra/inventory-rule.ts';
import { RULES } from '../infra/rules.ts';
import { INVENTORY_MESSAGE_GROUP } from '../lambda/inventory-events.ts';
import { onlyTemplate, REDIS_URL, type SynthesizedApp, synthesize, synthesizeStack } from './helpers/cdk-app.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

const REGION = 'eu-west-1';
const CENTRAL = '111122223333';
const ORGANIZATION = 'o-a1b2c3d4e5';
const DESCRIBE_QUEUE = `management-events-${REGION}-describe`;
const DESCRIBER = `management-events-describer-${REGION}`;
const DESCRIBE_ACTIONS = [
  'ec2:DescribeInstances',
  'ec2:DescribeVpcs',
  'ec2:DescribeSubnets',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVolumes',
  'ec2:DescribeAddresses',
];

/** A template's resource, as the assertions library hands it out (its values untyped). */
type Resource = ReturnType<Template['findResources']>[string];
type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const central = (context: Record<string, unknown> = {}) =>
  synthesize({ regions: REGION, redisUrl: REDIS_URL, inventory: 'true', ...context });

function only(template: Template, type: string, properties: Record<string, unknown> = {}): [string, Resource] {
  const found = Object.entries(template.findResources(type, { Properties: properties }));
  assert.equal(found.length, 1, `one ${type} with ${JSON.stringify(properties)}, found ${found.length}`);
  return found[0] as [string, Resource];
}

/** The function of this name, its logical ID and resource. */
const functionNamed = (template: Template, name: unknown) => only(template, 'AWS::Lambda::Function', { FunctionName: name });

/** Every statement of the policies attached to the role that the function runs as. */
function roleStatements(template: Template, fn: Resource): Statement[] {
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const role = template.toJSON().Resources[roleId] as Resource;
  assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no managed policy');
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

/** The rules' targets, by rule name. */
function targetsByRule(template: Template): Map<string, Resource[]> {
  return new Map(
    Object.values(template.findResources('AWS::Events::Rule')).map((rule) => [rule.Properties.Name, rule.Properties.Targets]),
  );
}

function queuePolicyStatements(template: Template, queueId: string): Statement[] {
  return Object.values(template.findResources('AWS::SQS::QueuePolicy'))
    .filter((policy) => JSON.stringify(policy.Properties.Queues) === JSON.stringify([{ Ref: queueId }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

function assertClean(synthesized: SynthesizedApp, regions: readonly string[] = [REGION]): void {
  assert.deepEqual(synthesized.nagReports, []);
  assert.deepEqual(cfnLintErrors(synthesized.rawTemplates, regions), []);
}

describe('without inventory', () => {
  for (const context of [{ redisUrl: REDIS_URL }, { consumer: 'poller' }, { centralAccount: CENTRAL }]) {
    it(`deploys no describe queue or describer, and the rules keep one target (${JSON.stringify(context)})`, () => {
      const template = onlyTemplate(synthesize({ regions: REGION, ...context }));
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      assert.ok(functions.every((fn) => !String(fn.Properties.FunctionName).includes('describer')));
      assert.ok(functions.every((fn) => fn.Properties.Environment.Variables.INVENTORY === undefined));
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 'redisUrl' in context ? 1 : 0);
      for (const targets of targetsByRule(template).values()) assert.equal(targets.length, 1);
    });
  }
});

describe('inventory=true in the central account', () => {
  const synthesized = central({ reconcileSchedule: 'rate(6 hours)', alarmEmail: 'ops@example.com' });
  const template = onlyTemplate(synthesized);
  const [fifoId] = only(template, 'AWS::SQS::Queue', { QueueName: `management-events-${REGION}.fifo` });
  const [describeQueueId, describeQueue] = only(template, 'AWS::SQS::Queue', { QueueName: DESCRIBE_QUEUE });
  const [describerId, describer] = functionNamed(template, DESCRIBER);

  it('adds the describe queue as the second target of every rule, delivered as the FIFO target is', () => {
    const rules = targetsByRule(template);
    assert.deepEqual([...rules.keys()].sort(), RULES.map((rule) => rule.name).sort());
    for (const [name, [fifo, describe, ...more]] of rules) {
      assert.equal(more.length, 0, name);
      assert.deepEqual(fifo?.Arn, { 'Fn::GetAtt': [fifoId, 'Arn'] }, name);
      assert.deepEqual(describe?.Arn, { 'Fn::GetAtt': [describeQueueId, 'Arn'] }, name);
      assert.equal(describe?.SqsParameters, undefined, 'a standard queue takes no message group');
      assert.deepEqual([describe?.RetryPolicy, describe?.DeadLetterConfig], [fifo?.RetryPolicy, fifo?.DeadLetterConfig]);
    }
  });

  it('makes the describe queue a standard, encrypted, TLS-only queue that only the rules may send to', () => {
    assert.equal(describeQueue.Properties.FifoQueue, undefined);
    assert.equal(describeQueue.Properties.SqsManagedSseEnabled, true);
    const statements = queuePolicyStatements(template, describeQueueId);
    assert.deepEqual(
      statements.filter((statement) => statement.Effect === 'Deny').map((statement) => statement.Condition),
      [{ Bool: { 'aws:SecureTransport': 'false' } }],
    );
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    assert.deepEqual(
      allows.map((statement) => [statement.Action, statement.Condition?.ArnEquals?.['aws:SourceArn']]),
      [
        [
          'sqs:SendMessage',
          Object.keys(template.findResources('AWS::Events::Rule')).map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
        ],
      ],
    );
  });

  it('keeps a batch invisible for six describer timeouts, and dead-letters a record after 20 receives, with an alarm', () => {
    assert.equal(describeQueue.Properties.VisibilityTimeout, 6 * describer.Properties.Timeout);
    const [dlqId, dlq] = only(template, 'AWS::SQS::Queue', { QueueName: `${DESCRIBE_QUEUE}-dlq` });
    assert.deepEqual(describeQueue.Properties.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: 20,
    });
    assert.equal(dlq.Properties.FifoQueue, undefined);
    assert.equal(dlq.Properties.SqsManagedSseEnabled, true);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [Match.anyValue()],
    });
  });

  it('reads the describe queue in batches of up to 1,000 gathered for 2 s, 2 at a time, with partial batch responses', () => {
    const [, mapping] = only(template, 'AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: describerId } });
    assert.deepEqual(mapping.Properties, {
      EventSourceArn: { 'Fn::GetAtt': [describeQueueId, 'Arn'] },
      FunctionName: { Ref: describerId },
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // The mapping is created once the role may read the queue: Lambda checks that when it creates it.
    const [policyId] = only(template, 'AWS::IAM::Policy', { Roles: [{ Ref: describer.Properties.Role['Fn::GetAtt'][0] }] });
    assert.ok(describer.DependsOn?.includes(policyId));
  });

  it('runs the describer on Node.js 24, arm64, outside any VPC, sending to the FIFO queue, with its own log group', () => {
    assert.deepEqual(
      [describer.Properties.Runtime, describer.Properties.Architectures, describer.Properties.Handler],
      ['nodejs24.x', ['arm64'], 'index.handler'],
    );
    assert.equal(describer.Properties.VpcConfig, undefined);
    assert.deepEqual(describer.Properties.Environment.Variables, {
      QUEUE_URL: { Ref: fifoId },
      METRICS_NAMESPACE: 'AssetSync',
      NODE_OPTIONS: '--enable-source-maps',
    });
    const [logGroupId] = only(template, 'AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${DESCRIBER}`, RetentionInDays: 30 });
    assert.deepEqual(describer.Properties.LoggingConfig, { LogFormat: 'JSON', LogGroup: { Ref: logGroupId } });
  });

  it('lets the describer describe, read its queue, send to the FIFO queue and write its logs, and nothing else', () => {
    const [logGroupId] = only(template, 'AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${DESCRIBER}` });
    assert.deepEqual(roleStatements(template, describer), [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
      { Effect: 'Allow', Action: DESCRIBE_ACTIONS, Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: { 'Fn::GetAtt': [describeQueueId, 'Arn'] },
      },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [fifoId, 'Arn'] } },
    ]);
  });

  it('alarms when the describer fails, through the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: describerId } }],
      AlarmActions: [Match.anyValue()],
    });
  });

  it("turns the sync function's inventory on, with the default change feed and tombstones", () => {
    const [, sync] = functionNamed(template, `management-events-sync-${REGION}`);
    assert.deepEqual(
      [
        sync.Properties.Environment.Variables.INVENTORY,
        sync.Properties.Environment.Variables.ASSET_TOPIC_PREFIX,
        sync.Properties.Environment.Variables.INVENTORY_TOMBSTONE_HOURS,
      ],
      ['true', 'topic-account-asset-changes-', '24'],
    );
  });

  it('sends reconcile snapshots to the inventory, through its group only', () => {
    const [, reconcile] = functionNamed(template, `management-events-reconcile-${REGION}`);
    assert.deepEqual(reconcile.Properties.Environment.Variables, {
      QUEUE_URL: { Ref: fifoId },
      INVENTORY: 'true',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('adds no rule for member accounts without organizationId', () => {
    assert.equal(targetsByRule(template).has(MEMBER_INVENTORY_RULE_NAME), false);
  });

  it('passes cdk-nag and cfn-lint', () => assertClean(synthesized));
});

describe('inventory settings', () => {
  it('gives the sync function the change feed prefix and tombstone hours from context', () => {
    const template = onlyTemplate(central({ assetTopicPrefix: 'asset-changes-', inventoryTombstoneHours: '72' }));
    const [, sync] = functionNamed(template, `management-events-sync-${REGION}`);
    assert.equal(sync.Properties.Environment.Variables.ASSET_TOPIC_PREFIX, 'asset-changes-');
    assert.equal(sync.Properties.Environment.Variables.INVENTORY_TOMBSTONE_HOURS, '72');
  });

  it('lists every bad inventory setting at once, one line each', () => {
    let problems: readonly string[] = [];
    try {
      central({ inventory: 'yes', inventoryTombstoneHours: '8761', assetTopicPrefix: 'changes for ', topicPrefix: 'feed-' });
    } catch (error) {
      assert.ok(error instanceof ContextError, String(error));
      problems = error.problems;
    }
    assert.deepEqual(problems, [
      'assetTopicPrefix must be non-empty and contain no white space',
      'inventory must be true or false, got "yes"',
      'inventoryTombstoneHours must be a whole number from 1 to 8760, got "8761"',
    ]);
  });

  it('refuses a change feed on the raw events channel', () => {
    assert.throws(
      () => central({ assetTopicPrefix: 'topic-account-management-events-' }),
      (error: Error) =>
        error instanceof ContextError &&
        error.problems.includes(
          'assetTopicPrefix must differ from topicPrefix: the change feed and the raw events are different messages',
        ),
    );
  });

  it('warns about inventory settings without the inventory, and tells poller users what to set in its environment', () => {
    const warnings = (context: Record<string, unknown>) => {
      const app = buildApp(new App({ context: { regions: REGION, ...context } }));
      const [stack] = app.node.children.filter((child): child is Stack => child instanceof Stack);
      return Annotations.fromStack(stack as Stack)
        .findWarning('*', Match.anyValue())
        .map((warning) => String(warning.entry.data));
    };
    assert.deepEqual(
      warnings({ redisUrl: REDIS_URL, inventoryTombstoneHours: '48' }).filter((text) => text.includes('inventory')),
      ['inventoryTombstoneHours has no effect without inventory [ack: sync:inventory-setting-unused]'],
    );
    const poller = warnings({ consumer: 'poller', inventory: 'true', assetTopicPrefix: 'asset-changes-' });
    assert.ok(poller.some((text) => text.includes("set INVENTORY=true in the poller's environment")));
    assert.ok(poller.some((text) => text.includes("set ASSET_TOPIC_PREFIX in the poller's environment")));
  });
});

describe('inventory=true with consumer=poller and with a VPC', () => {
  it('deploys the describer for the poller to apply, and no sync function', () => {
    const synthesized = synthesize({ regions: REGION, consumer: 'poller', inventory: 'true' });
    const template = onlyTemplate(synthesized);
    assert.deepEqual(
      Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.FunctionName),
      [DESCRIBER],
    );
    for (const targets of targetsByRule(template).values()) assert.equal(targets.length, 2);
    assertClean(synthesized);
  });

  it('keeps the describer out of the VPC the sync function runs in', () => {
    const synthesized = central({
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
      createVpcEndpoints: 'true',
    });
    const template = onlyTemplate(synthesized);
    assert.notEqual(functionNamed(template, `management-events-sync-${REGION}`)[1].Properties.VpcConfig, undefined);
    assert.equal(functionNamed(template, DESCRIBER)[1].Properties.VpcConfig, undefined);
    assertClean(synthesized);
  });
});

describe('inventory=true in the central account of an organization', () => {
  const synthesized = central({ organizationId: ORGANIZATION, regions: `${REGION},us-east-1` });
  const template = synthesized.templates.get(`management-events-sync-${REGION}`) as Template;
  const [fifoId] = only(template, 'AWS::SQS::Queue', { QueueName: `management-events-${REGION}.fifo` });
  const [ruleId, rule] = only(template, 'AWS::Events::Rule', { Name: MEMBER_INVENTORY_RULE_NAME });

  it("brings members' Asset State and Asset Snapshot events from the default bus into the inventory group", () => {
    assert.equal(rule.Properties.EventBusName, undefined, 'the default bus');
    assert.deepEqual(rule.Properties.EventPattern, {
      source: ['assets.describe', 'assets.reconcile'],
      'detail-type': ['Asset State', 'Asset Snapshot'],
      account: [{ 'anything-but': { Ref: 'AWS::AccountId' } }],
    });
    const [live] = targetsByRule(template).get(RULES[0]?.name ?? '') ?? [];
    assert.deepEqual(rule.Properties.Targets, [
      {
        Id: 'Target0',
        Arn: { 'Fn::GetAtt': [fifoId, 'Arn'] },
        SqsParameters: { MessageGroupId: INVENTORY_MESSAGE_GROUP },
        RetryPolicy: live?.RetryPolicy,
        DeadLetterConfig: live?.DeadLetterConfig,
      },
    ]);
    const allows = queuePolicyStatements(template, fifoId).filter((statement) => statement.Effect === 'Allow');
    assert.ok(
      allows.some((statement) => JSON.stringify(statement.Condition).includes(ruleId)),
      'the rule may send',
    );
  });

  it("matches members' descriptions and snapshots, and neither this account's own nor live events", () => {
    const { eventPattern } = memberInventoryRule(CENTRAL);
    const event = (source: string, detailType: string, account: string) => ({
      source,
      'detail-type': detailType,
      account,
      detail: {},
    });
    assert.deepEqual(
      [
        event('assets.describe', 'Asset State', '210987654321'),
        event('assets.reconcile', 'Asset Snapshot', '210987654321'),
        event('assets.describe', 'Asset State', CENTRAL),
        event('aws.ec2', 'EC2 Instance State-change Notification', '210987654321'),
      ].map((candidate) => matchesEventPattern(eventPattern, candidate)),
      [true, true, false, false],
    );
  });

  it('admits the members through the organization bus policy, which does not narrow sources or detail-types', () => {
    const [, policy] = only(template, 'AWS::Events::EventBusPolicy');
    assert.deepEqual(policy.Properties.Statement.Condition, { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION } });
    assert.equal(policy.Properties.Statement.Action, 'events:PutEvents');
  });

  it('passes cdk-nag and cfn-lint', () => assertClean(synthesized, [REGION, 'us-east-1']));
});

describe('inventory=true with per-account message groups', () => {
  const accounts = ['111111111111', '222222222222'];
  const synthesized = central({ organizationId: ORGANIZATION, accounts: accounts.join(',') });
  const template = onlyTemplate(synthesized);
  const [describeQueueId] = only(template, 'AWS::SQS::Queue', { QueueName: DESCRIBE_QUEUE });

  it('adds the describe queue to every rule and grants them by name in one statement', () => {
    const rules = targetsByRule(template);
    assert.equal(rules.size, RULES.length * (accounts.length + 1) + 1);
    for (const [name, targets] of rules) {
      assert.equal(targets.length, name === MEMBER_INVENTORY_RULE_NAME ? 1 : 2, name);
    }
    const allows = queuePolicyStatements(template, describeQueueId).filter((statement) => statement.Effect === 'Allow');
    assert.deepEqual(
      allows.map((statement) => statement.Condition),
      [
        {
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, `:events:${REGION}:`, { Ref: 'AWS::AccountId' }, ':rule/management-events-*'],
              ],
            },
          },
        },
      ],
    );
  });

  it('passes cdk-nag and cfn-lint', () => assertClean(synthesized));
});

describe('inventory=true in a member account', () => {
  const synthesized = synthesize({
    regions: REGION,
    centralAccount: CENTRAL,
    inventory: 'true',
    reconcileSchedule: 'rate(6 hours)',
    alarmEmail: 'ops@example.com',
  });
  const template = onlyTemplate(synthesized);
  const centralBus = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, `:${CENTRAL}:event-bus/default`]],
  };
  const memberName = (name: string) => ({ 'Fn::Join': ['', [name, { Ref: 'AWS::Region' }]] });
  const [describeQueueId] = only(template, 'AWS::SQS::Queue', {
    QueueName: { 'Fn::Join': ['', ['management-events-', { Ref: 'AWS::Region' }, '-describe']] },
  });
  const [, describer] = functionNamed(template, memberName('management-events-describer-'));
  const [, reconcile] = functionNamed(template, memberName('management-events-reconcile-'));

  it('describes its own account: the describe queue is the second target of each forwarding rule, delivered alike', () => {
    for (const [name, [forward, describe, ...more]] of targetsByRule(template)) {
      assert.equal(more.length, 0, name);
      assert.deepEqual(forward?.Arn, centralBus, name);
      assert.deepEqual(describe?.Arn, { 'Fn::GetAtt': [describeQueueId, 'Arn'] }, name);
      assert.deepEqual([describe?.RetryPolicy, describe?.DeadLetterConfig], [forward?.RetryPolicy, forward?.DeadLetterConfig]);
    }
  });

  it("puts the descriptions on the central account's bus: PutEvents there, no queue to send to", () => {
    assert.deepEqual(describer.Properties.Environment.Variables.CENTRAL_BUS_ARN, centralBus);
    assert.equal(describer.Properties.Environment.Variables.QUEUE_URL, undefined);
    const statements = roleStatements(template, describer);
    assert.deepEqual(statements.map((statement) => [statement.Action, statement.Resource]).slice(1), [
      [DESCRIBE_ACTIONS, '*'],
      [['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], { 'Fn::GetAtt': [describeQueueId, 'Arn'] }],
      ['events:PutEvents', centralBus],
    ]);
  });

  it("reconciles its own account onto the central account's bus", () => {
    assert.deepEqual(reconcile.Properties.Environment.Variables, {
      CENTRAL_BUS_ARN: centralBus,
      INVENTORY: 'true',
      NODE_OPTIONS: '--enable-source-maps',
    });
    const actions = roleStatements(template, reconcile).map((statement) => [statement.Action, statement.Resource]);
    assert.deepEqual(actions.slice(1), [
      [['ec2:DescribeInstances', 'ec2:DescribeVpcs', 'ec2:DescribeSubnets'], '*'],
      ['events:PutEvents', centralBus],
    ]);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(6 hours)' });
  });

  it('warns that the template now has assets, which a StackSet cannot take as it is', () => {
    const app = buildApp(new App({ context: { regions: REGION, centralAccount: CENTRAL, inventory: 'true' } }));
    const [stack] = app.node.children.filter((child): child is Stack => child instanceof Stack);
    Annotations.fromStack(stack as Stack).hasWarning('*', Match.stringLikeRegexp('no longer one a StackSet deploys as it is'));
    const plain = buildApp(new App({ context: { regions: REGION, centralAccount: CENTRAL } }));
    const [plainStack] = plain.node.children.filter((child): child is Stack => child instanceof Stack);
    assert.deepEqual(Annotations.fromStack(plainStack as Stack).findWarning('*', Match.anyValue()), []);
  });

  it('says, with memberAssetsBucketPrefix, where the code must be published instead of where it might be', () => {
    const warnings = (context: Record<string, unknown>) => {
      const member = { regions: REGION, centralAccount: CENTRAL, inventory: 'true', reconcileSchedule: 'rate(6 hours)' };
      const app = buildApp(new App({ context: { ...member, ...context } }));
      const [stack] = app.node.children.filter((child): child is Stack => child instanceof Stack);
      return Annotations.fromStack(stack as Stack)
        .findWarning('*', Match.anyValue())
        .map((warning) => String(warning.entry.data));
    };

    const [published, ...others] = warnings({ memberAssetsBucketPrefix: 'org-assets' });

    assert.deepEqual(others, []);
    assert.match(published as string, /reads the functions' code from the bucket org-assets-<region> of each region/);
    assert.match(published as string, /cdk publish-assets, in each region\) before you create or update the StackSet/);
    assert.doesNotMatch(published as string, /where the StackSet accounts can read them/);
    assert.equal(warnings({}).filter((warning) => warning.includes('where the StackSet accounts can read them')).length, 1);
  });

  it('reads the function code from the bucket of each region that memberAssetsBucketPrefix names', () => {
    const withBucket = onlyTemplate(
      synthesize({ regions: REGION, centralAccount: CENTRAL, inventory: 'true', memberAssetsBucketPrefix: 'org-assets' }),
    );
    const [, fn] = functionNamed(withBucket, memberName('management-events-describer-'));
    assert.deepEqual(fn.Properties.Code.S3Bucket, { 'Fn::Sub': `org-assets-\${AWS::Region}` });
  });

  it('passes cdk-nag and cfn-lint', () => assertClean(synthesized));
});

describe('member settings for the inventory', () => {
  const problemsOf = (context: Record<string, unknown>): readonly string[] => {
    try {
      buildApp(new App({ context: { regions: REGION, ...context } }));
    } catch (error) {
      assert.ok(error instanceof ContextError, String(error));
      return error.problems;
    }
    return [];
  };

  it('refuses reconcile without the inventory in a member account, and a bucket prefix without it', () => {
    assert.deepEqual(
      problemsOf({ centralAccount: CENTRAL, reconcileSchedule: 'rate(6 hours)', memberAssetsBucketPrefix: 'org-assets' }),
      [
        "reconcileSchedule in a member account needs inventory: its snapshots are for the central account's inventory",
        'memberAssetsBucketPrefix needs inventory: without it the member template has no assets',
      ],
    );
  });

  it('refuses a bucket prefix that cannot start a bucket name, and one for central stacks', () => {
    assert.match(
      problemsOf({ centralAccount: CENTRAL, inventory: 'true', memberAssetsBucketPrefix: 'Org_Assets' }).join(),
      /memberAssetsBucketPrefix "Org_Assets" is not the start of an S3 bucket name/,
    );
    assert.deepEqual(problemsOf({ redisUrl: REDIS_URL, memberAssetsBucketPrefix: 'org-assets' }), [
      'memberAssetsBucketPrefix is a member setting: it goes with centralAccount and inventory',
    ]);
  });

  it('refuses central-only inventory settings in a member account', () => {
    const problems = problemsOf({ centralAccount: CENTRAL, inventory: 'true', inventoryTombstoneHours: '48' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^inventoryTombstoneHours is a central setting: /);
  });
});

describe('the constructs used directly', () => {
  it('exposes the describer and its queues, for a dashboard or alarms of your own', () => {
    let sync: ManagementEventsSync | undefined;
    const synthesized = synthesizeStack((stack) => {
      sync = new ManagementEventsSync(stack, 'Sync', { redisUrl: REDIS_URL, inventory: true });
    });
    const template = onlyTemplate(synthesized);
    const inventory = sync?.inventory;
    assert.ok(inventory !== undefined);
    const stack = Stack.of(inventory);
    const [describerId] = functionNamed(template, DESCRIBER);
    const [queueId] = only(template, 'AWS::SQS::Queue', { QueueName: DESCRIBE_QUEUE });
    const [dlqId] = only(template, 'AWS::SQS::Queue', { QueueName: `${DESCRIBE_QUEUE}-dlq` });
    assert.deepEqual(
      [
        inventory.describerFunction.functionName,
        inventory.describeQueue.queueUrl,
        inventory.describeDeadLetterQueue.queueUrl,
      ].map((token) => stack.resolve(token)),
      [{ Ref: describerId }, { Ref: queueId }, { Ref: dlqId }],
    );
    assert.equal(inventory.alarms.length, 2);
    assert.ok(
      inventory.alarms.every((alarm) => sync?.alarms.includes(alarm)),
      'the setup sends them where its own go',
    );
  });

  it('refuses a reconcile with no destination, or snapshots for the central bus without the inventory', () => {
    const problems = (props: ConstructorParameters<typeof Reconcile>[2]): readonly string[] => {
      try {
        new Reconcile(new Stack(new App(), 'team-stack', { env: { region: REGION } }), 'Reconcile', props);
      } catch (error) {
        assert.ok(error instanceof PropsError, String(error));
        return error.problems;
      }
      return [];
    };
    const base = { region: REGION, schedule: scheduler.ScheduleExpression.expression('rate(6 hours)'), logRetentionDays: 30 };
    assert.deepEqual(problems(base), ['give queue or centralBusArn, one of them', 'apiCallRule is required without inventory']);
    assert.deepEqual(problems({ ...base, centralBusArn: `arn:aws:events:${REGION}:${CENTRAL}:event-bus/default` }), [
      "centralBusArn needs inventory: the central account takes members' snapshots into its inventory only",
      'apiCallRule is required without inventory',
    ]);
  });
});
