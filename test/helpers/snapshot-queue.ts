import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { queueName } from '../../infra/rules.ts';
import { localSqsClient } from '../../local/local-queue.ts';
import { SQS_MAX_MESSAGE_BYTES } from '../../reconcile/snapshot-events.ts';

export interface ReceivedMessage {
  readonly groupId: string;
  readonly body: string;
}

export interface SnapshotQueue {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Receives and deletes everything queued, in the order SQS hands it out (per group: send order). */
  drain(): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

/**
 * The deployed FIFO queue in fauxqs, with the 256 KiB message limit the snapshot parts are cut for (fauxqs defaults to
 * SQS's newer 1 MiB): a part over the limit is refused here as it would be by a queue with the classic limit.
 */
export async function startSnapshotQueue(region = 'us-east-1'): Promise<SnapshotQueue> {
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
  const queue = server.createQueue(queueName(region), {
    region,
    attributes: {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
    },
  });
  const sqs = localSqsClient(server.address, region);
  return {
    sqs,
    queueUrl: queue.queueUrl,
    async drain() {
      const received: ReceivedMessage[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['MessageGroupId'],
          }),
        );
        if (Messages.length === 0) return received;
        for (const message of Messages) {
          received.push({ groupId: message.Attributes?.MessageGroupId ?? '', body: message.Body ?? '' });
        }
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.queueUrl,
            Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
          }),
        );
      }
    },
    async close() {
      sqs.destroy();
      await server.stop();
    },
  };
}
