import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { queueName } from '../../infra/rules.ts';
import { startLoopbackSqs } from '../../local/loopback-sqs.ts';
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
  // On 127.0.0.1 only, as every server the project starts.
  const server = await startLoopbackSqs(region);
  const queue = await server.createQueue(queueName(region), {
    region,
    attributes: {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
    },
  });
  const sqs = server.client(region);
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
    close: () => server.stop(),
  };
}
