import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { matchesEventPattern } from '../infra/event-pattern.ts';
import { RULES } from '../infra/rules.ts';
import { parseEvents } from '../local/events-input.ts';
import { startLocalQueue } from '../local/local-queue.ts';
import { pendingEvents } from '../local/pipeline.ts';
import { routeEvents, sendToQueue } from '../local/router.ts';
import { toLambdaRecord } from '../local/sqs-records.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { sampleEvents, sqsRecord } from './helpers/records.ts';

describe('the router (EventBridge locally)', () => {
  it('sends each sample event to the message group of the deployed rule it matches, and skips the rest', () => {
    const samples = sampleEvents();
    const { routed, unmatched } = routeEvents(samples);
    for (const event of routed) {
      const rule = RULES.find((candidate) => candidate.name === event.rule);
      assert.equal(event.group, rule?.messageGroupId);
      assert.ok(rule !== undefined && matchesEventPattern(rule.eventPattern, JSON.parse(event.body)));
    }
    assert.deepEqual(
      new Set(routed.map((event) => event.group)),
      new Set(['ec2-instances-events', 'management-events-tags', 'management-events-api-calls']),
    );
    // The failed CreateSubnet and the S3 bucket's tag change: EventBridge would deliver neither.
    assert.deepEqual(
      unmatched.map(({ id, reason }) => ({ id, reason })),
      [
        {
          id: '3c5e7a90-1b2d-4e6f-8a0b-c1d2e3f4a514',
          reason: 'no rule matches: management-events-api-calls fails on detail.errorCode',
        },
        {
          id: 'ffd8a6fe-32f8-ef66-c85c-111a44b2d016',
          reason: 'no rule matches: management-events-tags fails on detail.service',
        },
      ],
    );
    assert.equal(routed.length + unmatched.length, samples.length);
  });

  it('reports an event that no rule matches instead of sending it', () => {
    const { routed, unmatched } = routeEvents([{ id: 'a', source: 'aws.s3', 'detail-type': 'Object Created' }]);
    assert.deepEqual(routed, []);
    assert.deepEqual(unmatched, [
      {
        id: 'a',
        source: 'aws.s3',
        detailType: 'Object Created',
        reason: 'no rule matches source aws.s3, detail-type Object Created',
      },
    ]);
  });
});

describe('event input', () => {
  it('reads JSON lines, a JSON array and an {"Events": [...]} export alike', () => {
    const events = [{ id: '1' }, { id: '2' }];
    for (const text of [
      events.map((e) => JSON.stringify(e)).join('\n'),
      JSON.stringify(events),
      JSON.stringify({ Events: events.map((e) => JSON.stringify(e)) }),
    ]) {
      assert.deepEqual(parseEvents(text).events, events);
    }
  });

  it('names the lines that are not JSON objects', () => {
    const { events, rejected } = parseEvents('{"id":"1"}\n[1]\n{oops\n');
    assert.deepEqual(events, [{ id: '1' }]);
    assert.deepEqual(rejected.map((r) => r.where).sort(), ['line 2', 'line 3']);
  });
});

describe("the poller's records", () => {
  const track = closeAfterEach();

  it("have the shape Lambda's SQS event source gives the function", async () => {
    const queue = track(await startLocalQueue({ region: 'eu-west-1', maxReceiveCount: 5, visibilityTimeoutSeconds: 5 }));
    const { routed } = routeEvents(sampleEvents().slice(0, 1));
    await sendToQueue(queue.sqs, queue.queueUrl, routed);
    const { Messages = [] } = await queue.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );

    const record = toLambdaRecord(
      Messages[0] ?? {},
      'arn:aws:sqs:eu-west-1:000000000000:management-events-eu-west-1.fifo',
      'eu-west-1',
    );

    const lambdaShaped = sqsRecord({ body: '{}' });
    assert.deepEqual(Object.keys(record).sort(), Object.keys(lambdaShaped).sort());
    assert.deepEqual(Object.keys(record.attributes).sort(), Object.keys(lambdaShaped.attributes).sort());
    assert.equal(record.body, routed[0]?.body);
    assert.equal(record.attributes.MessageGroupId, routed[0]?.group);
    assert.match(record.attributes.SequenceNumber ?? '', /^\d+$/);
    assert.equal(record.attributes.ApproximateReceiveCount, '1');
    assert.equal(record.eventSource, 'aws:sqs');
    assert.equal(record.awsRegion, 'eu-west-1');
  });
});

describe("the local pipeline's progress", () => {
  it('counts a sent event done only once it is delivered or dead-lettered itself, whatever else is dead-lettered', () => {
    const body = (id: string) => JSON.stringify({ id, source: 'aws.ec2' });
    const sent = ['delivered', 'dead-lettered', 'on-its-way'];
    const deliveries = new Map([['delivered', 1]]);
    // A poison body put on the queue directly is dead-lettered too; it must not stand in for 'on-its-way'.
    const deadLetterBodies = [body('dead-lettered'), '{"id": "poison", this is not JSON'];

    assert.deepEqual(pendingEvents(sent, deliveries, deadLetterBodies), ['on-its-way']);
    assert.deepEqual(pendingEvents(sent, deliveries, [...deadLetterBodies, body('on-its-way')]), []);
  });
});
