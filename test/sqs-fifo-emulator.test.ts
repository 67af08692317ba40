import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { localSqsClient, startLocalQueue } from '../local/local-queue.ts';
import { sendToQueue } from '../local/router.ts';
import { startSqsFifoServer } from '../local/sqs-fifo/server.ts';
import { closeAfterEach } from './helpers/cleanup.ts';

const REGION = 'eu-west-1';

interface QueueSpec {
  readonly maxReceiveCount?: number;
  readonly visibilityTimeoutSeconds?: number;
}

/** The emulator, with no queue yet, and an SDK client on it. */
async function startEmulator() {
  const server = await startSqsFifoServer({ region: REGION });
  const sqs = localSqsClient(server.address, REGION);
  return {
    server,
    sqs,
    async close() {
      sqs.destroy();
      await server.stop();
    },
  };
}

/** The emulator with a FIFO queue redriving to a FIFO dead-letter queue. */
async function startQueues({ maxReceiveCount = 5, visibilityTimeoutSeconds = 30 }: QueueSpec = {}) {
  const emulator = await startEmulator();
  const dlq = emulator.server.createQueue('events-dlq.fifo', { FifoQueue: 'true' });
  const queue = emulator.server.createQueue('events.fifo', {
    FifoQueue: 'true',
    ContentBasedDeduplication: 'true',
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount }),
  });
  return { ...emulator, queueUrl: queue.queueUrl, queueArn: queue.queueArn, dlqUrl: dlq.queueUrl };
}

/** Bodies `<group>-1`, `<group>-2`... sent to one group in order (ten per SendMessageBatch, as the local router sends). */
async function sendGroup(sqs: SQSClient, queueUrl: string, group: string, count: number, from = 1): Promise<string[]> {
  const bodies = Array.from({ length: count }, (_, index) => `${group}-${from + index}`);
  const notSent = await sendToQueue(
    sqs,
    queueUrl,
    bodies.map((body) => ({ id: body, rule: group, group, body })),
  );
  assert.deepEqual(notSent, []);
  return bodies;
}

async function receive(sqs: SQSClient, queueUrl: string, options: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      ...options,
    }),
  );
  return Messages;
}

const bodiesOf = (messages: readonly Message[]) => messages.map((message) => message.Body);
const countsOf = (messages: readonly Message[]) => messages.map((message) => Number(message.Attributes?.ApproximateReceiveCount));

async function deleteAll(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  const { Failed = [] } = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
    }),
  );
  assert.deepEqual(Failed, []);
}

async function sqsError(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  const error = await promise.then(
    () => assert.fail('the call succeeded'),
    (thrown: Error) => thrown,
  );
  return { name: error.name, message: error.message };
}

