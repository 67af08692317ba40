import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { matchesEventPattern } from '../infra/event-pattern.ts';
import { RULES } from '../infra/rules.ts';
import { createDeliveryTally } from '../local/delivery-tally.ts';
import { type InputItem, parseDocument } from '../local/events-input.ts';
import { startLocalQueue } from '../local/local-queue.ts';
import { routeEvents, sendToQueue } from '../local/router.ts';
import { summaryLine } from '../local/run-summary.ts';
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
  const bodies = (items: readonly InputItem[]) => items.map((item) => (item.kind === 'event' ? item.body : item.reason));

  it('reads JSON lines, a JSON array and an {"Events": [...]} export alike, each event as written', () => {
    // Numbers and escapes that a parse-and-serialize would rewrite.
    const events = ['{"id":"1","n":12345678901234567890}', '{ "id" : "2", "price": 1.50, "name": "caf\\u00e9" }'];
    for (const text of [
      events.join('\n'),
      `[\n  ${events.join(',\n  ')}\n]`,
      JSON.stringify({ Events: events }),
      `{"Other": [1], "Events": [${events.join(', ')}]}`,
    ]) {
      assert.deepEqual(bodies(parseDocument(text, 'us-east-1')), events, text);
    }
  });

  it('names the lines that are not JSON objects', () => {
    const items = parseDocument('{"id":"1"}\n[1]\n{oops\n', 'us-east-1');
    assert.deepEqual(
      items.map((item) => [item.kind, item.where]),
      [
        ['event', 'line 1'],
        ['rejected', 'line 2'],
        ['rejected', 'line 3'],
      ],
    );
  });

  it('turns a PutEvents request into events as EventBridge does, and refuses what PutEvents refuses', () => {
    const request = {
      Entries: [
        { Source: 'my.app', DetailType: 'Order Placed', Detail: '{"amount": 1.50}', Resources: ['arn:x'] },
        { Source: 'aws.ec2', DetailType: 'EC2 Instance State-change Notification', Detail: '{}' },
        { Source: 'my.app', DetailType: 'Broken', Detail: '[1]' },
      ],
    };

    const [accepted, reserved, broken] = parseDocument(JSON.stringify(request), 'eu-west-1');

    assert.equal(accepted?.kind, 'event');
    const event = accepted?.kind === 'event' ? accepted.event : {};
    assert.equal(event.source, 'my.app');
    assert.equal(event['detail-type'], 'Order Placed');
    assert.equal(event.region, 'eu-west-1');
    assert.deepEqual(event.resources, ['arn:x']);
    assert.match(String(event.id), /^[0-9a-f-]{36}$/);
    assert.ok(accepted?.kind === 'event' && accepted.body.endsWith(',"detail":{"amount": 1.50}}'), 'Detail as written');
    assert.match(reserved?.kind === 'rejected' ? reserved.reason : '', /PutEvents refuses source aws\.ec2/);
    assert.match(broken?.kind === 'rejected' ? broken.reason : '', /Detail is not a JSON object/);
  });
});

describe("the poller's records", () => {
  const track = closeAfterEach();

  it('go to the queue in batches cut by bytes too: events that only together exceed 1 MiB are all taken', async () => {
    const queue = track(await startLocalQueue({ region: 'eu-west-1', maxReceiveCount: 5, visibilityTimeoutSeconds: 5 }));
    const events = ['a', 'b', 'c', 'd'].map((id) => ({
      id,
      rule: 'management-events-ec2',
      group: 'ec2-instances-events',
      body: JSON.stringify({ id, padding: 'x'.repeat(300 * 1024) }),
    }));

    const notSent = await sendToQueue(queue.sqs, queue.queueUrl, events, queue.maxMessageBytes);

    assert.deepEqual(notSent, []);
    const { Attributes = {} } = await queue.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    assert.equal(Attributes.ApproximateNumberOfMessages, '4');
  });

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

describe("the local pipeline's tally", () => {
  const body = (id: string) => JSON.stringify({ id, source: 'aws.ec2' });

  it('counts a sent event done only once it is delivered, handled or dead-lettered itself, whatever else is dead-lettered', () => {
    const tally = createDeliveryTally();
    for (const id of ['delivered', 'dead-lettered', 'parked', 'on-its-way', 'missed']) tally.sent(body(id));
    tally.delivered(body('delivered'));
    tally.handled(body('missed'));
    // The function parks a poison record in the dead-letter queue itself and reports it handled.
    tally.handled(body('parked'));
    // A poison body put on the queue directly is dead-lettered too; it must not stand in for 'on-its-way'.
    const deadLetterBodies = [body('dead-lettered'), body('parked'), '{"id": "poison", this is not JSON'];

    assert.deepEqual(tally.progress(deadLetterBodies), {
      sent: 5,
      delivered: 1,
      deadLettered: 3,
      missed: 1,
      pending: 1,
      refused: 0,
      receivedAgain: 0,
    });
    assert.equal(tally.progress([...deadLetterBodies, body('on-its-way')]).pending, 0);
  });

  it('follows events by body: two events with one id are two, the same body twice is one', () => {
    const tally = createDeliveryTally();
    const first = JSON.stringify({ id: 'shared', n: 1 });
    const second = JSON.stringify({ id: 'shared', n: 2 });

    assert.deepEqual([tally.sent(first), tally.sent(second), tally.sent(first)], [true, true, false]);
    tally.delivered(first);
    assert.deepEqual(tally.progress([]), {
      sent: 2,
      delivered: 1,
      deadLettered: 0,
      missed: 0,
      pending: 1,
      refused: 0,
      receivedAgain: 0,
    });
  });

  it('counts a receipt of an event the subscriber had already received (a retried publish): at least once, said', () => {
    const tally = createDeliveryTally();
    tally.sent(body('twice'));
    tally.delivered(body('twice'));
    tally.delivered(body('twice'));

    const progress = tally.progress([]);
    assert.deepEqual([progress.delivered, progress.receivedAgain], [1, 1]);
    assert.match(
      summaryLine({ progress, tooLarge: 0, unsent: 0, unreadable: 0, repeats: 0, unshown: 0, inventoryQueued: 0 }),
      /^delivered 1\/1 events, 0 dead-lettered, 1 received again \(a publish whose outcome Redis left unknown was retried/,
    );
  });
});
