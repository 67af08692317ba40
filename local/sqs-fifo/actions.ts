import { createHash } from 'node:crypto';
import { invalidParameter, missingParameter, SqsError } from './errors.ts';
import { FifoQueue, type MessageAttributes, type MessageAttributeValue, type StoredMessage } from './queue.ts';
import { COMPUTED_ATTRIBUTES, STORED_ATTRIBUTES } from './queue-attributes.ts';

type Input = Readonly<Record<string, unknown>>;
type Output = Record<string, unknown>;
export type Action = (input: Input, signal: AbortSignal) => Output | Promise<Output>;

const MAX_BATCH_BYTES = 1_048_576;
const QUEUE_NAME = /^[\w-]{1,75}\.fifo$/;
const BATCH_ENTRY_ID = /^[\w-]{1,80}$/;
const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'DeadLetterQueueSourceArn',
] as const;

/** The queues of one account and region, and the SQS actions over them, input and output as the JSON protocol has them. */
export class SqsFifoApi {
  readonly queues = new Map<string, FifoQueue>();
  private readonly region: string;
  private readonly accountId: string;
  private readonly urlBase: string;

  /** `urlBase`: queue URLs are `<urlBase>/<account>/<name>`. */
  constructor(region: string, accountId: string, urlBase: string) {
    this.region = region;
    this.accountId = accountId;
    this.urlBase = urlBase;
  }

  /** Creates the queue, or finds one created with the same attributes (as CreateQueue does). */
  createQueue(name: string, attributes: Readonly<Record<string, string>> = {}): FifoQueue {
    if (!QUEUE_NAME.test(name)) {
      throw new SqsError(
        'InvalidParameterValue',
        'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.',
      );
    }
    const queue = new FifoQueue(
      `arn:aws:sqs:${this.region}:${this.accountId}:${name}`,
      `${this.urlBase}/${this.accountId}/${name}`,
      attributes,
    );
    queue.redrive = this.redrive(attributes.RedrivePolicy);
    const existing = this.queues.get(name);
    if (existing === undefined) {
      this.queues.set(name, queue);
      return queue;
    }
    const differing = Object.keys(queue.attributes).find((key) => queue.attributes[key] !== existing.attributes[key]);
    if (differing !== undefined) {
      throw new SqsError(
        'QueueNameExists',
        `A queue already exists with the same name and a different value for attribute ${differing}`,
      );
    }
    return existing;
  }

  readonly actions: ReadonlyMap<string, Action> = new Map<string, Action>([
    ['CreateQueue', (input) => ({ QueueUrl: this.createQueue(text(input, 'QueueName'), stringMap(input.Attributes)).url })],
    ['GetQueueUrl', (input) => ({ QueueUrl: this.queueNamed(text(input, 'QueueName'), input.QueueOwnerAWSAccountId).url })],
    ['GetQueueAttributes', (input) => ({ Attributes: queueAttributesOf(this.queueOf(input), names(input.AttributeNames)) })],
    ['SendMessage', (input) => this.send(this.queueOf(input), input)],
    [
      'SendMessageBatch',
      (input) => {
        const queue = this.queueOf(input);
        const size = entries(input).reduce((sum, entry) => sum + Buffer.byteLength(String(entry.MessageBody ?? '')), 0);
        if (size > MAX_BATCH_BYTES) {
          throw new SqsError(
            'BatchRequestTooLong',
            `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${size} bytes.`,
          );
        }
        return eachEntry(input, (entry) => this.send(queue, entry));
      },
    ],
    ['ReceiveMessage', (input, signal) => this.receive(input, signal)],
    ['DeleteMessage', (input) => deleteMessage(this.queueOf(input), input)],
    ['DeleteMessageBatch', (input) => eachEntry(input, deleteMessage.bind(undefined, this.queueOf(input)))],
    ['ChangeMessageVisibility', (input) => changeVisibility(this.queueOf(input), input)],
    ['ChangeMessageVisibilityBatch', (input) => eachEntry(input, changeVisibility.bind(undefined, this.queueOf(input)))],
  ]);

