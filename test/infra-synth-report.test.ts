import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, type Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { SyncStack } from '../infra/sync-stack.ts';
import { REDIS_URL, refusedProblems } from './helpers/cdk-app.ts';

const APP = new URL('../infra/app.ts', import.meta.url).pathname;

/** The warnings of one region's stack (eu-west-1 unless `regions` says otherwise). */
function warningsOf(context: Record<string, unknown>, region = 'eu-west-1'): string[] {
  const app = buildApp(new App({ context: { regions: 'eu-west-1', ...context } }));
  const stack = app.node.children.find((child): child is SyncStack => child instanceof SyncStack && child.region === region);
  assert.ok(stack !== undefined);
  return Annotations.fromStack(stack)
    .findWarning('*', Match.anyValue())
    .map((warning) => String(warning.entry.data));
}

/** The warnings of that stack under one acknowledgeable ID. */
function warningsWithId(id: string, context: Record<string, unknown>, region?: string): string[] {
  return warningsOf(context, region).filter((warning) => warning.endsWith(`[ack: ${id}]`));
}

const VPC = { vpcId: 'vpc-0123456789abcdef0', subnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb' };
const SECRET_IN = (region: string) => `arn:aws:secretsmanager:${region}:123456789012:secret:redis-sync-AbCdEf`;

/** An entry of a stack's metadata in the cloud assembly. */
interface Entry {
  type: string;
  data: unknown;
  trace?: string[];
}

describe('synth lists every problem at once', () => {
  it('reports an unknown key together with the bad values of known keys', () => {
    const problems = refusedProblems({
      regions: 'us-east-1',
      redisUrl: REDIS_URL,
      region: 'us-west-2',
      apiCallRule: 'maybe',
      memorySize: 'abc',
    });

    assert.deepEqual(
      [...problems].sort(),
      [
        'apiCallRule must be true or false, got "maybe"',
        'memorySize must be a whole number from 128 to 10240, got "abc"',
        'unknown context key "region": did you mean "regions"?',
      ].sort(),
    );
  });

  it('refuses a region no partition has, suggesting the nearest, and takes those of every partition', () => {
    assert.deepEqual(refusedProblems({ regions: 'us-east-9,mars-north-1', redisUrl: REDIS_URL }), [
      'regions: "us-east-9" is not an AWS region (did you mean "us-east-1"?); one launched after this aws-cdk-lib needs a newer aws-cdk-lib',
      'regions: "mars-north-1" is not an AWS region; one launched after this aws-cdk-lib needs a newer aws-cdk-lib',
    ]);
    assert.doesNotThrow(() =>
      buildApp(new App({ context: { regions: 'cn-northwest-1,us-gov-west-1,mx-central-1', consumer: 'poller' } })),
    );
  });
});

describe('consumer=poller and the settings of the function it does not deploy', () => {
  it('says of redisUrl, memorySize and the VPC placement, as of the others, that they are not used', () => {
    const warnings = warningsOf({
      consumer: 'poller',
      redisUrl: REDIS_URL,
      memorySize: '512',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0',
      streamRetentionHours: '24',
      redisCluster: 'false',
    }).filter((warning) => warning.includes('consumer=poller does not deploy'));

    assert.deepEqual(
      warnings.map((warning) => warning.replace(/ \[ack: .*\]$/, '')),
      [
        "redisUrl configures the sync function, which consumer=poller does not deploy: set REDIS_URL in the poller's environment",
        "streamRetentionHours configures the sync function, which consumer=poller does not deploy: set STREAM_RETENTION_HOURS in the poller's environment",
        "redisCluster configures the sync function, which consumer=poller does not deploy: set REDIS_CLUSTER in the poller's environment",
        'memorySize configures the sync function, which consumer=poller does not deploy: the poller runs in your own process; it is ignored',
        'vpc, vpcSubnets configure the sync function, which consumer=poller does not deploy: the poller runs where you start it (context vpcId, subnetIds, securityGroupIds, createVpcEndpoints); they are ignored',
      ],
    );
  });
});

describe('a quiet synth', () => {
  it('prints no CDK warning for subnets imported by ID (their route tables are never read)', () => {
    const warnings = warningsOf({
      redisUrl: REDIS_URL,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
      createVpcEndpoints: 'true',
    });

    // Only the app's own note on createVpcEndpoints (below).
    assert.deepEqual(
      warnings.filter((warning) => !warning.endsWith('[ack: sync:vpc-endpoints-private-dns]')),
      [],
    );
  });

  for (const [name, context, expected] of [
    ['a region', { regions: 'eu-west-1', redisUrl: REDIS_URL, maxReceiveCount: '5' }, 'maxReceiveCount=5'],
    [
      'a member stack',
      { centralAccount: '999999999999', inventory: 'true', reconcileSchedule: 'rate(6 hours)', memberAssetsBucketPrefix: 'org' },
      'inventory: this template reads',
    ],
  ] as const) {
    it(`writes warnings without stack traces, which the CLI printed as bare file: lines (${name})`, { timeout: 60_000 }, () => {
      const outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
      try {
        // As `cdk synth` runs the app: context in CDK_CONTEXT_JSON, the assembly in CDK_OUTDIR.
        const result = spawnSync(process.execPath, [APP], {
          env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
          encoding: 'utf8',
        });
        assert.equal(result.status, 0, result.stderr);
        const byPath = readdirSync(outdir)
          .filter((file) => file.endsWith('.metadata.json'))
          .flatMap((file) => Object.entries(JSON.parse(readFileSync(join(outdir, file), 'utf8')) as Record<string, Entry[]>));
        const messages = byPath.flatMap(([path, entries]) =>
          entries
            .filter((entry) => ['aws:cdk:warning', 'aws:cdk:info', 'aws:cdk:error'].includes(entry.type))
            .map((entry) => ({ path, entry })),
        );
        // The CLI prints the creation stack of the construct a message is on (a stack or a resource has one).
        const traced = new Set(
          byPath.filter(([, entries]) => entries.some((entry) => entry.type === 'aws:cdk:creationStack')).map(([path]) => path),
        );

        assert.ok(messages.some(({ entry }) => String(entry.data).startsWith(expected)));
        assert.deepEqual(
          messages.filter(({ path, entry }) => entry.trace !== undefined || traced.has(path)).map(({ entry }) => entry.data),
          [],
        );
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    });
  }
});

describe('warnings for settings that deploy but do not do what they seem to', () => {
  it('says that createVpcEndpoints takes the services over for the whole VPC, and when to use it instead', () => {
    const [warning, ...others] = warningsWithId('sync:vpc-endpoints-private-dns', {
      redisUrl: REDIS_URL,
      ...VPC,
      createVpcEndpoints: 'true',
    });

    assert.deepEqual(others, []);
    assert.doesNotMatch(warning as string, /\n/);
    assert.match(warning as string, /names for the whole VPC \(private DNS\) and admit only the function's security groups/);
    assert.match(warning as string, /the deploy fails where the VPC already has such an endpoint/);
    assert.match(warning as string, /allow the function's security group on the existing endpoints/);
    assert.deepEqual(warningsWithId('sync:vpc-endpoints-private-dns', { redisUrl: REDIS_URL, ...VPC }), []);
  });

  it('warns, in the region of the endpoints, that a secret of another region is out of their reach', () => {
    const context = {
      regions: 'us-east-1,eu-west-1',
      redisUrl: REDIS_URL,
      regionSettings: JSON.stringify({
        'eu-west-1': {
          ...VPC,
          subnetIds: VPC.subnetIds.split(','),
          createVpcEndpoints: true,
          redisAuthSecretArn: SECRET_IN('us-east-1'),
        },
      }),
    };

    const [warning, ...others] = warningsWithId('sync:secret-region', context, 'eu-west-1');

    assert.deepEqual(others, []);
    assert.match(
      warning as string,
      /^the Redis secret is in us-east-1 but the function runs in eu-west-1 behind createVpcEndpoints, .*replicate the secret to eu-west-1/,
    );
    assert.deepEqual(warningsWithId('sync:secret-region', context, 'us-east-1'), []);
    const local = { redisUrl: REDIS_URL, ...VPC, createVpcEndpoints: 'true', redisAuthSecretArn: SECRET_IN('eu-west-1') };
    assert.deepEqual(warningsWithId('sync:secret-region', local), []);
    const withNat = { redisUrl: REDIS_URL, ...VPC, redisAuthSecretArn: SECRET_IN('us-east-1') };
    assert.deepEqual(warningsWithId('sync:secret-region', withNat), []);
  });

  it('says what to add when the inventory has no reconcile schedule, central and member alike', () => {
    const [central, ...others] = warningsWithId('inventory:without-reconcile', { redisUrl: REDIS_URL, inventory: 'true' });
    const memberApp = buildApp(new App({ context: { centralAccount: '111122223333', inventory: 'true' } }));
    const member = Annotations.fromStack(memberApp.node.children[0] as Stack)
      .findWarning('*', Match.stringLikeRegexp('without reconcileSchedule'))
      .map((warning) => String(warning.entry.data));

    assert.deepEqual(others, []);
    assert.match(
      central as string,
      /^inventory without reconcileSchedule: .*add reconcileSchedule \(such as -c reconcileSchedule='rate\(6 hours\)'\)/,
    );
    assert.deepEqual(member, [central]);
    const scheduled = { redisUrl: REDIS_URL, inventory: 'true', reconcileSchedule: 'rate(6 hours)' };
    assert.deepEqual(warningsWithId('inventory:without-reconcile', scheduled), []);
  });

  it('warns when reconcile runs closer than its runs can take, with or without the inventory', () => {
    for (const [schedule, inventory, warned] of [
      ['rate(1 minute)', 'true', true],
      ['rate(10 minutes)', 'false', true],
      ['rate(15 minutes)', 'true', false],
      ['rate(1 hour)', 'true', false],
      ['cron(0 */6 * * ? *)', 'true', false],
    ] as const) {
      const warnings = warningsWithId('reconcile:frequent', { redisUrl: REDIS_URL, inventory, reconcileSchedule: schedule });
      assert.equal(warnings.length, warned ? 1 : 0, schedule);
      if (warned)
        assert.match(warnings[0] as string, new RegExp(`^reconcileSchedule ${schedule.replace(/[()]/g, '\\$&')}: .* overlap`));
    }
  });

  it("warns when redisMaxIdleSeconds keeps connections past the 350 s AWS's network forgets them", () => {
    const idle = (seconds: string, consumer = 'lambda') =>
      warningsOf({ redisUrl: REDIS_URL, consumer, redisMaxIdleSeconds: seconds }).filter((warning) =>
        warning.includes('redisMaxIdleSeconds'),
      );

    const [warning, ...others] = idle('341');

    assert.deepEqual(others, []);
    assert.match(warning as string, /^redisMaxIdleSeconds=341: .*forget a connection idle for 350 s.*keep it at most 340/);
    assert.deepEqual(idle('340'), []);
    // The poller is told once that the setting is not the stack's, not twice.
    assert.deepEqual(
      idle('400', 'poller').map((text) => text.replace(/ \[ack: .*\]$/, '')),
      [
        "redisMaxIdleSeconds configures the sync function, which consumer=poller does not deploy: set REDIS_MAX_IDLE_SECONDS in the poller's environment",
      ],
    );
  });
});
