import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, synthesizeApp } from '../infra/app.ts';
import { TEMPLATE_BYTES, templateSizeProblems } from '../infra/deployment-limits.ts';
import { ManagementEventsSync } from '../infra/management-events-sync.ts';
import { SettingsError } from '../infra/problems.ts';
import { SyncStack } from '../infra/sync-stack.ts';
import { REDIS_URL, refusedProblems } from './helpers/cdk-app.ts';

const REGION = 'us-east-1';

/** `count` distinct 12-digit account IDs. */
function accountIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(200000000000 + i * 7919));
}

function build(context: Record<string, unknown>): App {
  return buildApp(new App({ context: { regions: REGION, redisUrl: REDIS_URL, ...context } }));
}

function syncStack(app: App): SyncStack {
  const stack = app.node.children.find((child): child is SyncStack => child instanceof SyncStack);
  assert.ok(stack !== undefined);
  return stack;
}

/** The function's environment as Lambda measures it: its variables as JSON. */
function environmentBytes(template: Template, functionName: string): number {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: functionName } }));
  assert.ok(fn !== undefined);
  return Buffer.byteLength(JSON.stringify(fn.Properties.Environment.Variables));
}

describe("Lambda's 4 KB environment", () => {
  it('fits the reconcile function with 36 accounts: it gets the accounts, not every message group (4,204 bytes)', () => {
    const template = Template.fromStack(
      syncStack(build({ accounts: accountIds(36).join(','), reconcileSchedule: 'rate(6 hours)' })),
    );

    const bytes = environmentBytes(template, `management-events-reconcile-${REGION}`);
    assert.ok(bytes < 4096, `${bytes} bytes`);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: `management-events-reconcile-${REGION}`,
      Environment: { Variables: { ACCOUNTS: accountIds(36).join(','), API_CALL_RULE: 'true' } },
    });
  });

  it('stops the app before synth, naming the function, its size, the largest variable and what to do', () => {
    const problems = refusedProblems({ regions: REGION, redisUrl: REDIS_URL, topicPrefix: `topic-${'x'.repeat(4000)}-` });

    assert.equal(problems.length, 1);
    assert.match(
      problems[0] as string,
      /^function management-events-sync-us-east-1: its environment takes about 4,\d{3} bytes, over Lambda's 4,096-byte limit \(largest: TOPIC_PREFIX, 4,007 bytes\); keep large values out of the environment/,
    );
  });

  it("stops synth of a team's stack when a variable the team adds takes the function past 4 KB", () => {
    const app = new App();
    const stack = new Stack(app, 'team-stack', { env: { account: '123456789012', region: REGION } });
    const sync = new ManagementEventsSync(stack, 'Sync', { redisUrl: REDIS_URL });
    sync.syncFunction?.addEnvironment('ALLOWED_ACCOUNTS', accountIds(300).join(','));

    assert.throws(() => app.synth(), /function management-events-sync-us-east-1: its environment takes about 4,\d{3} bytes/);
  });
});

describe("CloudFormation's 500 resources per stack", () => {
  it('stops 160 accounts before synth with one line: the count, the limit and how many accounts fit', () => {
    const problems = refusedProblems({ regions: REGION, redisUrl: REDIS_URL, accounts: accountIds(160).join(',') });

    assert.equal(problems.length, 1);
    const fitting = Number(/list at most (\d+) in accounts/.exec(problems[0] as string)?.[1]);
    assert.match(
      problems[0] as string,
      /^stack management-events-sync-us-east-1 holds 5\d\d resources, over CloudFormation's limit of 500 per stack: each of the 160 accounts adds 3 rules; list at most \d+ in accounts/,
    );
    // The advice is exact: that many accounts build, one more does not.
    assert.doesNotThrow(() => build({ accounts: accountIds(fitting).join(',') }));
    assert.equal(
      refusedProblems({ regions: REGION, redisUrl: REDIS_URL, accounts: accountIds(fitting + 1).join(',') }).length,
      1,
    );
  });
});

