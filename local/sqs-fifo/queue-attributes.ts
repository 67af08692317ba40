import { SqsError } from './errors.ts';

/** What a FIFO queue reports for attributes nobody set (SQS's defaults; 1 MiB is the message size limit since 2025). */
const DEFAULTS: Readonly<Record<string, string>> = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'queue',
  FifoThroughputLimit: 'perQueue',
  VisibilityTimeout: '30',
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  SqsManagedSseEnabled: 'true',
};

type Check = (value: string) => string | undefined;

const whole =
  (min: number, max: number): Check =>
  (value) =>
    /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? undefined : `Must be between ${min} and ${max}.`;
const oneOf =
  (...allowed: string[]): Check =>
  (value) =>
    allowed.includes(value) ? undefined : `Must be one of ${allowed.join(', ')}.`;

/**
 * The attributes a queue may be created with. The emulator holds FIFO queues only and keeps messages until they are
 * deleted or dead-lettered: the retention period is reported, not enforced, and delivery delays are not emulated.
 * The redrive policy is checked against the other queues by the server.
 */
const CHECKS: Readonly<Record<string, Check>> = {
  FifoQueue: (value) => (value === 'true' ? undefined : 'The local emulator holds FIFO queues only.'),
  ContentBasedDeduplication: oneOf('true', 'false'),
  DeduplicationScope: oneOf('queue', 'messageGroup'),
  FifoThroughputLimit: oneOf('perQueue', 'perMessageGroupId'),
  VisibilityTimeout: whole(0, 43_200),
  MaximumMessageSize: whole(1024, 1_048_576),
  MessageRetentionPeriod: whole(60, 1_209_600),
  DelaySeconds: (value) => (value === '0' ? undefined : 'The local emulator does not delay delivery.'),
  ReceiveMessageWaitTimeSeconds: whole(0, 20),
  SqsManagedSseEnabled: oneOf('true', 'false'),
  RedrivePolicy: () => undefined,
};

/** The attributes given at creation over SQS's defaults; throws SQS's error for an unknown name or a bad value. */
export function queueAttributes(given: Readonly<Record<string, string>>): Record<string, string> {
  for (const [name, value] of Object.entries(given)) {
    const check = CHECKS[name];
    if (check === undefined) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const reason = check(value);
    if (reason !== undefined) {
      throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}. Reason: ${reason}`);
    }
  }
  return { ...DEFAULTS, ...given };
}

/** The names GetQueueAttributes knows besides the stored ones (computed when asked). */
export const COMPUTED_ATTRIBUTES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
] as const;

export const STORED_ATTRIBUTES = Object.keys(CHECKS);
