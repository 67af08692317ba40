import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createJsonLogger } from '../lambda/log.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { batches, SendFailedError, sendMessages } from '../reconcile/send-messages.ts';
import {
  SNAPSHOT_DETAIL_TYPE,
  SNAPSHOT_SOURCE,
  SnapshotItemTooLargeError,
  SQS_MAX_MESSAGE_BYTES,
  snapshotMessages,
} from '../reconcile/snapshot-events.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { instance, subnet, vpc } from './helpers/ec2-assets.ts';
import { type ReceivedMessage, startSnapshotQueue } from './helpers/snapshot-queue.ts';

const REGION = 'us-east-1';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:management-events-reconcile-us-east-1';
const GROUPS = ['management-events-tags', 'ec2-instances-events', 'management-events-api-calls'];

interface SnapshotEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    snapshotId: string;
    resourceType: string;
    part: number;
    parts: number;
    complete: boolean;
    group: string;
    groups: string[];
    items: Record<string, unknown>[];
  };
}

/** DescribeInstances over pages of `pageSize`, reservations of two instances, as EC2 paginates with NextToken. */
function stubEc2(ec2: ReturnType<typeof mockClient>, instances: readonly Instance[], pageSize: number) {
  const requests: DescribeInstancesCommandInput[] = [];
  ec2.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
    requests.push({ ...input });
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    const page = instances.slice(start, start + pageSize);
    const reservations = [];
    for (let i = 0; i < page.length; i += 2)
      reservations.push({ ReservationId: `r-${start + i}`, Instances: page.slice(i, i + 2) });
    const next = start + pageSize;
    return { Reservations: reservations, NextToken: next < instances.length ? String(next) : undefined };
  });
  return requests;
}