describe('the SQS FIFO emulator', () => {
  const track = closeAfterEach();

  it('hands out a group of ten in one receive, in send order', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const sent = await sendGroup(sqs, queueUrl, 'ec2-instances-events', 10);

    const received = await receive(sqs, queueUrl);

    assert.deepEqual(bodiesOf(received), sent);
    assert.ok(received.every((message) => message.Attributes?.MessageGroupId === 'ec2-instances-events'));
    const sequenceNumbers = received.map((message) => BigInt(message.Attributes?.SequenceNumber ?? '0'));
    assert.deepEqual(
      sequenceNumbers,
      [...sequenceNumbers].sort((a, b) => (a < b ? -1 : 1)),
    );
  });

  it('fills a receive from other groups once the first runs out, each group in order', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const tags = await sendGroup(sqs, queueUrl, 'tags', 3);
    const states = await sendGroup(sqs, queueUrl, 'states', 4);

    const received = await receive(sqs, queueUrl);

    // Which group comes first is SQS's choice; each group's order is not.
    const ofGroup = (group: string) => bodiesOf(received.filter((message) => message.Attributes?.MessageGroupId === group));
    assert.equal(received.length, 7);
    assert.deepEqual(ofGroup('tags'), tags);
    assert.deepEqual(ofGroup('states'), states);
  });

  it('hands out nothing more of a group while any of it is in flight, and the other groups meanwhile', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const states = await sendGroup(sqs, queueUrl, 'states', 12);
    const first = await receive(sqs, queueUrl);
    const tags = await sendGroup(sqs, queueUrl, 'tags', 1);

    const second = await receive(sqs, queueUrl);

    assert.deepEqual(bodiesOf(first), states.slice(0, 10));
    assert.deepEqual(bodiesOf(second), tags);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    assert.deepEqual(Attributes, { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '11' });
  });

  it('counts receives per message: those handed out behind a failing one are received and counted with it', async () => {
    const { sqs, queueUrl } = track(await startQueues({ visibilityTimeoutSeconds: 1 }));
    const sent = await sendGroup(sqs, queueUrl, 'states', 3);
    const first = await receive(sqs, queueUrl);

    // Nothing is deleted: the visibility timeout runs out for the whole batch.
    const again = await receive(sqs, queueUrl, { WaitTimeSeconds: 5 });

    assert.deepEqual(countsOf(first), [1, 1, 1]);
    assert.deepEqual(bodiesOf(again), sent);
    assert.deepEqual(countsOf(again), [2, 2, 2]);
    assert.deepEqual(
      again.map((message) => message.MessageId),
      first.map((message) => message.MessageId),
    );
    assert.deepEqual(
      again.map((message) => message.Attributes?.ApproximateFirstReceiveTimestamp),
      first.map((message) => message.Attributes?.ApproximateFirstReceiveTimestamp),
    );
  });

  it('moves messages received maxReceiveCount times to the dead-letter queue with their group, and the group flows on', async () => {
    const { sqs, queueUrl, queueArn, dlqUrl } = track(await startQueues({ maxReceiveCount: 2, visibilityTimeoutSeconds: 1 }));
    const failing = await sendGroup(sqs, queueUrl, 'states', 2);
    const first = await receive(sqs, queueUrl);
    const second = await receive(sqs, queueUrl, { WaitTimeSeconds: 5 });
    const behind = await sendGroup(sqs, queueUrl, 'states', 1, 3);

    // Both have been received twice: once visible again they go to the dead-letter queue, not to this receive.
    const third = await receive(sqs, queueUrl, { WaitTimeSeconds: 5 });
    const deadLettered = await receive(sqs, dlqUrl);

    assert.deepEqual(bodiesOf(first), failing);
    assert.deepEqual(bodiesOf(second), failing);
    assert.deepEqual(bodiesOf(third), behind);
    assert.deepEqual(countsOf(third), [1]);
    assert.deepEqual(bodiesOf(deadLettered), failing);
    assert.deepEqual(
      deadLettered.map((message) => message.MessageId),
      first.map((message) => message.MessageId),
    );
    for (const message of deadLettered) {
      assert.equal(message.Attributes?.MessageGroupId, 'states');
      assert.equal(message.Attributes?.DeadLetterQueueSourceArn, queueArn);
      // SQS gives a dead-lettered FIFO message its message ID as deduplication ID.
      assert.equal(message.Attributes?.MessageDeduplicationId, message.MessageId);
    }
  });

  it('makes a message visible at once with ChangeMessageVisibility 0, with the rest of its batch', async () => {
    const { sqs, queueUrl } = track(await startQueues({ visibilityTimeoutSeconds: 30 }));
    const sent = await sendGroup(sqs, queueUrl, 'states', 2);
    const first = await receive(sqs, queueUrl);

    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: first.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
    const again = await receive(sqs, queueUrl);

    assert.deepEqual(bodiesOf(again), sent);
    assert.deepEqual(countsOf(again), [2, 2]);
  });

  it('keeps a message in flight longer when ChangeMessageVisibility extends it', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const sent = await sendGroup(sqs, queueUrl, 'states', 1);
    const [message] = await receive(sqs, queueUrl, { VisibilityTimeout: 1 });

    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 3 }),
    );
    // Waits past the receive's own timeout (1 s), not past the extended one (3 s from the change).
    const duringExtension = await receive(sqs, queueUrl, { WaitTimeSeconds: 2 });
    const afterExtension = await receive(sqs, queueUrl, { WaitTimeSeconds: 5 });

    assert.deepEqual(duringExtension, []);
    assert.deepEqual(bodiesOf(afterExtension), sent);
  });

  it('releases a group only when nothing of it is in flight, whatever part of a batch is deleted or visible again', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const sent = await sendGroup(sqs, queueUrl, 'states', 6);
    const batch = await receive(sqs, queueUrl, { MaxNumberOfMessages: 5 });
    const [head, ...rest] = batch;

    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: head?.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    const whileTheRestIsInFlight = await receive(sqs, queueUrl);
    await deleteAll(sqs, queueUrl, rest.slice(0, 3));
    const whileOneIsInFlight = await receive(sqs, queueUrl);
    await deleteAll(sqs, queueUrl, rest.slice(3));
    const onceNoneIsInFlight = await receive(sqs, queueUrl);

    assert.deepEqual(bodiesOf(batch), sent.slice(0, 5));
    assert.deepEqual(whileTheRestIsInFlight, []);
    assert.deepEqual(whileOneIsInFlight, []);
    assert.deepEqual(bodiesOf(onceNoneIsInFlight), [sent[0], sent[5]]);
    assert.deepEqual(countsOf(onceNoneIsInFlight), [2, 1]);
  });

  it('refuses a receipt handle once the message was received again, as a FIFO queue does, and takes the new one', async () => {
    const { sqs, queueUrl } = track(await startQueues({ visibilityTimeoutSeconds: 1 }));
    await sendGroup(sqs, queueUrl, 'states', 1);
    const [first] = await receive(sqs, queueUrl);
    const [second] = await receive(sqs, queueUrl, { WaitTimeSeconds: 5 });

    const stale = await sqsError(sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first?.ReceiptHandle })));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second?.ReceiptHandle }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );

    assert.equal(stale.name, 'InvalidParameterValue');
    assert.match(stale.message, /receipt handle has expired/);
    assert.deepEqual(Attributes, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('stores a body sent twice within the deduplication window once (content-based deduplication)', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const send = () => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'same', MessageGroupId: 'states' }));
    const first = await send();
    const duplicate = await send();

    const received = await receive(sqs, queueUrl);

    assert.equal(duplicate.MessageId, first.MessageId);
    assert.deepEqual(bodiesOf(received), ['same']);
  });

  it('carries characters beyond U+FFFF as SQS does, and refuses those SQS refuses', async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const body = JSON.stringify({ detail: { tags: { team: 'pay 💳 ✓' } } });

    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: 'tags' }));
    const refused = await sqsError(
      sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'nul \u0000', MessageGroupId: 'tags' })),
    );
    const received = await receive(sqs, queueUrl);

    assert.deepEqual(bodiesOf(received), [body]);
    assert.equal(refused.name, 'InvalidMessageContents');
  });

  // The test's timeout is below the poll's 20 s: a poll that only looked again at its end would fail it.
  it('answers a long poll when a message arrives, not at the end of its wait', { timeout: 10_000 }, async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const polling = receive(sqs, queueUrl, { WaitTimeSeconds: 20 });

    const sent = await sendGroup(sqs, queueUrl, 'states', 1);

    assert.deepEqual(bodiesOf(await polling), sent);
  });

  it("answers with SQS's errors: unknown queue, missing group, unknown action, a receipt handle it did not issue", async () => {
    const { sqs, queueUrl } = track(await startQueues());
    const otherUrl = queueUrl.replace('events.fifo', 'other.fifo');

    const unknownQueue = await sqsError(receive(sqs, otherUrl));
    const noGroup = await sqsError(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{}' })));
    const unsupported = await sqsError(sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl })));
    const notAHandle = await sqsError(sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'not-a-handle' })));

    assert.equal(unknownQueue.name, 'QueueDoesNotExist');
    assert.equal(noGroup.name, 'MissingParameter');
    assert.equal(unsupported.name, 'UnsupportedOperation');
    assert.equal(notAHandle.name, 'ReceiptHandleIsInvalid');
    assert.match(unsupported.message, /PurgeQueue/);
  });
});

