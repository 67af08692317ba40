import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { type RuleDefinition, selectRules } from '../infra/rules.ts';
import { SyncStack } from '../infra/sync-stack.ts';

const REDIS_URL = 'rediss://cache.example.internal:6379';

/** Every rule configuration users deploy, with the rule table the stack must carry for it. */
const CONFIGURATIONS: { readonly name: string; readonly context: Record<string, string>; readonly rules: RuleDefinition[] }[] = [
  {
    name: 'the default',
    context: {},
    rules: selectRules({ apiCallRule: true, resourceTypes: ['instance', 'vpc', 'subnet'] }),
  },
  {
    name: 'resourceTypes=all',
    context: { resourceTypes: 'all' },
    rules: selectRules({ apiCallRule: true, resourceTypes: 'all' }),
  },
  {
    name: 'resourceTypes=instance,vpc',
    context: { resourceTypes: 'instance,vpc' },
    rules: selectRules({ apiCallRule: true, resourceTypes: ['instance', 'vpc'] }),
  },
  {
    name: 'apiCallRule=false',
    context: { apiCallRule: 'false' },
    rules: selectRules({ apiCallRule: false, resourceTypes: ['instance', 'vpc', 'subnet'] }),
  },
  {
    name: 'consumer=poller, resourceTypes=all, apiCallRule=false',
    context: { consumer: 'poller', resourceTypes: 'all', apiCallRule: 'false' },
    rules: selectRules({ apiCallRule: false, resourceTypes: 'all' }),
  },
];

function synth(context: Record<string, string>) {
  const app = buildApp(new App({ context: { regions: 'eu-west-1', redisUrl: REDIS_URL, ...context } }));
  const stack = app.node.children.find((child): child is SyncStack => child instanceof SyncStack);
  assert.ok(stack !== undefined);
  return { app, stack, template: Template.fromStack(stack) };
}

type RuleResource = { Properties: { Name: string; EventPattern: unknown; Targets: Record<string, unknown>[] } };

function deployedRules(template: Template): RuleResource[] {
  return Object.values(template.findResources('AWS::Events::Rule')) as RuleResource[];
}

describe('the rules each configuration deploys', () => {
  for (const { name, context, rules } of CONFIGURATIONS) {
    describe(name, () => {
      const { app, stack, template } = synth(context);

      it('deploys exactly the rule table, each EventPattern equal to its plain JSON', () => {
        const deployed = deployedRules(template);
        assert.deepEqual(deployed.map((rule) => rule.Properties.Name).sort(), rules.map((rule) => rule.name).sort());
        for (const rule of rules) {
          const resource = deployed.find((candidate) => candidate.Properties.Name === rule.name);
          assert.deepEqual(resource?.Properties.EventPattern, rule.eventPattern, rule.name);
        }
      });

      it('gives every rule the FIFO target with its message group, the retry policy and the target DLQ', () => {
        const [targetDlq] = Object.keys(
          template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'management-events-eu-west-1-target-dlq' } }),
        );
        const [queue] = Object.keys(
          template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'management-events-eu-west-1.fifo' } }),
        );
        for (const rule of rules) {
          template.hasResourceProperties('AWS::Events::Rule', {
            Name: rule.name,
            EventBusName: Match.absent(),
            State: 'ENABLED',
            Targets: [
              {
                Id: Match.anyValue(),
                Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
                SqsParameters: { MessageGroupId: rule.messageGroupId },
                RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
                DeadLetterConfig: { Arn: { 'Fn::GetAtt': [targetDlq, 'Arn'] } },
              },
            ],
          });
        }
      });

      it('lets each of its rules, and only them, send to the queue', () => {
        const ruleIds = Object.keys(template.findResources('AWS::Events::Rule')).sort();
        const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
        const sourceArns = policies
          .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[])
          .filter((statement) => statement.Effect === 'Allow')
          .map((statement) => (statement.Condition as { ArnEquals: { 'aws:SourceArn': unknown } }).ArnEquals['aws:SourceArn']);
        const senders = new Set(sourceArns.map((arn) => (arn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]));
        assert.deepEqual([...senders].sort(), ruleIds);
      });

      it('passes cdk-nag AwsSolutions with nothing unacknowledged', () => {
        const assembly = app.synth();
        const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
        assert.deepEqual(report.pluginReports, [], JSON.stringify(report.pluginReports).slice(0, 2000));
      });

      it('passes cfn-lint with no errors', () => {
        const assembly = app.synth();
        const file = join(assembly.directory, stack.templateFile);
        const result = spawnSync('cfn-lint', ['--format', 'json', '--', file], { encoding: 'utf8' });
        assert.equal(result.error, undefined, 'cfn-lint must be installed (pip install cfn-lint)');
        const findings = JSON.parse(result.stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string }[];
        const errors = findings.filter((finding) => finding.Level === 'Error');
        assert.deepEqual(errors, [], result.stderr);
      });
    });
  }
});