describe("CloudFormation's 1,000,000 bytes per template", () => {
  /** The problems that stop the app after synth (the template's size), or none. */
  const sizeProblems = (context: Record<string, unknown>): readonly string[] => {
    try {
      synthesizeApp(build(context));
      return [];
    } catch (error) {
      assert.ok(error instanceof SettingsError, String(error));
      return error.problems;
    }
  };
  const fittingOf = (problem: string | undefined) => Number(/list at most (\d+) in accounts/.exec(problem ?? '')?.[1]);

  it('stops a template over the limit with one line: its size, the limit and how many accounts fit, exactly', () => {
    const problems = sizeProblems({ accounts: accountIds(130).join(',') });

    assert.equal(problems.length, 1);
    assert.match(
      problems[0] as string,
      /^stack management-events-sync-us-east-1: its template takes 1,0\d\d,\d{3} bytes, over CloudFormation's limit of 1,000,000 bytes per template: each of the 130 accounts adds about \d,\d00 bytes; list at most \d+ in accounts/,
    );
    const fitting = fittingOf(problems[0]);
    assert.deepEqual(sizeProblems({ accounts: accountIds(fitting).join(',') }), []);
    assert.equal(fittingOf(sizeProblems({ accounts: accountIds(fitting + 1).join(',') })[0]), fitting);
  });

  it('counts the accounts that fit exactly where the size is not a straight line in them', () => {
    // Bytes for `count` accounts: `first` each up to 30, then `then` each. A line through 1 and 400 guesses too few
    // accounts when the later ones cost less, too many when they cost more.
    const sizes = (first: number, then: number) => (count: number) =>
      100_000 + first * Math.min(count, 30) + then * Math.max(0, count - 30);

    for (const [bytesWith, exact] of [
      [sizes(2_000, 20_000), 72],
      [sizes(20_000, 2_000), 180],
    ] as const) {
      const [problem] = templateSizeProblems({ stackName: 'stack', bytes: bytesWith(400), accounts: 400 }, bytesWith);

      assert.equal(fittingOf(problem), exact);
      assert.ok(bytesWith(exact) <= TEMPLATE_BYTES && bytesWith(exact + 1) > TEMPLATE_BYTES);
    }
  });

  it("gives the docs' figures of how many accounts fit, with the default settings and with the opt-ins they name", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const organizations = readFileSync(new URL('../docs/organizations.md', import.meta.url), 'utf8');
    const figure = (text: string, pattern: RegExp) => Number(pattern.exec(text.replace(/\s+/g, ' '))?.[1]);
    const figures = [
      [figure(readme, /\((\d+) accounts by default\)/), {}],
      [figure(organizations, /with the default settings (\d+) accounts fit/), {}],
      [
        figure(organizations, /(\d+) with reconcile, archive and `alarmEmail`/),
        { reconcileSchedule: 'rate(6 hours)', archiveRetentionDays: '30', alarmEmail: 'ops@example.com' },
      ],
      [
        figure(organizations, /(\d+) with the inventory and reconcile/),
        { inventory: 'true', reconcileSchedule: 'rate(6 hours)' },
      ],
      [figure(organizations, /(\d+) fit with one-line templates/), { '@aws-cdk/core:suppressTemplateIndentation': 'true' }],
    ] as const;

    // As `npx cdk synth` builds it: cdk.json's context, and the metadata the CLI adds to every template by default.
    const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context: object };
    const cli = {
      ...cdkJson.context,
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:version-reporting': true,
    };
    for (const [stated, settings] of figures) {
      assert.ok(stated > 0, `the docs state the figure for ${JSON.stringify(settings)}`);
      const problems = sizeProblems({ ...cli, ...settings, accounts: accountIds(stated + 1).join(',') });
      assert.equal(fittingOf(problems[0]), stated, JSON.stringify(settings));
    }
  });
});

describe("EventBridge's event pattern size", () => {
  const warnings = (accounts: number) =>
    Annotations.fromStack(syncStack(build({ accounts: accountIds(accounts).join(',') })))
      .findWarning('*', Match.stringLikeRegexp('Event pattern size'))
      .map((warning) => String(warning.entry.data));

  it('warns when the shared API-call rule, naming 52 calls and every listed account, passes 2,048 characters', () => {
    assert.deepEqual(warnings(30), []);
    const [warning, ...others] = warnings(31);

    assert.deepEqual(others, []);
    assert.match(
      warning as string,
      /^accounts: with 31 accounts the event pattern of the shared rules outgrows EventBridge's default quota "Event pattern size" of 2,048 characters \(management-events-api-calls 2,054\): list at most 30 accounts, or raise the quota in Service Quotas before deploying/,
    );
  });
});
