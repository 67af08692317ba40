import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { deadLetterQueueName, queueName } from '../infra/rules.ts';
import { decodeBody, EMULATOR_ENCODING_ATTRIBUTE } from './emulator-body.ts';
import { startSqsFifoServer } from './sqs-fifo/server.ts';

export interface LocalQueue {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
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
   * @default 'one-per-group'
   */
  readonly groupBatching?: 'sqs' | 'one-per-group';
}

/**
 * The deployed queue pair, in-process on a free loopback port: `management-events-<region>.fifo` (content-based
 * deduplication) redriving to `management-events-<region>-dlq.fifo` after maxReceiveCount.
 */
export async function startLocalQueue(options: LocalQueueOptions): Promise<LocalQueue> {
  const region = options.region;
  const server = options.groupBatching === 'sqs' ? await startSqsFifo(region) : await startFauxqsFifo(region);
  const dlq = server.createQueue(deadLetterQueueName(region), {
    FifoQueue: 'true',
    ContentBasedDeduplication: 'true',
    MessageRetentionPeriod: '1209600',
  });
  const queue = server.createQueue(queueName(region), {
    FifoQueue: 'true',
    ContentBasedDeduplication: 'true',
    // As deployed (high throughput). fauxqs stores both but deduplicates across the queue; our emulator per group.
    DeduplicationScope: 'messageGroup',
    FifoThroughputLimit: 'perMessageGroupId',
    VisibilityTimeout: String(options.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: options.maxReceiveCount }),
  });
  const sqs = localSqsClient(server.address, region);

  return {
    sqs,
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: dlq.queueUrl,
    async deadLetterBodies() {
      return server
        .messages(deadLetterQueueName(region))
        .map((message) => decodeBody(message.body, message.attributes[EMULATOR_ENCODING_ATTRIBUTE]?.StringValue));
    },
    async close() {
      sqs.destroy();
      await server.stop();
    },
  };
}

/** What the local queue needs of an emulator: its endpoint, queues, and their messages read without receiving them. */
interface FifoEmulator {
  readonly address: string;
  createQueue(name: string, attributes: Record<string, string>): { readonly queueUrl: string; readonly queueArn: string };
  messages(
    name: string,
  ): readonly { readonly body: string; readonly attributes: Readonly<Record<string, { readonly StringValue?: string }>> }[];
  stop(): Promise<void>;
}

const startSqsFifo = (region: string): Promise<FifoEmulator> => startSqsFifoServer({ region });

async function startFauxqsFifo(region: string): Promise<FifoEmulator> {
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
  return {
    address: server.address,
    createQueue: (name, attributes) => server.createQueue(name, { region, attributes }),
    messages(name) {
      const { ready = [], delayed = [], inflight = [] } = server.inspectQueue(name)?.messages ?? {};
      return [...ready, ...delayed, ...inflight.map((entry) => entry.message)].map((message) => ({
        body: message.body,
        attributes: message.messageAttributes,
      }));
    },
    stop: () => server.stop(),
  };
}

/** An SQS client for the in-process emulator: its address, and credentials it does not check. */
export function localSqsClient(endpoint: string, region: string): SQSClient {
  return new SQSClient({ region, endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}
