import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { onlyTemplate, REDIS_URL, synthesize } from './helpers/cdk-app.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

const EU_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis-eu-AbCdEf';
const US_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-us-GhIjKl';

function problemsOf(context: Record<string, unknown>): string[] {
  try {
    buildApp(new App({ context }));
  } catch (error) {
    if (error instanceof ContextError) return [...error.problems];
    throw error;
  }
  return [];
}

const twoRegions = {
  regions: 'us-east-1,eu-west-1',
  redisUrl: REDIS_URL,
  regionSettings: {
    'us-east-1': {
      vpcId: 'vpc-0aaaaaaaaaaaaaaa1',
      subnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
      securityGroupIds: ['sg-0aaaaaaaaaaaaaaa1'],
      redisAuthSecretArn: US_SECRET,
    },
    'eu-west-1': {
      vpcId: 'vpc-0bbbbbbbbbbbbbbb1',
      subnetIds: 'subnet-0bbbbbbbbbbbbbbb1',
      securityGroupIds: 'sg-0bbbbbbbbbbbbbbb1',
      createVpcEndpoints: true,
      redisUrl: 'rediss://cache.eu.example.internal:6379',
      redisAuthSecretArn: EU_SECRET,
    },
  },
};

describe('per-region settings (regionSettings)', () => {
  for (const [form, regionSettings] of [
    ['a JSON object (cdk.json)', twoRegions.regionSettings],
    ['a JSON string (-c regionSettings=...)', JSON.stringify(twoRegions.regionSettings)],
  ] as const) {
    it(`places each region's function in its own VPC with its own secret and Redis, from ${form}`, () => {
      const { templates, nagReports, rawTemplates } = synthesize({ ...twoRegions, regionSettings });
      const us = templates.get('management-events-sync-us-east-1');
      const eu = templates.get('management-events-sync-eu-west-1');
      us?.hasResourceProperties('AWS::Lambda::Function', {
        VpcConfig: {
          SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
          SecurityGroupIds: ['sg-0aaaaaaaaaaaaaaa1'],
        },
        Environment: { Variables: { ...variables(REDIS_URL), REDIS_AUTH_SECRET_ARN: US_SECRET } },
      });
      eu?.hasResourceProperties('AWS::Lambda::Function', {
        VpcConfig: { SubnetIds: ['subnet-0bbbbbbbbbbbbbbb1'], SecurityGroupIds: ['sg-0bbbbbbbbbbbbbbb1'] },
        Environment: {
          Variables: { ...variables('rediss://cache.eu.example.internal:6379'), REDIS_AUTH_SECRET_ARN: EU_SECRET },
        },
      });
      us?.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      eu?.resourceCountIs('AWS::EC2::VPCEndpoint', 3);
      assert.match(JSON.stringify(us?.toJSON()), /redis-us-GhIjKl/);
      assert.doesNotMatch(JSON.stringify(us?.toJSON()), /redis-eu-AbCdEf|vpc-0bbbbbbbbbbbbbbb1/);
      assert.doesNotMatch(JSON.stringify(eu?.toJSON()), /redis-us-GhIjKl|vpc-0aaaaaaaaaaaaaaa1/);
      assert.deepEqual(nagReports, []);
      assert.deepEqual(cfnLintErrors(rawTemplates, ['us-east-1', 'eu-west-1']), []);
    });
  }

  it('lets a region inherit every top-level setting it does not name', () => {
    const { templates } = synthesize({
      regions: 'us-east-1,eu-west-1',
      redisUrl: REDIS_URL,
      redisAuthSecretArn: US_SECRET,
      regionSettings: { 'eu-west-1': { vpcId: 'vpc-0bbbbbbbbbbbbbbb1', subnetIds: ['subnet-0bbbbbbbbbbbbbbb1'] } },
    });
    for (const template of templates.values()) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { ...variables(REDIS_URL), REDIS_AUTH_SECRET_ARN: US_SECRET } },
      });
    }
    templates
      .get('management-events-sync-us-east-1')
      ?.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: Match.absent() });
    templates.get('management-events-sync-eu-west-1')?.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: ['subnet-0bbbbbbbbbbbbbbb1'] },
    });
  });

  it('keeps the single top-level vpcId working with one region, and refuses it with several', () => {
    const single = onlyTemplate(
      synthesize({
        regions: 'eu-west-1',
        redisUrl: REDIS_URL,
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: 'subnet-0123456789abcdef0',
      }),
    );
    single.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: { SubnetIds: ['subnet-0123456789abcdef0'] } });
    const problems = problemsOf({
      regions: 'us-east-1,eu-west-1',
      redisUrl: REDIS_URL,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0',
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /vpcId names one VPC.*regionSettings/);
  });

  it('names the regions that lack a redisUrl', () => {
    assert.deepEqual(problemsOf({ regions: 'us-east-1,eu-west-1', regionSettings: { 'eu-west-1': { redisUrl: REDIS_URL } } }), [
      'redisUrl is required in us-east-1: set it at the top level or in regionSettings.<region>.redisUrl',
    ]);
  });

  it('reports a region not deployed, an unknown or near-miss setting, a bad value and malformed JSON, each on one line', () => {
    const problems = problemsOf({
      regions: 'us-east-1,eu-west-1',
      redisUrl: REDIS_URL,
      regionSettings: JSON.stringify({
        'ap-south-1': { redisUrl: REDIS_URL },
        'eu-west-1': {
          vpcID: 'vpc-0bbbbbbbbbbbbbbb1',
          subnetIds: ['subnet-0bbbbbbbbbbbbbbb1'],
          redisUrl: 'rediss://u:hunter2@h:6379',
        },
      }),
    });
    assert.deepEqual(problems.slice(0, 2), [
      'regionSettings names ap-south-1, which is not in regions (us-east-1,eu-west-1)',
      'unknown setting regionSettings.eu-west-1.vpcID: did you mean "vpcId"?',
    ]);
    assert.ok(problems.some((problem) => /^regionSettings\.eu-west-1\.redisUrl carries a user or password/.test(problem)));
    assert.ok(
      problems.some(
        (problem) => problem === 'regionSettings.eu-west-1: subnetIds, securityGroupIds and createVpcEndpoints need vpcId',
      ),
    );
    for (const problem of problems) {
      assert.doesNotMatch(problem, /hunter2|\n/);
    }
    assert.match(
      problemsOf({ regions: 'eu-west-1', redisUrl: REDIS_URL, regionSettings: '{"eu-west-1": ' }).join(),
      /regionSettings must be a JSON object keyed by region/,
    );
  });
});

