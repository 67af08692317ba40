import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as ec2 from '@aws-sdk/client-ec2';
import { API_CALL_RULE_NAME, matchRule, RULES } from '../infra/rules.ts';
import { sampleEvents } from './helpers/records.ts';

const EVENTS_DOC = readFileSync(new URL('../docs/events.md', import.meta.url), 'utf8');

/** The call names in the first column of the table under `### <heading>` in docs/events.md. */
function documentedCalls(heading: string): string[] {
  const section = EVENTS_DOC.split(/^### /m).find((part) => part.startsWith(`${heading}\n`));
  assert.ok(section !== undefined, `docs/events.md has no "### ${heading}" section`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Za-z0-9]+)`/g)].map((match) => match[1] ?? ''));
}

/** Every operation of the EC2 API model, as the installed SDK has one command class per operation. */
const EC2_OPERATIONS = Object.keys(ec2)
  .filter((name) => name.endsWith('Command') && name !== 'Command')
  .map((name) => name.slice(0, -'Command'.length));
/** Operations that may change something (EventBridge does not deliver the read-only ones to an ENABLED rule). */
const EC2_WRITE_OPERATIONS = EC2_OPERATIONS.filter((name) => !/^(Describe|Get|List|Search)/.test(name));
/** What a call that changes one of the three descriptions has in its name: the types and the parts they hold. */
const ABOUT_THE_ASSETS = /Instance|Vpc|Subnet|NetworkInterface|Address|Volume|Ipv6|PrivateIp|DnsName|Monitor/;

const apiCallRule = RULES.find((rule) => rule.name === API_CALL_RULE_NAME);
const ruleCalls = (apiCallRule?.eventPattern.detail as { eventName?: string[] } | undefined)?.eventName ?? [];
const caught = documentedCalls('Caught');
const leftOut = documentedCalls('Left out');

const detailOf = (event: Record<string, unknown>) => event.detail as Record<string, unknown>;
const withDetail = (event: Record<string, unknown>, changes: Record<string, unknown>) => ({
  ...event,
  detail: { ...detailOf(event), ...changes },
});

describe('the calls the API-call rule takes', () => {
  it('are exactly those docs/events.md lists as caught', () => {
    assert.deepEqual([...ruleCalls].sort(), [...caught].sort());
    assert.equal(new Set(ruleCalls).size, ruleCalls.length, 'each call once');
  });

  it('leave no EC2 call about instances, VPCs or subnets unsorted: each is caught or left out with a reason', () => {
    const unsorted = EC2_WRITE_OPERATIONS.filter(
      (name) => ABOUT_THE_ASSETS.test(name) && !ruleCalls.includes(name) && !leftOut.includes(name),
    );
    assert.deepEqual(unsorted, [], 'sort these into docs/events.md ("Caught" and the rule, or "Left out" with why)');
  });

  it('are real EC2 write operations, and none is both caught and left out', () => {
    for (const name of [...caught, ...leftOut]) assert.ok(EC2_WRITE_OPERATIONS.includes(name), `${name} is no EC2 call`);
    assert.deepEqual(
      caught.filter((name) => leftOut.includes(name)),
      [],
    );
  });

  it('each match the deployed rule when they succeed, and never when they failed or were dry runs', () => {
    const [template] = sampleEvents('api-call-events.jsonl');
    assert.ok(template !== undefined);
    for (const name of caught) {
      assert.equal(matchRule(withDetail(template, { eventName: name }))?.name, API_CALL_RULE_NAME, name);
      for (const errorCode of ['Client.UnauthorizedOperation', 'Client.DryRunOperation']) {
        assert.equal(matchRule(withDetail(template, { eventName: name, errorCode })), undefined, `${name} ${errorCode}`);
      }
    }
  });
});

describe('the CloudTrail samples of events/api-call-events.jsonl', () => {
  const samples = sampleEvents('api-call-events.jsonl');
  const names = samples.map((event) => String(detailOf(event).eventName));

  it('cover an address, a network interface, a volume, an encryption control and a block-public-access exclusion', () => {
    for (const name of [
      'AssociateAddress',
      'DisassociateAddress',
      'AttachNetworkInterface',
      'AssignPrivateIpAddresses',
      'AttachVolume',
      'CreateVpcEncryptionControl',
      'CreateVpcBlockPublicAccessExclusion',
      'ModifyVpcBlockPublicAccessOptions',
    ]) {
      assert.ok(names.includes(name), name);
    }
  });

  it('go to the API-call group when the call succeeded, and nowhere when it failed', () => {
    const routed = samples.map((event) => [
      detailOf(event).eventName,
      detailOf(event).errorCode,
      matchRule(event)?.messageGroupId,
    ]);
    assert.deepEqual(
      routed.filter(([, errorCode]) => errorCode !== undefined),
      [
        ['AttachVolume', 'Client.CustomerKeyHasBeenRevoked', undefined],
        ['CreateVpcEncryptionControl', 'Client.DryRunOperation', undefined],
      ],
    );
    for (const [name, errorCode, group] of routed) {
      if (errorCode === undefined) assert.equal(group, 'management-events-api-calls', String(name));
    }
  });
});
