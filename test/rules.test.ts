import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  API_CALL_EVENT_NAMES,
  API_CALL_NAMES,
  matchRule,
  RULES,
  type RuleDefinition,
  SUPPORTED_RESOURCE_TYPES,
  selectRules,
} from '../infra/rules.ts';
import { cloudTrailResourceId } from '../local/cloudtrail-resource.ts';
import { describeForInventory } from '../local/inventory-subscriber.ts';
import { CHANNEL, sampleEvents } from './helpers/records.ts';

const byName = (rules: readonly RuleDefinition[]) => new Map(rules.map((rule) => [rule.name, rule]));

function sample(predicate: (event: Record<string, unknown>) => boolean): Record<string, unknown> {
  const found = sampleEvents().find(predicate);
  assert.ok(found !== undefined, 'no such sample event');
  return found;
}

const detailOf = (event: Record<string, unknown>) => event.detail as Record<string, unknown>;
const apiCall = (name: string, failed = false) =>
  sample((event) => detailOf(event).eventName === name && 'errorCode' in detailOf(event) === failed);

describe('the rule table', () => {
  it("keeps the seed's rule names, sources, detail-types and message groups", () => {
    for (const options of [
      { apiCallRule: true, resourceTypes: SUPPORTED_RESOURCE_TYPES },
      { apiCallRule: false, resourceTypes: 'all' as const },
    ]) {
      const rules = byName(selectRules(options));
      assert.deepEqual(rules.get('management-events-ec2')?.eventPattern, {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
      });
      assert.equal(rules.get('management-events-ec2')?.messageGroupId, 'ec2-instances-events');
      const tags = rules.get('management-events-tags');
      assert.equal(tags?.messageGroupId, 'management-events-tags');
      assert.deepEqual(tags?.eventPattern.source, ['aws.tag']);
      assert.deepEqual(tags?.eventPattern['detail-type'], ['Tag Change on Resource']);
    }
  });

  it('by default: tag changes of EC2 instances, VPCs and subnets only, and the API-call rule', () => {
    assert.deepEqual(
      RULES.map((rule) => [rule.name, rule.messageGroupId]),
      [
        ['management-events-tags', 'management-events-tags'],
        ['management-events-ec2', 'ec2-instances-events'],
        ['management-events-api-calls', 'management-events-api-calls'],
      ],
    );
    assert.deepEqual(byName(RULES).get('management-events-tags')?.eventPattern, {
      source: ['aws.tag'],
      'detail-type': ['Tag Change on Resource'],
      detail: { service: ['ec2'], 'resource-type': ['instance', 'vpc', 'subnet'] },
    });
  });

  it("resourceTypes=all gives the seed's unfiltered tags rule; a list narrows it", () => {
    assert.deepEqual(
      byName(selectRules({ apiCallRule: true, resourceTypes: 'all' })).get('management-events-tags')?.eventPattern,
      {
        source: ['aws.tag'],
        'detail-type': ['Tag Change on Resource'],
      },
    );
    assert.deepEqual(
      byName(selectRules({ apiCallRule: true, resourceTypes: ['instance', 'vpc'] })).get('management-events-tags')?.eventPattern
        .detail,
      { service: ['ec2'], 'resource-type': ['instance', 'vpc'] },
    );
  });

  it('apiCallRule=false leaves the API-call rule out', () => {
    assert.deepEqual(
      selectRules({ apiCallRule: false, resourceTypes: SUPPORTED_RESOURCE_TYPES }).map((rule) => rule.name),
      ['management-events-tags', 'management-events-ec2'],
    );
  });

  it('the API-call rule: successful ec2.amazonaws.com calls that create, change or delete VPCs, subnets, instances', () => {
    const pattern = byName(RULES).get('management-events-api-calls')?.eventPattern;
    assert.deepEqual(pattern, {
      source: ['aws.ec2'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['ec2.amazonaws.com'],
        eventName: [...API_CALL_NAMES],
        errorCode: [{ exists: false }],
      },
    });
    const names: readonly string[] = (pattern?.detail as { eventName?: string[] } | undefined)?.eventName ?? [];
    for (const required of [
      'CreateVpc',
      'DeleteVpc',
      'ModifyVpcAttribute',
      'AssociateVpcCidrBlock',
      'DisassociateVpcCidrBlock',
      'CreateSubnet',
      'DeleteSubnet',
      'ModifySubnetAttribute',
      'AssociateSubnetCidrBlock',
      'DisassociateSubnetCidrBlock',
      'ModifyInstanceAttribute',
    ]) {
      assert.ok(names.includes(required), required);
    }
    // Instance lifecycle comes from state-change events, tags from the tags rule: not twice.
    for (const covered of ['RunInstances', 'TerminateInstances', 'StartInstances', 'StopInstances', 'CreateTags', 'DeleteTags']) {
      assert.ok(!names.includes(covered), covered);
    }
    assert.equal(new Set(names).size, names.length);
    // A call that changes two types' descriptions is listed under both, and taken once.
    assert.deepEqual([...new Set(Object.values(API_CALL_EVENT_NAMES).flat())].sort(), [...names].sort());
  });
});