/** EventBridge's "Event pattern size" quota: characters of one pattern (default; adjustable in Service Quotas). */
const EVENT_PATTERN_QUOTA = 2048;

describe("every event pattern a configuration deploys stays within EventBridge's pattern size quota", () => {
  const listedAccounts = (count: number) => Array.from({ length: count }, (_, i) => String(100_000_000_000 + i)).join(',');
  const contexts: Record<string, string>[] = [
    { archiveRetentionDays: '30' },
    { resourceTypes: 'all', archiveRetentionDays: '30' },
    // The most accounts docs/events.md promises, each with its own rules, and one archive over all of them.
    { accounts: listedAccounts(30), archiveRetentionDays: '30' },
  ];
  for (const context of contexts) {
    it(`${JSON.stringify(context).slice(0, 80)}: rules and archive`, () => {
      const { template } = synth(context);
      const patterns = [
        ...deployedRules(template).map((rule) => [rule.Properties.Name, rule.Properties.EventPattern]),
        ...Object.values(template.findResources('AWS::Events::Archive')).map((archive) => [
          'the archive',
          archive.Properties.EventPattern,
        ]),
      ];
      assert.ok(patterns.some(([name]) => name === 'the archive'));
      for (const [name, pattern] of patterns) {
        const size = JSON.stringify(pattern).length;
        assert.ok(size <= EVENT_PATTERN_QUOTA, `${name}: ${size} characters`);
      }
    });
  }
});

describe('rule context', () => {
  it('reports unknown resource types, "all" in a list and a bad apiCallRule all at once', () => {
    assert.throws(
      () => synth({ resourceTypes: 'instance,bucket,all', apiCallRule: 'no' }),
      (error: Error) => {
        assert.ok(error instanceof ContextError);
        assert.deepEqual(error.problems, [
          'apiCallRule must be true or false, got "no"',
          'resourceTypes: "all" stands alone (every resource type), not in a list',
        ]);
        return true;
      },
    );
    assert.throws(
      () => synth({ resourceTypes: 'instances,vpc,vpc' }),
      (error: Error) => {
        assert.ok(error instanceof ContextError);
        assert.deepEqual(error.problems, [
          'resourceTypes: "instances" is not one of instance, vpc, subnet (or all, for every tag change)',
          'resourceTypes lists a type twice',
        ]);
        return true;
      },
    );
  });

  it('accepts resourceTypes as a JSON list from cdk.json and apiCallRule as a boolean', () => {
    const app = buildApp(
      new App({ context: { regions: 'eu-west-1', consumer: 'poller', resourceTypes: ['subnet'], apiCallRule: false } }),
    );
    const stack = app.node.children.find((child): child is SyncStack => child instanceof SyncStack) as SyncStack;
    const rules = deployedRules(Template.fromStack(stack));
    assert.deepEqual(rules.map((rule) => rule.Properties.Name).sort(), ['management-events-ec2', 'management-events-tags']);
    const tags = rules.find((rule) => rule.Properties.Name === 'management-events-tags');
    assert.deepEqual(tags?.Properties.EventPattern, {
      source: ['aws.tag'],
      'detail-type': ['Tag Change on Resource'],
      detail: { service: ['ec2'], 'resource-type': ['subnet'] },
    });
  });
});
