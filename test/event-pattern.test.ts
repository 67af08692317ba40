import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EventPattern, firstMismatch, matchesEventPattern, UnsupportedPatternError } from '../infra/event-pattern.ts';

/*
 * The examples of AWS's "Event patterns" and "Content filtering in Amazon EventBridge event patterns" pages, each
 * with an event the page says matches and one that must not.
 */

/** The EC2 event the AWS pages filter. */
const EC2_EVENT = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** The pages' custom-application event for numeric, anything-but and $or. */
const APP_EVENT = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'Some Event',
  source: 'com.mycompany.myapp',
  account: '123456789012',
  time: '2017-10-02T18:43:48Z',
  region: 'us-east-1',
  resources: [],
  detail: { state: 'running', 'c-count': 5, 'd-count': 7, 'x-limit': 301.8, 'source-ip': '10.0.0.123' },
};

function withDetail(detail: Record<string, unknown>) {
  return { ...APP_EVENT, detail: { ...APP_EVENT.detail, ...detail } };
}

function check(pattern: EventPattern, matching: readonly unknown[], notMatching: readonly unknown[]) {
  for (const event of matching) assert.equal(matchesEventPattern(pattern, event), true, `should match: ${JSON.stringify(event)}`);
  for (const event of notMatching) {
    assert.equal(matchesEventPattern(pattern, event), false, `should not match: ${JSON.stringify(event)}`);
  }
}

describe('event patterns: exact values (AWS "Event patterns")', () => {
  it('matches every listed field (AND) and any listed value (OR), nested under detail', () => {
    check(
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['terminated', 'stopped'] },
      },
      [EC2_EVENT, { ...EC2_EVENT, detail: { ...EC2_EVENT.detail, state: 'stopped' } }],
      [
        { ...EC2_EVENT, detail: { ...EC2_EVENT.detail, state: 'running' } },
        { ...EC2_EVENT, source: 'aws.tag' },
        { ...EC2_EVENT, detail: 'terminated' },
        { ...EC2_EVENT, detail: undefined },
      ],
    );
  });

  it('is case-sensitive and type-strict: "Aws.ec2" and the string "5" do not match', () => {
    check({ source: ['aws.ec2'] }, [EC2_EVENT], [{ ...EC2_EVENT, source: 'Aws.ec2' }]);
    check({ detail: { 'c-count': [5] } }, [APP_EVENT], [withDetail({ 'c-count': '5' })]);
  });

  it('matches an array in the event when any of its elements matches any listed value', () => {
    const pattern = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    };
    check(
      pattern,
      [
        { ...EC2_EVENT, resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
        { ...EC2_EVENT, resources: ['arn:aws:s3:::bucket', 'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] },
      ],
      [EC2_EVENT, { ...EC2_EVENT, resources: [] }],
    );
  });

  it('matches a nested pattern against an array of objects when one element matches all of it', () => {
    const pattern = { detail: { items: { kind: ['vpc'], state: ['available'] } } };
    check(
      pattern,
      [
        {
          detail: {
            items: [
              { kind: 'subnet', state: 'pending' },
              { kind: 'vpc', state: 'available' },
            ],
          },
        },
      ],
      [
        {
          detail: {
            items: [
              { kind: 'vpc', state: 'pending' },
              { kind: 'subnet', state: 'available' },
            ],
          },
        },
      ],
    );
  });

  it('matches null and empty strings as values, and a missing field as neither', () => {
    const pattern = { detail: { eventVersion: [''], responseElements: [null] } };
    check(
      pattern,
      [{ detail: { eventVersion: '', responseElements: null } }],
      [
        { detail: { eventVersion: '', responseElements: { vpc: {} } } },
        { detail: { eventVersion: '' } },
        { detail: { eventVersion: '1.09', responseElements: null } },
      ],
    );
  });
});