function sentBatches(sqs: SQSClient): SendMessageBatchCommandInput[] {
  const seen: SendMessageBatchCommandInput[] = [];
  sqs.middlewareStack.add(
    (next) => async (args) => {
      seen.push(args.input as SendMessageBatchCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordBatches' },
  );
  return seen;
}

function parse(messages: readonly ReceivedMessage[]): (SnapshotEvent & { groupId: string; bytes: number })[] {
  return messages.map((message) => ({
    ...(JSON.parse(message.body) as SnapshotEvent),
    groupId: message.groupId,
    bytes: Buffer.byteLength(message.body),
  }));
}

describe('the reconcile function', () => {
  const closeLater = closeAfterEach();

  it('sends 1,200 instances listed over several pages as parts i of n under 256 KiB, each instance once per group', async () => {
    // Prepare
    const queue = closeLater(await startSnapshotQueue(REGION));
    const ec2Client = new EC2Client({ region: REGION });
    const ec2 = mockClient(ec2Client);
    closeLater({ close: () => ec2.restore() });
    const instances = Array.from({ length: 1200 }, (_, i) => instance(i));
    const describeRequests = stubEc2(ec2, instances, 500);
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [vpc(1), vpc(2)] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet(1)] });
    const batchesSent = sentBatches(queue.sqs);
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, AWS_REGION: REGION },
      ec2: ec2Client,
      sqs: queue.sqs,
      logger: createJsonLogger(() => {}),
    });

    // Act
    const summary = await handler({}, { invokedFunctionArn: FUNCTION_ARN });
    const events = parse(await queue.drain());

    // Assess
    assert.deepEqual(
      describeRequests.map((request) => request.NextToken),
      [undefined, '500', '1000'],
      'three pages, each after the last',
    );
    assert.ok(describeRequests.every((request) => request.MaxResults === 1000));
    const instanceEvents = events.filter((event) => event.detail.resourceType === 'instance');
    const parts = instanceEvents[0]?.detail.parts ?? 0;
    assert.ok(parts >= 3, `1,200 instances of ~1.5 KB need several parts, got ${parts}`);
    assert.equal(instanceEvents.length, parts * GROUPS.length);
    for (const group of GROUPS) {
      const ofGroup = instanceEvents.filter((event) => event.groupId === group);
      assert.deepEqual(
        ofGroup.map((event) => [event.detail.part, event.detail.parts, event.detail.group]),
        Array.from({ length: parts }, (_, i) => [i + 1, parts, group]),
        `group ${group}: parts 1..n in order`,
      );
      const ids = ofGroup.flatMap((event) => event.detail.items.map((item) => item.InstanceId));
      assert.deepEqual(
        ids,
        instances.map((item) => item.InstanceId),
        `group ${group}: every instance exactly once`,
      );
    }
    for (const event of events) {
      assert.ok(event.bytes <= SQS_MAX_MESSAGE_BYTES, `${event.bytes} bytes`);
      assert.equal(event.source, SNAPSHOT_SOURCE);
      assert.equal(event['detail-type'], SNAPSHOT_DETAIL_TYPE);
      assert.equal(event.account, '123456789012', 'the account of the function ARN');
      assert.equal(event.region, REGION);
      assert.deepEqual(event.resources, [FUNCTION_ARN]);
      assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(event.detail.snapshotId, summary.snapshotId);
      assert.equal(event.detail.complete, true);
      assert.deepEqual(event.detail.groups, GROUPS);
      // Without the inventory, exactly the members consumers have always had (no inventory stamps).
      assert.deepEqual(Object.keys(event.detail), [
        'snapshotId',
        'resourceType',
        'part',
        'parts',
        'complete',
        'group',
        'groups',
        'items',
      ]);
    }
    assert.equal(new Set(events.map((event) => event.id)).size, events.length, 'every event has its own id');
    // The restored dates are the SDK's Date objects, serialized as ISO strings.
    assert.equal(instanceEvents[0]?.detail.items[0]?.LaunchTime, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(
      events.filter((event) => event.detail.resourceType === 'vpc' && event.groupId === GROUPS[0]).flatMap((e) => e.detail.items),
      JSON.parse(JSON.stringify([vpc(1), vpc(2)])),
    );
    assert.deepEqual(
      summary.sent.map((type) => [type.resourceType, type.items, type.parts, type.messages]),
      [
        ['instance', 1200, parts, parts * 3],
        ['vpc', 2, 1, 3],
        ['subnet', 1, 1, 3],
      ],
    );
    for (const batch of batchesSent) {
      const entries = batch.Entries ?? [];
      const bytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0);
      assert.ok(entries.length <= 10 && bytes <= SQS_MAX_MESSAGE_BYTES, `a batch of ${entries.length} entries, ${bytes} bytes`);
      for (const entry of entries) assert.equal(entry.MessageDeduplicationId, JSON.parse(entry.MessageBody ?? '{}').id);
    }
  });

  it('sends a complete, empty snapshot of each type for an empty region, so consumers can delete what they hold', async () => {
    const queue = closeLater(await startSnapshotQueue(REGION));
    const ec2Client = new EC2Client({ region: REGION });
    const ec2 = mockClient(ec2Client);
    closeLater({ close: () => ec2.restore() });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(DescribeVpcsCommand).resolves({});
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, AWS_REGION: REGION },
      ec2: ec2Client,
      sqs: queue.sqs,
      logger: createJsonLogger(() => {}),
    });

    await handler({}, { invokedFunctionArn: FUNCTION_ARN });
    const events = parse(await queue.drain());

    const seen = events.map((event) => [event.detail.resourceType, event.groupId, event.detail.part, event.detail.parts]);
    const expected = ['instance', 'vpc', 'subnet'].flatMap((type) => GROUPS.map((group) => [type, group, 1, 1]));
    assert.deepEqual(
      seen.sort((a, b) => String(a).localeCompare(String(b))),
      expected.sort((a, b) => String(a).localeCompare(String(b))),
    );
    for (const event of events) {
      assert.deepEqual(event.detail.items, []);
      assert.equal(event.detail.complete, true);
    }
  });

  it('does not send a type it could not list, sends the others, and fails the invocation naming the type', async () => {
    const queue = closeLater(await startSnapshotQueue(REGION));
    const ec2Client = new EC2Client({ region: REGION });
    const ec2 = mockClient(ec2Client);
    closeLater({ close: () => ec2.restore() });
    const instances = Array.from({ length: 30 }, (_, i) => instance(i));
    stubEc2(ec2, instances, 10);
    const denied = Object.assign(new Error('You are not authorized to perform this operation.'), {
      name: 'UnauthorizedOperation',
    });
    ec2.on(DescribeVpcsCommand).rejects(denied);
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet(1)] });
    const lines: string[] = [];
    const handler = createReconcileHandler({
      env: { QUEUE_URL: queue.queueUrl, AWS_REGION: REGION },
      ec2: ec2Client,
      sqs: queue.sqs,
      logger: createJsonLogger((line) => lines.push(line)),
    });

    await assert.rejects(handler({}, { invokedFunctionArn: FUNCTION_ARN }), /not sent for vpc \(UnauthorizedOperation: /);
    const events = parse(await queue.drain()).filter((event) => event.groupId === GROUPS[0]);

    assert.deepEqual(
      events.map((event) => event.detail.resourceType),
      ['instance', 'subnet'],
    );
    assert.equal(events[0]?.detail.items.length, 30);
    const failure = lines.map((line) => JSON.parse(line)).find((line) => line.message === 'snapshot not sent');
    assert.deepEqual(failure?.error, {
      name: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
    });
  });

  it('refuses to start without its queue, naming it', () => {
    assert.throws(
      () => createReconcileHandler({ env: { AWS_REGION: REGION }, logger: createJsonLogger(() => {}) }),
      /QUEUE_URL \(the FIFO queue\) or, in a member account, CENTRAL_BUS_ARN \(the central default bus\) is required/,
    );
  });
});

