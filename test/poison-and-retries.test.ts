import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { deadLetterQueueName, queueName } from '../infra/rules.ts';
import { createHandler } from '../lambda/handler.ts';
import { sqsQueueActions } from '../lambda/queue-actions.ts';
import { localSqsClient } from '../local/local-queue.ts';
import { toLambdaRecord } from '../local/sqs-records.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const REGION = 'us-east-1';
const GROUP = 'ec2-instances-events';
const QUEUE_VISIBILITY_SECONDS = 60;

/** The deployed queue pair in fauxqs, and a way to see when each in-flight message comes back. */
async function startQueues() {
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: REGION });
  const dlq = server.createQueue(deadLetterQueueName(REGION), {
    region: REGION,
    attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
  });
  const queue = server.createQueue(queueName(REGION), {
    region: REGION,
    attributes: {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: String(QUEUE_VISIBILITY_SECONDS),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 1000 }),
    },
  });
  const sqs: SQSClient = localSqsClient(server.address, REGION);
  return {
    sqs,
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    deadLetterQueueUrl: dlq.queueUrl,
    /** Seconds until each in-flight message of the queue is visible again. */
    secondsUntilVisible(): number[] {
      const inflight = server.inspectQueue(queueName(REGION))?.messages.inflight ?? [];
      return inflight.map((entry) =>
        Math.round(((entry as { visibilityDeadline: number }).visibilityDeadline - Date.now()) / 1000),
      );
    },
    async close() {
      sqs.destroy();
      await server.stop();
    },
  };
}

describe('a record that can never be published (poison)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  /** The queues, a subscriber, and a handler that parks in the dead-letter queue `deadLetterQueueUrl` names. */
  async function setUp(deadLetterQueueUrl = (queues: Awaited<ReturnType<typeof startQueues>>) => queues.deadLetterQueueUrl) {
    const queues = track(await startQueues());
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const logs = captureLogs();
    const handler = track(
      createHandler({
        env: { REDIS_URL: redis.url },
        logger: logs.logger,
        queueActions: () =>
          sqsQueueActions({
            sqs: async () => queues.sqs,
            queueUrl: queues.queueUrl,
            deadLetterQueueUrl: deadLetterQueueUrl(queues),
          }),
      }),
    );
    return { queues, subscriber, logs, handler };
  }

  it('is parked in the dead-letter queue by the function, and the rest of its group is published at once', async () => {
    // Prepare: a group as real SQS FIFO hands it out, the poison record second.
    const { queues, subscriber, logs, handler } = await setUp();
    const records = [
      sqsRecord({ body: stateChange('i-1', 'pending'), group: GROUP }),
      sqsRecord({ body: '{"truncated": ', group: GROUP }),
      sqsRecord({ body: stateChange('i-1', 'running'), group: GROUP }),
      sqsRecord({ body: stateChange('i-1', 'stopping'), group: GROUP }),
    ];

    // Act
    const response = await handler(sqsEvent(records), lambdaContext());

    // Assess: nothing is left for SQS to redeliver; the good records arrived in order.
    assert.deepEqual(response, { batchItemFailures: [] });
    await subscriber.waitFor(3);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [records[0], records[2], records[3]].map((record) => record?.body),
    );
    // The poison body waits in the dead-letter queue, unchanged, in its group, saying why and where from.
    const parked = await queues.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    assert.equal(parked.Messages?.length, 1);
    assert.equal(parked.Messages?.[0]?.Body, '{"truncated": ');
    assert.equal(parked.Messages?.[0]?.Attributes?.MessageGroupId, GROUP);
    assert.match(parked.Messages?.[0]?.MessageAttributes?.['parked-reason']?.StringValue ?? '', /^InvalidBodyError: /);
    assert.equal(parked.Messages?.[0]?.MessageAttributes?.['parked-message-id']?.StringValue, records[1]?.messageId);
    // Its log line and the metric say where it went.
    const line = logs.entries().find((entry) => entry.outcome === 'parked');
    assert.equal(line?.messageId, records[1]?.messageId);
    assert.equal(line?.deadLetterQueue, deadLetterQueueName(REGION));
    const summary = logs.withMessage('batch processed')[0];
    assert.equal(summary?.RecordsParked, 1);
    assert.equal(summary?.RecordsFailed, 0);
  });

  it('stays failed, holding back the rest of its group, when it cannot be parked', async () => {
    const { subscriber, logs, handler } = await setUp(
      (queues) => `${queues.deadLetterQueueUrl.replace(/[^/]+$/, '')}no-such-queue.fifo`,
    );
    const records = [
      sqsRecord({ body: stateChange('i-1', 'pending'), group: GROUP }),
      sqsRecord({ body: 'not json', group: GROUP }),
      sqsRecord({ body: stateChange('i-1', 'running'), group: GROUP }),
    ];

    const response = await handler(sqsEvent(records), lambdaContext());

    assert.deepEqual(
      response.batchItemFailures.map((failure) => failure.itemIdentifier),
      [records[1]?.messageId, records[2]?.messageId],
    );
    await subscriber.waitFor(1);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [records[0]?.body],
    );
    const failed = logs.entries().find((entry) => entry.messageId === records[1]?.messageId);
    assert.equal(failed?.outcome, 'failed');
    assert.equal(errorOf(failed).name, 'InvalidBodyError');
    assert.ok(failed?.parkError, 'says why it could not be parked');
  });
});

describe('records that failed for a transient reason', () => {
  const track = closeAfterEach();

  /** Sends `bodies` (group, body) to the queue and receives them as the event source would. */
  async function receiveBatch(queues: Awaited<ReturnType<typeof startQueues>>, bodies: readonly [string, string][]) {
    await queues.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: bodies.map(([group, body], index) => ({ Id: String(index), MessageGroupId: group, MessageBody: body })),
      }),
    );
    const received = await queues.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );
    return (received.Messages ?? []).map((message) => toLambdaRecord(message, queues.queueArn, REGION));
  }

  it('come back after a short delay that grows with their receive count, not after the visibility timeout', async () => {
    // Prepare: Redis is down (nothing listens on the port), two groups.
    const queues = track(await startQueues());
    const handler = track(
      createHandler({
        env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CONNECT_TIMEOUT_MS: '200' },
        logger: captureLogs().logger,
        queueActions: () =>
          sqsQueueActions({
            sqs: async () => queues.sqs,
            queueUrl: queues.queueUrl,
            deadLetterQueueUrl: queues.deadLetterQueueUrl,
          }),
      }),
    );
    const records = await receiveBatch(queues, [
      ['a', stateChange('i-1', 'pending')],
      ['b', stateChange('i-2', 'pending')],
    ]);
    assert.equal(records.length, 2);
    // The record of group b has been received four times already.
    (records[1] as (typeof records)[number]).attributes.ApproximateReceiveCount = '4';

    // Act
    const response = await handler(sqsEvent(records), lambdaContext());

    // Assess: both failed; a first failure comes back in 5 s, a fourth in 40 s, not in the queue's 60 s.
    assert.equal(response.batchItemFailures.length, 2);
    assert.deepEqual(
      queues.secondsUntilVisible().sort((x, y) => x - y),
      [5, 40],
    );
  });
});
