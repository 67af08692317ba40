import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { REDIS_URL, synthesize } from './helpers/cdk-app.ts';

const README = new URL('../README.md', import.meta.url);

/** Every configuration that adds an output: central with every opt-in, the poller's, a member's with the inventory. */
const CONFIGURATIONS: Record<string, Record<string, unknown>> = {
  central: {
    regions: 'eu-west-1',
    redisUrl: REDIS_URL,
    vpcId: 'vpc-0123456789abcdef0',
    subnetIds: 'subnet-0123456789abcdef0',
    inventory: 'true',
    reconcileSchedule: 'rate(6 hours)',
    archiveRetentionDays: '30',
  },
  poller: { regions: 'eu-west-1', consumer: 'poller' },
  member: { centralAccount: '111122223333', inventory: 'true', reconcileSchedule: 'rate(6 hours)' },
};

/** The keys in the first column of the README's table of stack outputs. */
function documentedOutputs(): string[] {
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf('**Stack outputs**'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('\n|')));
  return [...table.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1] as string);
}

describe('stack outputs', () => {
  it('are exactly those the README lists, each under its stable key', () => {
    const keys = Object.values(CONFIGURATIONS).flatMap((context) =>
      [...synthesize(context).templates.values()].flatMap((template) => Object.keys(template.findOutputs('*'))),
    );

    const documented = documentedOutputs();

    assert.ok(documented.length > 0, 'the README has a table of stack outputs');
    assert.deepEqual([...new Set(keys)].sort(), [...documented].sort());
  });
});