describe("the SQS FIFO emulator's queues", () => {
  const track = closeAfterEach();

  it('are created with CreateQueue and found with GetQueueUrl; a redrive policy must name an existing queue', async () => {
    const { sqs } = track(await startEmulator());
    const create = (name: string, Attributes: Record<string, string>) =>
      sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true', ...Attributes } }));
    const { QueueUrl: dlqUrl } = await create('events-dlq.fifo', {});
    const { Attributes: dlq } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    const redrive = JSON.stringify({ deadLetterTargetArn: dlq?.QueueArn, maxReceiveCount: 5 });

    const { QueueUrl } = await create('events.fifo', { VisibilityTimeout: '60', RedrivePolicy: redrive });
    const again = await create('events.fifo', { VisibilityTimeout: '60', RedrivePolicy: redrive });
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: 'events.fifo' }));
    const differing = await sqsError(create('events.fifo', { VisibilityTimeout: '30', RedrivePolicy: redrive }));
    const noTarget = await sqsError(
      create('other.fifo', {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `${dlq?.QueueArn}-gone`, maxReceiveCount: 5 }),
      }),
    );
    const notFifo = await sqsError(create('standard', {}));

    assert.equal(again.QueueUrl, QueueUrl);
    assert.equal(found.QueueUrl, QueueUrl);
    assert.equal(new URL(QueueUrl ?? '').pathname, '/000000000000/events.fifo');
    assert.equal(differing.name, 'QueueNameExists');
    assert.equal(noTarget.name, 'InvalidParameterValue');
    assert.match(noTarget.message, /Dead letter target does not exist/);
    assert.equal(notFifo.name, 'InvalidParameterValue');
  });
});

describe('the local queue', () => {
  const track = closeAfterEach();

  for (const [groupBatching, expected] of [
    ['sqs', 10],
    ['one-per-group', 1],
  ] as const) {
    it(`with groupBatching '${groupBatching}' hands out ${expected} of a group of ten per receive`, async () => {
      const local = track(
        await startLocalQueue({ region: REGION, maxReceiveCount: 5, visibilityTimeoutSeconds: 5, groupBatching }),
      );
      await sendGroup(local.sqs, local.queueUrl, 'states', 10);

      const received = await receive(local.sqs, local.queueUrl);

      assert.equal(received.length, expected);
    });
  }
});