describe('matching the samples with the deployed rules', () => {
  it('sends successful API calls to management-events-api-calls', () => {
    for (const name of ['CreateVpc', 'DeleteVpc', 'CreateSubnet', 'DeleteSubnet', 'ModifyInstanceAttribute']) {
      assert.equal(matchRule(apiCall(name))?.messageGroupId, 'management-events-api-calls', name);
    }
  });

  it('drops a failed call, a call from another service and a read-only call', () => {
    assert.equal(matchRule(apiCall('CreateSubnet', true)), undefined);
    const created = apiCall('CreateVpc');
    const detail = detailOf(created);
    assert.equal(matchRule({ ...created, detail: { ...detail, eventSource: 'ec2-instance-connect.amazonaws.com' } }), undefined);
    assert.equal(matchRule({ ...created, detail: { ...detail, eventName: 'DescribeVpcs', readOnly: true } }), undefined);
    assert.equal(matchRule({ ...created, detail: { ...detail, errorCode: 'Client.DryRunOperation' } }), undefined);
  });

  it('drops tag changes of other resource types by default and keeps them with resourceTypes=all', () => {
    const bucket = sample((event) => detailOf(event)['resource-type'] === 'bucket');
    assert.equal(matchRule(bucket), undefined);
    assert.equal(matchRule(bucket, selectRules({ apiCallRule: true, resourceTypes: 'all' }))?.name, 'management-events-tags');
    const vpcTags = sample((event) => detailOf(event)['resource-type'] === 'vpc');
    assert.equal(matchRule(vpcTags)?.name, 'management-events-tags');
    assert.equal(matchRule(vpcTags, selectRules({ apiCallRule: true, resourceTypes: ['instance'] })), undefined);
  });

  it('with apiCallRule=false, API calls match nothing', () => {
    assert.equal(matchRule(apiCall('CreateVpc'), selectRules({ apiCallRule: false, resourceTypes: 'all' })), undefined);
  });
});

describe('where a CloudTrail event names its resource', () => {
  it('create calls in responseElements, change and delete calls in requestParameters', () => {
    assert.equal(cloudTrailResourceId(detailOf(apiCall('CreateVpc'))), 'vpc-0b1c2d3e4f5a6b7c8');
    assert.equal(cloudTrailResourceId(detailOf(apiCall('CreateSubnet'))), 'subnet-0c1d2e3f4a5b6c7d8');
    assert.equal(cloudTrailResourceId(detailOf(apiCall('DeleteSubnet'))), 'subnet-0c1d2e3f4a5b6c7d8');
    assert.equal(cloudTrailResourceId(detailOf(apiCall('DeleteVpc'))), 'vpc-0b1c2d3e4f5a6b7c8');
    assert.equal(cloudTrailResourceId(detailOf(apiCall('ModifyInstanceAttribute'))), 'i-0a1b2c3d4e5f67890');
    // A failed create returns nothing (responseElements null): only the VPC it named is left.
    assert.equal(cloudTrailResourceId(detailOf(apiCall('CreateSubnet', true))), 'vpc-0b1c2d3e4f5a6b7c8');
  });

  it('an instance in a list (MonitorInstances) and a subnet call that also names its VPC', () => {
    assert.equal(
      cloudTrailResourceId({ requestParameters: { instancesSet: { items: [{ instanceId: 'i-0123456789abcdef0' }] } } }),
      'i-0123456789abcdef0',
    );
    assert.equal(
      cloudTrailResourceId({
        requestParameters: { associationId: 'subnet-cidr-assoc-0123' },
        responseElements: { subnetId: 'subnet-0123456789abcdef0', ipv6CidrBlockAssociation: { vpcId: 'vpc-0123456789abcdef0' } },
      }),
      'subnet-0123456789abcdef0',
    );
  });

  it("gives the inventory's line the resource and the call", () => {
    const line = (event: Record<string, unknown>) =>
      describeForInventory({ channel: CHANNEL, body: JSON.stringify(event), event });
    assert.equal(line(apiCall('CreateVpc')), `${CHANNEL}  AWS API Call via CloudTrail  vpc-0b1c2d3e4f5a6b7c8  call=CreateVpc`);
    assert.equal(
      line(apiCall('ModifyInstanceAttribute')),
      `${CHANNEL}  AWS API Call via CloudTrail  i-0a1b2c3d4e5f67890  call=ModifyInstanceAttribute`,
    );
  });
});