  private send(queue: FifoQueue, input: Input): Output {
    const body = optionalText(input, 'MessageBody');
    const attributes = messageAttributes(input.MessageAttributes);
    const stored = queue.send({
      body,
      attributes,
      groupId: optionalText(input, 'MessageGroupId'),
      deduplicationId: optionalText(input, 'MessageDeduplicationId'),
      delaySeconds: input.DelaySeconds === undefined ? undefined : Number(input.DelaySeconds),
    });
    // The digests of what this request sent: a duplicate within the deduplication window answers with the first
    // message's ID and sequence number.
    return {
      MessageId: stored.messageId,
      MD5OfMessageBody: md5(body ?? ''),
      ...(Object.keys(attributes).length === 0 ? {} : { MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }),
      SequenceNumber: stored.sequenceNumber,
    };
  }

  /** Long polling: waits until something can be handed out, `WaitTimeSeconds` pass, or the caller goes away. */
  private async receive(input: Input, signal: AbortSignal): Promise<Output> {
    const queue = this.queueOf(input);
    const max = wholeNumber(input, 'MaxNumberOfMessages', 1, 10, 1);
    const visibility = wholeNumber(input, 'VisibilityTimeout', 0, 43_200, Number(queue.attributes.VisibilityTimeout));
    const wait = wholeNumber(input, 'WaitTimeSeconds', 0, 20, Number(queue.attributes.ReceiveMessageWaitTimeSeconds));
    const systemNames = new Set([...names(input.AttributeNames), ...names(input.MessageSystemAttributeNames)]);
    const attributeNames = names(input.MessageAttributeNames);
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      if (signal.aborted) return {};
      const messages = queue.receive(max, visibility);
      if (messages.length > 0) return { Messages: messages.map((message) => this.render(message, systemNames, attributeNames)) };
      if (Date.now() >= deadline) return {};
      await queue.whenChanged(deadline - Date.now(), signal);
    }
  }

  private render(message: StoredMessage, systemNames: ReadonlySet<string>, attributeNames: readonly string[]): Output {
    const system: Record<string, string | undefined> = {
      SenderId: this.accountId,
      SentTimestamp: String(message.sentTimestamp),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
      SequenceNumber: message.sequenceNumber,
      MessageDeduplicationId: message.deduplicationId,
      MessageGroupId: message.groupId,
      DeadLetterQueueSourceArn: message.deadLetterSourceArn,
    };
    const Attributes = Object.fromEntries(
      SYSTEM_ATTRIBUTES.filter((name) => system[name] !== undefined && (systemNames.has('All') || systemNames.has(name))).map(
        (name) => [name, system[name]],
      ),
    );
    const selected = Object.fromEntries(
      Object.entries(message.attributes).filter(([name]) =>
        attributeNames.some((wanted) =>
          wanted === 'All' || wanted === '.*'
            ? true
            : wanted.endsWith('.*')
              ? name.startsWith(wanted.slice(0, -1))
              : wanted === name,
        ),
      ),
    );
    return {
      MessageId: message.messageId,
      ReceiptHandle: message.receipt?.handle,
      MD5OfBody: md5(message.body),
      Body: message.body,
      ...(Object.keys(Attributes).length === 0 ? {} : { Attributes }),
      ...(Object.keys(selected).length === 0
        ? {}
        : { MessageAttributes: selected, MD5OfMessageAttributes: md5OfMessageAttributes(selected) }),
    };
  }

  private queueOf(input: Input): FifoQueue {
    const queueUrl = text(input, 'QueueUrl');
    const [account, name, ...rest] = URL.canParse(queueUrl) ? new URL(queueUrl).pathname.split('/').filter(Boolean) : [];
    return this.queueNamed(rest.length === 0 ? name : undefined, account);
  }

  private queueNamed(name: string | undefined, account: unknown): FifoQueue {
    const queue = name === undefined ? undefined : this.queues.get(name);
    if (queue === undefined || (account !== undefined && account !== this.accountId)) {
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    }
    return queue;
  }

  private redrive(policy: string | undefined): FifoQueue['redrive'] {
    if (policy === undefined) return undefined;
    const refuse = (reason: string) => invalidParameter('RedrivePolicy', policy, reason);
    let parsed: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    try {
      parsed = JSON.parse(policy);
    } catch {
      throw refuse('Redrive policy is not a valid JSON map.');
    }
    const target = [...this.queues.values()].find((queue) => queue.arn === parsed.deadLetterTargetArn);
    if (target === undefined) throw refuse('Dead letter target does not exist.');
    const maxReceiveCount = Number(parsed.maxReceiveCount);
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw refuse('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.');
    }
    return { target, maxReceiveCount };
  }
}

