import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { CONTEXT_KEYS } from '../infra/config.ts';
import { ManagementEventsSync } from '../infra/management-events-sync.ts';
import { RULES } from '../infra/rules.ts';
import { REDIS_URL, type SynthesizedApp, synthesize, synthesizeStack } from './helpers/cdk-app.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((file) => `docs/${file}`)];
const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Every stack output key of a synthesized app. */
function outputKeys(synthesized: SynthesizedApp): Set<string> {
  return new Set([...synthesized.templates.values()].flatMap((template) => Object.keys(template.findOutputs('*'))));
}

/** Every opt-in that adds an output, deployed by the app. */
const APP_CONTEXT = {
  regions: 'eu-west-1',
  redisUrl: REDIS_URL,
  reconcileSchedule: 'rate(6 hours)',
  archiveRetentionDays: '30',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: 'subnet-0123456789abcdef0',
};

describe("the README's context table", () => {
  it('has a row for every context key the app reads, and none it does not', () => {
    const readme = text('README.md');
    const table = readme.slice(readme.indexOf('| key | default | meaning |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const documented = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1]));
    assert.deepEqual([...documented].sort(), [...CONTEXT_KEYS].sort());
  });
});

describe('the docs and what the stacks really do', () => {
  const app = outputKeys(synthesize(APP_CONTEXT));
  const poller = outputKeys(synthesize({ regions: 'eu-west-1', consumer: 'poller' }));
  const member = outputKeys(synthesize({ regions: 'eu-west-1', centralAccount: '111122223333' }));

  it('name only outputs the stacks have, by their keys', () => {
    const named = DOCS.flatMap((file) =>
      [...text(file).matchAll(/outputs? `(\w+)`|`(\w+)` output/g)].map((match) => [file, match[1] ?? match[2]] as const),
    );

    assert.ok(named.length >= 5, `the docs name ${named.length} outputs`);
    const missing = named.filter(([, key]) => ![app, poller, member].some((outputs) => outputs.has(key as string)));
    assert.deepEqual(missing, []);
  });

  it('keep those keys with the construct in your own stack, whatever its id', () => {
    const team = outputKeys(
      synthesizeStack((stack) => {
        new ManagementEventsSync(stack, 'AssetSync', {
          redisUrl: REDIS_URL,
          reconcileSchedule: scheduler.ScheduleExpression.expression('rate(6 hours)'),
          archiveRetentionDays: 30,
        });
      }),
    );

    for (const key of ['QueueUrl', 'DeadLetterQueueUrl', 'FunctionName', 'TailCommand', 'RunNowCommand', 'ReplayCommand']) {
      assert.ok(app.has(key), `the app outputs ${key}`);
      assert.ok(team.has(key), `the construct outputs ${key} under that key`);
    }
    assert.ok(member.has('ForwardDeadLetterQueueUrl'));
  });

  it("replay into every rule the stack deploys, in docs/replay.md's example", () => {
    const destination = /--destination '([^']+)'/.exec(text('docs/replay.md'))?.[1];
    assert.ok(destination !== undefined);

    const { FilterArns } = JSON.parse(destination) as { FilterArns: string[] };

    assert.deepEqual(FilterArns.map((arn) => arn.split(':rule/')[1]).sort(), RULES.map((rule) => rule.name).sort());
  });

  it('point only to files and folders in the repository (or built from it, under dist/)', () => {
    const paths = DOCS.flatMap((file) =>
      [...text(file).matchAll(/`([\w.-]+(?:\/[\w.-]+)*(?:\/|\.(?:ts|md|json|mjs|py|txt)))`/g)]
        .map((match) => match[1] as string)
        .filter((path) => path.includes('/'))
        .map((path) => [file, path] as const),
    );

    assert.ok(paths.length >= 10, `the docs name ${paths.length} paths`);
    assert.deepEqual(
      paths.filter(([, path]) => !path.startsWith('dist/') && !existsSync(join(ROOT, path))),
      [],
    );
  });
});