describe('unknown context keys', () => {
  it('stops synth on a near miss, with the key it probably meant', () => {
    assert.deepEqual(
      problemsOf({ regions: 'us-east-1', redisUrl: REDIS_URL, region: 'us-west-2', redisURL: 'x', maxRecieveCount: '3' }),
      [
        'unknown context key "region": did you mean "regions"?',
        'unknown context key "redisURL": did you mean "redisUrl"?',
        'unknown context key "maxRecieveCount": did you mean "maxReceiveCount"?',
      ],
    );
  });

  it('names a key far from every known one, without a guess', () => {
    assert.deepEqual(problemsOf({ regions: 'us-east-1', redisUrl: REDIS_URL, colour: 'blue' }), [
      'unknown context key "colour" (the README lists the keys this app reads)',
    ]);
  });

  it("leaves CDK's own keys alone: feature flags, CLI settings and lookups", () => {
    assert.deepEqual(
      problemsOf({
        regions: 'us-east-1',
        redisUrl: REDIS_URL,
        '@aws-cdk/aws-iam:minimizePolicies': true,
        'aws:cdk:enable-path-metadata': true,
        'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'],
        'acknowledged-issue-numbers': [32775],
      }),
      [],
    );
  });
});

function variables(redisUrl: string) {
  return {
    REDIS_URL: redisUrl,
    TOPIC_PREFIX: 'topic-account-management-events-',
    REQUIRE_SUBSCRIBER: 'false',
    METRICS_NAMESPACE: 'AssetSync',
    NODE_OPTIONS: '--enable-source-maps',
  };
}
