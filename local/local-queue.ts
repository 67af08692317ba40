import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueName, queueName } from '../infra/rules.ts';
import { decodeBody, EMULATOR_ENCODING_ATTRIBUTE } from './emulator-body.ts';
import { EMULATOR_CREDENTIALS } from './local-credentials.ts';
import { type EmulatedMessage, startLoopbackSqs } from './loopback-sqs.ts';
import { startSqsFifoServer } from './sqs-fifo/server.ts';

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
  /**
   * How a receive hands out a message group. `sqs`: up to 10 messages of a group, in order, as SQS does (our
   * emulator, local/sqs-fifo/); records behind a failing one are then received, and counted, with it.
   * `one-per-group`: one message per group per receive (fauxqs).
   * @default 'sqs'
   */
  readonly groupBatching?: 'sqs' | 'one-per-group';
}

/** What the local queue needs of an emulator: an SQS client, its queues, and their messages read without receiving them. */
interface Emulator {
  client(region: string): SQSClient;
  createQueue(
    name: string,
    attributes: Record<string, string>,
  ): Promise<{ readonly queueUrl: string; readonly queueArn: string }>;
  messages(name: string): Promise<readonly EmulatedMessage[]>;
  stop(): Promise<void>;
}

/**
 * The deployed queue pair, in-process on a free loopback port: `management-events-<region>.fifo` (content-based
 * deduplication) redriving to `management-events-<region>-dlq.fifo` after maxReceiveCount.
 */
export async function startLocalQueue(options: LocalQueueOptions): Promise<LocalQueue> {
  const region = options.region;
  const emulator = options.groupBatching === 'one-per-group' ? await startFauxqs(region) : await startSqsFifo(region);
  try {
    const dlq = await emulator.createQueue(deadLetterQueueName(region), {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      MessageRetentionPeriod: '1209600',
    });
    const queue = await emulator.createQueue(queueName(region), {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      // As deployed (high throughput). fauxqs stores both but deduplicates across the queue; our emulator per group.
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: options.maxReceiveCount }),
    });
    const sqs = emulator.client(region);
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['MaximumMessageSize'] }),
    );
    return {
      sqs,
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

async function startFauxqs(region: string): Promise<Emulator> {
  const fauxqs = await startLoopbackSqs(region);
  return {
    client: fauxqs.client,
    createQueue: (name, attributes) => fauxqs.createQueue(name, { region, attributes }),
    messages: fauxqs.messages,
    stop: fauxqs.stop,
  };
}

async function startSqsFifo(region: string): Promise<Emulator> {
  const server = await startSqsFifoServer({ region });
  const sqs = localSqsClient(server.address, region);
  return {
    client: () => sqs,
    createQueue: async (name, attributes) => server.createQueue(name, attributes),
    messages: async (name) =>
      server.messages(name).map((message) => ({ body: message.body, messageAttributes: message.attributes })),
    async stop() {
      sqs.destroy();
      await server.stop();
    },
  };
}

/** An SQS client for an emulator: its address, and credentials it does not check. */
export function localSqsClient(endpoint: string, region: string): SQSClient {
  return new SQSClient({ region, endpoint, credentials: EMULATOR_CREDENTIALS });
}