describe('snapshot parts', () => {
  const base = {
    snapshotId: 's-1',
    account: '123456789012',
    region: REGION,
    time: '2026-12-01T00:00:00Z',
    resources: [FUNCTION_ARN],
    resourceType: 'instance' as const,
    groups: ['g'],
  };
  const newId = randomUUID;

  it('fills each part up to the limit and never past it, counting UTF-8 bytes and the envelope', () => {
    const shapes = {
      // 3-byte characters: a limit in string length would overshoot three times.
      'large items': (i: number) => ({ InstanceId: `i-${i}`, note: '€'.repeat(300) }),
      // Small items leave no slack: a part that forgot its envelope would overshoot by it.
      'small items': (i: number) => ({ InstanceId: `i-${i}` }),
    };
    for (const [shape, make] of Object.entries(shapes)) {
      const items = Array.from({ length: 2000 }, (_, i) => make(i));
      const maxPartBytes = 20_000;
      const messages = snapshotMessages({ ...base, items, newId, maxPartBytes });
      const sizes = messages.map((message) => Buffer.byteLength(message.body));
      assert.ok(
        sizes.every((size) => size <= maxPartBytes),
        `${shape}: ${sizes.join()}`,
      );
      // Full parts: one more item would have crossed the limit, less the few bytes kept for part numbers up to 999999.
      const itemBytes = Math.max(...items.map((item) => Buffer.byteLength(JSON.stringify(item))));
      for (const size of sizes.slice(0, -1))
        assert.ok(size + itemBytes + 1 > maxPartBytes - 16, `${shape}: a part of ${size} bytes was not full`);
      const ids = messages.flatMap((message) =>
        JSON.parse(message.body).detail.items.map((item: { InstanceId: string }) => item.InstanceId),
      );
      assert.deepEqual(
        ids,
        items.map((item) => item.InstanceId),
      );
    }
  });

  it('refuses an item larger than a part, naming it, rather than send an incomplete snapshot', () => {
    const items = [{ InstanceId: 'i-small' }, { InstanceId: 'i-huge', blob: 'x'.repeat(30_000) }];
    assert.throws(
      () => snapshotMessages({ ...base, items, newId, maxPartBytes: 20_000 }),
      (error: Error) => error instanceof SnapshotItemTooLargeError && /instance i-huge/.test(error.message),
    );
  });

  it('batches at most 10 messages and 256 KiB per SendMessageBatch', () => {
    const message = (bytes: number) => ({ id: 'x', groupId: 'g', body: 'x'.repeat(bytes) });
    const sized = [
      ...batches([message(200_000), message(70_000), message(100), ...Array.from({ length: 12 }, () => message(10))], 262_144),
    ];
    assert.deepEqual(
      sized.map((batch) => batch.length),
      [1, 10, 4],
    );
  });

  it('sends again only the entries SQS failed on its side, with the same deduplication ids', async () => {
    const sqsClient = new SQSClient({ region: REGION });
    const sqs = mockClient(sqsClient);
    try {
      sqs
        .on(SendMessageBatchCommand)
        .resolvesOnce({
          Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: '' }],
          Failed: [{ Id: '1', SenderFault: false, Code: 'InternalError', Message: 'try again' }],
        })
        .resolves({ Successful: [{ Id: '1', MessageId: 'm1', MD5OfMessageBody: '' }], Failed: [] });
      const messages = [
        { id: 'a', groupId: 'g', body: '{"id":"a"}' },
        { id: 'b', groupId: 'g', body: '{"id":"b"}' },
      ];

      assert.equal(await sendMessages(sqsClient, 'https://sqs.example/q.fifo', messages), 2);

      const calls = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries);
      assert.deepEqual(
        calls.map((entries) => entries?.map((entry) => [entry.MessageDeduplicationId, entry.MessageBody])),
        [
          [
            ['a', '{"id":"a"}'],
            ['b', '{"id":"b"}'],
          ],
          [['b', '{"id":"b"}']],
        ],
      );
    } finally {
      sqs.restore();
    }
  });

  it('stops at an entry SQS refuses as the fault of the sender, naming the code', async () => {
    const sqsClient = new SQSClient({ region: REGION });
    const sqs = mockClient(sqsClient);
    try {
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: [],
        Failed: [{ Id: '0', SenderFault: true, Code: 'InvalidMessageContents', Message: 'Invalid characters found.' }],
      });
      await assert.rejects(
        sendMessages(sqsClient, 'https://sqs.example/q.fifo', [{ id: 'a', groupId: 'g', body: '{}' }]),
        (error: Error) => error instanceof SendFailedError && /InvalidMessageContents/.test(error.message),
      );
      assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 1, 'not sent again');
    } finally {
      sqs.restore();
    }
  });
});