describe('content filtering (AWS "Content filtering in Amazon EventBridge event patterns")', () => {
  it('prefix, and prefix ignoring case', () => {
    check(
      { time: [{ prefix: '2017-10-02' }] },
      [APP_EVENT],
      [
        { ...APP_EVENT, time: '2017-10-03T00:00:00Z' },
        { ...APP_EVENT, time: undefined },
      ],
    );
    check(
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      [{ detail: { service: 'eventbridge' } }, { detail: { service: 'EVENTBRIDGE' } }],
      [{ detail: { service: 's3' } }],
    );
  });

  it('suffix, and suffix ignoring case', () => {
    check(
      { FileName: [{ suffix: '.png' }] },
      [{ FileName: 'image.png' }],
      [{ FileName: 'image.jpg' }, { FileName: 'image.PNG' }],
    );
    check({ FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] }, [{ FileName: 'IMAGE.PNG' }], [{ FileName: 'image.gif' }]);
  });

  it('anything-but a value, a list of strings, a number and a list of numbers', () => {
    check(
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      [APP_EVENT],
      [withDetail({ state: 'initializing' }), withDetail({ state: undefined })],
    );
    check(
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      [APP_EVENT],
      [withDetail({ state: 'stopped' }), withDetail({ state: 'overloaded' })],
    );
    check({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, [APP_EVENT], [withDetail({ 'x-limit': 123 })]);
    check({ detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, [APP_EVENT], [withDetail({ 'x-limit': 200 })]);
  });

  it('anything-but a prefix, a suffix, values ignoring case and a wildcard', () => {
    check({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, [APP_EVENT], [withDetail({ state: 'initializing' })]);
    check(
      { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
      [{ detail: { FileName: 'notes.md' } }],
      [{ detail: { FileName: 'notes.txt' } }],
    );
    check(
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
      [APP_EVENT],
      [withDetail({ state: 'STOPPED' }), withDetail({ state: 'overloaded' })],
    );
    check(
      { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
      [{ detail: { FilePath: '/usr/bin/tool' } }],
      [{ detail: { FilePath: '/usr/lib/tool' } }],
    );
  });

  it('numeric ranges and equality', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    check(
      pattern,
      [APP_EVENT],
      [
        withDetail({ 'c-count': 0 }),
        withDetail({ 'c-count': 6 }),
        withDetail({ 'd-count': 10 }),
        withDetail({ 'x-limit': '301.8' }),
      ],
    );
  });

  it('IP address ranges (cidr)', () => {
    check(
      { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
      [APP_EVENT, withDetail({ 'source-ip': '10.0.0.255' })],
      [withDetail({ 'source-ip': '10.0.1.0' }), withDetail({ 'source-ip': 'not-an-ip' })],
    );
  });

  it('exists: true and false, on leaf fields only', () => {
    check({ detail: { state: [{ exists: true }] } }, [EC2_EVENT], [{ ...EC2_EVENT, detail: { 'instance-id': 'i-1' } }]);
    check({ detail: { state: [{ exists: false }] } }, [{ ...EC2_EVENT, detail: { 'instance-id': 'i-1' } }], [EC2_EVENT]);
    // detail is an object, not a leaf: for a pattern it does not "exist".
    check({ detail: [{ exists: true }] }, [], [EC2_EVENT]);
    check({ detail: [{ exists: false }] }, [EC2_EVENT], []);
    // A missing parent object, or an empty list of them: the leaf does not exist either.
    check(
      { detail: { items: { id: [{ exists: false }] } } },
      [{ detail: { items: [] } }],
      [{ detail: { items: [{ id: 'a' }] } }],
    );
    check(
      { detail: { errorCode: [{ exists: false }] } },
      [{ source: 'aws.ec2' }, { detail: {} }],
      [{ detail: { errorCode: 'Client.X' } }],
    );
  });

  it('equals-ignore-case', () => {
    check(
      { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      [EC2_EVENT],
      [{ ...EC2_EVENT, 'detail-type': 'EC2 Spot Instance Interruption Warning' }],
    );
  });

  it('wildcard', () => {
    check(
      { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
      [{ EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' }],
      [{ EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/myEventBus' }],
    );
  });

  it('several filters on one event (the page\'s "complex example")', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    check(pattern, [APP_EVENT], [withDetail({ state: 'initializing' }), withDetail({ 'x-limit': 300 })]);
  });

  it('$or, nested and at the top level', () => {
    const nested = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };
    check(
      nested,
      [APP_EVENT, withDetail({ 'c-count': 0, 'd-count': 20 })],
      [withDetail({ 'c-count': 0, 'd-count': 20, 'x-limit': 1 })],
    );
    const topLevel = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    check(
      topLevel,
      [
        { source: 'aws.cloudwatch', metricName: 'ReadLatency', namespace: 'AWS/RDS' },
        { source: 'aws.cloudwatch', metricName: 'DiskUsage', namespace: 'AWS/EC2' },
      ],
      [
        { source: 'aws.cloudwatch', metricName: 'DiskUsage', namespace: 'AWS/RDS' },
        { source: 'aws.ec2', metricName: 'ReadLatency' },
      ],
    );
  });
});

describe('mismatch reports and unknown forms', () => {
  it('names the first field an event fails, down to the nested leaf', () => {
    const pattern = { source: ['aws.ec2'], detail: { eventSource: ['ec2.amazonaws.com'], errorCode: [{ exists: false }] } };
    assert.equal(firstMismatch(pattern, { source: 'aws.ec2', detail: { eventSource: 'ec2.amazonaws.com' } }), undefined);
    assert.equal(
      firstMismatch(pattern, { source: 'aws.ec2', detail: { eventSource: 'ec2.amazonaws.com', errorCode: 'Client.X' } }),
      'detail.errorCode',
    );
    assert.equal(firstMismatch(pattern, { source: 'aws.s3' }), 'source');
    assert.equal(firstMismatch(pattern, { source: 'aws.ec2', detail: 'text' }), 'detail.eventSource');
  });

  it('refuses a filter it does not know instead of guessing', () => {
    assert.throws(
      () => matchesEventPattern({ detail: { x: [{ 'starts-with': 'a' }] } }, { detail: { x: 'abc' } }),
      UnsupportedPatternError,
    );
    assert.throws(() => matchesEventPattern({ ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8::1' }), UnsupportedPatternError);
    const bare = { source: 'aws.ec2' } as unknown as EventPattern;
    assert.throws(() => matchesEventPattern(bare, { source: 'aws.ec2' }), UnsupportedPatternError);
  });
});