function deleteMessage(queue: FifoQueue, input: Input): Output {
  queue.delete(text(input, 'ReceiptHandle'));
  return {};
}

function changeVisibility(queue: FifoQueue, input: Input): Output {
  queue.changeVisibility(text(input, 'ReceiptHandle'), wholeNumber(input, 'VisibilityTimeout', 0, 43_200));
  return {};
}

function queueAttributesOf(queue: FifoQueue, requested: readonly string[]): Record<string, string> {
  const wanted = requested.includes('All') ? [...COMPUTED_ATTRIBUTES, ...STORED_ATTRIBUTES] : requested;
  const { visible, inFlight } = queue.counts();
  const computed: Record<string, string> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(visible),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: '0',
    CreatedTimestamp: String(queue.createdTimestamp),
    LastModifiedTimestamp: String(queue.createdTimestamp),
  };
  const result: Record<string, string> = {};
  for (const name of wanted) {
    if (!(name in computed) && !STORED_ATTRIBUTES.includes(name))
      throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const value = computed[name] ?? queue.attributes[name];
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** A batch action: up to ten entries with distinct IDs, each succeeding or failing on its own. */
function eachEntry(input: Input, act: (entry: Input) => Output): Output {
  const Successful: Output[] = [];
  const Failed: Output[] = [];
  for (const entry of entries(input)) {
    try {
      Successful.push({ Id: entry.Id, ...act(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: true, Code: error.code, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function entries(input: Input): Input[] {
  const list = Array.isArray(input.Entries) ? (input.Entries as Input[]) : [];
  if (list.length === 0) throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  if (list.length > 10)
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${list.length}.`,
    );
  const ids = list.map((entry) => entry.Id);
  const badId = ids.find((id) => typeof id !== 'string' || !BATCH_ENTRY_ID.test(id));
  if (badId !== undefined || ids.includes(undefined)) {
    throw new SqsError(
      'InvalidBatchEntryId',
      'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
    );
  }
  if (new Set(ids).size !== ids.length)
    throw new SqsError('BatchEntryIdsNotDistinct', `Id ${ids.find((id, i) => ids.indexOf(id) !== i)} repeated.`);
  return list;
}

function optionalText(input: Input, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(name, value, 'Must be a string.');
  return value;
}

function text(input: Input, name: string): string {
  const value = optionalText(input, name);
  if (value === undefined) throw missingParameter(name);
  return value;
}

function wholeNumber(input: Input, name: string, min: number, max: number, fallback?: number): number {
  const value = input[name] ?? fallback;
  if (value === undefined) throw missingParameter(name);
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidParameter(name, value, `Must be between ${min} and ${max}, if provided.`);
  }
  return value as number;
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringMap(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, String(item)]));
}

function messageAttributes(value: unknown): MessageAttributes {
  const attributes = (value ?? {}) as Record<string, Partial<MessageAttributeValue>>;
  for (const [name, attribute] of Object.entries(attributes)) {
    const type = attribute.DataType ?? '';
    const valueName = type.startsWith('Binary') ? 'BinaryValue' : 'StringValue';
    if (!/^(String|Number|Binary)(\..+)?$/.test(type) || typeof attribute[valueName] !== 'string') {
      throw invalidParameter(
        `MessageAttributes.${name}`,
        type,
        `The message attribute needs a DataType of String, Number or Binary and its ${valueName}.`,
      );
    }
  }
  return attributes as MessageAttributes;
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** SQS's digest of message attributes: per name in order, each of name, type and value length-prefixed (value after a transport byte). */
function md5OfMessageAttributes(attributes: MessageAttributes): string {
  const hash = createHash('md5');
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name] as MessageAttributeValue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(attribute.DataType, 'utf8'));
    const binary = attribute.StringValue === undefined;
    hash.update(Buffer.from([binary ? 2 : 1]));
    field(binary ? Buffer.from(attribute.BinaryValue ?? '', 'base64') : Buffer.from(attribute.StringValue ?? '', 'utf8'));
  }
  return hash.digest('hex');
}
