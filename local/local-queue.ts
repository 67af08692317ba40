import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { deadLetterQueueName, queueName } from '../infra/rules.ts';
import { decodeBody, EMULATOR_ENCODING_ATTRIBUTE } from './emulator-body.ts';

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
}

/**
 * The deployed queue pair, in-process: fauxqs on a free loopback port with `management-events-<region>.fifo`
 * (content-based deduplication) redriving to `management-events-<region>-dlq.fifo` after maxReceiveCount.
 */
export async function startLocalQueue(options: LocalQueueOptions): Promise<LocalQueue> {
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: options.region });
  const region = options.region;
  const dlq = server.createQueue(deadLetterQueueName(region), {
    region,
    attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true', MessageRetentionPeriod: '1209600' },
  });
  const queue = server.createQueue(queueName(region), {
    region,
    attributes: {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: options.maxReceiveCount }),
    },
  });
  const sqs = localSqsClient(server.address, region);

  return {
    sqs,
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: dlq.queueUrl,
    async deadLetterBodies() {
      const inspected = server.inspectQueue(deadLetterQueueName(region));
      if (inspected === undefined) return [];
      const { ready, delayed, inflight } = inspected.messages;
      return [...ready, ...delayed, ...inflight.map((entry) => entry.message)].map((message) =>
        decodeBody(message.body, message.messageAttributes[EMULATOR_ENCODING_ATTRIBUTE]?.StringValue),
      );
    },
    async close() {
      sqs.destroy();
      await server.stop();
    },
  };
}

/** An SQS client for the in-process emulator: its address, and credentials it does not check. */
export function localSqsClient(endpoint: string, region: string): SQSClient {
  return new SQSClient({ region, endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}
