import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueName, queueName } from '../infra/rules.ts';
import { decodeBody, EMULATOR_ENCODING_ATTRIBUTE } from './emulator-body.ts';
import { EMULATOR_CREDENTIALS } from './local-credentials.ts';
import { startLoopbackSqs } from './loopback-sqs.ts';

export interface LocalQueue {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** The queue's MaximumMessageSize: the most one message, or one SendMessageBatch, may carry. */
  readonly maxMessageBytes: number;
  /** Bodies of the dead-lettered messages (read without deleting them). */
  deadLetterBodies(): Promise<string[]>;
  close(): Promise<void>;
}

export interface LocalQueueOptions {
  readonly region: string;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

/**
 * The deployed queue pair, in-process: fauxqs on a free loopback port with `management-events-<region>.fifo`
 * (content-based deduplication) redriving to `management-events-<region>-dlq.fifo` after maxReceiveCount.
 */
export async function startLocalQueue(options: LocalQueueOptions): Promise<LocalQueue> {
  const region = options.region;
  const emulator = await startLoopbackSqs(region);
  try {
    const dlq = await emulator.createQueue(deadLetterQueueName(region), {
      region,
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true', MessageRetentionPeriod: '1209600' },
    });
    const queue = await emulator.createQueue(queueName(region), {
      region,
      attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'true',
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: options.maxReceiveCount }),
      },
    });
    const { Attributes = {} } = await emulator
      .client(region)
      .send(new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['MaximumMessageSize'] }));
    return {
      sqs: emulator.client(region),
      maxMessageBytes: Number(Attributes.MaximumMessageSize),
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: dlq.queueUrl,
      async deadLetterBodies() {
        return (await emulator.messages(deadLetterQueueName(region))).map((message) =>
          decodeBody(message.body, message.messageAttributes[EMULATOR_ENCODING_ATTRIBUTE]?.StringValue),
        );
      },
      close: () => emulator.stop(),
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

/** An SQS client for an emulator: its address, and credentials it does not check. */
export function localSqsClient(endpoint: string, region: string): SQSClient {
  return new SQSClient({ region, endpoint, credentials: EMULATOR_CREDENTIALS });
}
