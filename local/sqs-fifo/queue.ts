import { createHash, randomUUID } from 'node:crypto';
import { invalidParameter, missingParameter, SqsError } from './errors.ts';
import { queueAttributes } from './queue-attributes.ts';

export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Base64, as the JSON protocol carries binary values. */
  readonly BinaryValue?: string;
}
export type MessageAttributes = Readonly<Record<string, MessageAttributeValue>>;

export interface NewMessage {
  readonly body?: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  readonly attributes?: MessageAttributes;
  readonly delaySeconds?: number;
}

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: MessageAttributes;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly sequenceNumber: string;
  readonly sentTimestamp: number;
  /** In a dead-letter queue: the queue the message was moved from. */
  readonly deadLetterSourceArn?: string;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** The latest receive: in flight while `visibleAt` is ahead. Its handle is the only one that deletes the message. */
  receipt?: { readonly handle: string; readonly receivedAt: number; visibleAt: number };
}

export interface Redrive {
  readonly target: FifoQueue;
  readonly maxReceiveCount: number;
}

const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
const MAX_VISIBILITY_SECONDS = 43_200;
// What SQS accepts in a body: the XML 1.0 characters, beyond U+FFFF too.
const BODY_REFUSES = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const GROUP_ID = /^[\x21-\x7E]{1,128}$/;

/**
 * One SQS FIFO queue as AWS documents its delivery: a receive hands out as many messages of one group as it can (up
 * to its maximum, in order) and fills the rest from other groups; while any message of a group is in flight, none of
 * that group is handed out; each receive counts against that message's maxReceiveCount, and a message received that
 * often moves to the dead-letter queue, keeping its group, instead of being handed out again.
 * Messages stay in their group's list, in send order, until deleted or dead-lettered: a visibility timeout that runs
 * out puts nothing back, so order survives any mix of deletes, timeouts and visibility changes.
 */
export class FifoQueue {
  readonly arn: string;
  readonly url: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly createdTimestamp = Math.floor(Date.now() / 1000);
  redrive: Redrive | undefined;
  private readonly groups = new Map<string, StoredMessage[]>();
  private readonly byId = new Map<string, StoredMessage>();
  private readonly deduplication = new Map<string, { readonly message: StoredMessage; readonly expiresAt: number }>();
  private readonly waiters = new Set<() => void>();
  private sequence = 0n;

  constructor(arn: string, url: string, attributes: Readonly<Record<string, string>>) {
    this.arn = arn;
    this.url = url;
    this.attributes = queueAttributes(attributes);
  }

  /** Stores a message, or finds the one sent with the same deduplication ID within five minutes. */
  send(message: NewMessage): StoredMessage {
    const body = message.body ?? '';
    if (body === '') throw missingParameter('MessageBody');
    const refused = BODY_REFUSES.exec(body)?.[0];
    if (refused !== undefined) {
      const code = refused.codePointAt(0)?.toString(16).toUpperCase();
      throw new SqsError(
        'InvalidMessageContents',
        `Invalid binary character '#x${code}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`,
      );
    }
    const attributes = message.attributes ?? {};
    const limit = Number(this.attributes.MaximumMessageSize);
    if (Buffer.byteLength(body) + attributesSize(attributes) > limit) {
      throw new SqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
      );
    }
    if (message.groupId === undefined) throw missingParameter('MessageGroupId');
    if (!GROUP_ID.test(message.groupId)) {
      throw invalidParameter('MessageGroupId', message.groupId, 'It can be 1 to 128 printable ASCII characters.');
    }
    if (message.delaySeconds !== undefined && message.delaySeconds !== 0) {
      throw invalidParameter(
        'DelaySeconds',
        message.delaySeconds,
        'The request include parameter that is not valid for this queue type.',
      );
    }
    const deduplicationId = message.deduplicationId ?? this.contentDeduplicationId(body);
    const key =
      this.attributes.DeduplicationScope === 'messageGroup' ? `${message.groupId}\n${deduplicationId}` : deduplicationId;
    const now = Date.now();
    for (const [oldest, entry] of this.deduplication) {
      if (entry.expiresAt > now) break;
      this.deduplication.delete(oldest);
    }
    const duplicate = this.deduplication.get(key);
    if (duplicate !== undefined) return duplicate.message;
    const stored = this.admit({
      messageId: randomUUID(),
      body,
      attributes,
      groupId: message.groupId,
      deduplicationId,
      sentTimestamp: now,
      receiveCount: 0,
    });
    this.deduplication.set(key, { message: stored, expiresAt: now + DEDUPLICATION_WINDOW_MS });
    return stored;
  }

  /**
   * Up to `max` messages: the groups with nothing in flight, oldest head first, each from its head in order. A
   * message already received maxReceiveCount times goes to the dead-letter queue instead, and the next one takes its
   * place. What is handed out is in flight for `visibilityTimeoutSeconds`.
   */
  receive(max: number, visibilityTimeoutSeconds: number): StoredMessage[] {
    const now = Date.now();
    const received: StoredMessage[] = [];
    const available = [...this.groups.values()]
      .filter((messages) => !messages.some((message) => inFlight(message, now)))
      .sort((a, b) => compareSequence(a[0], b[0]));
    for (const messages of available) {
      let index = 0;
      while (received.length < max && index < messages.length) {
        const message = messages[index] as StoredMessage;
        if (this.redrive !== undefined && message.receiveCount >= this.redrive.maxReceiveCount) {
          this.deadLetter(message, this.redrive.target);
          continue;
        }
        message.receiveCount += 1;
        message.firstReceiveTimestamp ??= now;
        message.receipt = {
          handle: this.receiptHandle(message),
          receivedAt: now,
          visibleAt: now + visibilityTimeoutSeconds * 1000,
        };
        received.push(message);
        index += 1;
      }
    }
    return received;
  }

  /** A FIFO queue refuses an expired handle; a message already gone is deleted again without complaint. */
  delete(receiptHandle: string): void {
    const message = this.byId.get(this.messageIdOf(receiptHandle));
    if (message === undefined) return;
    this.currentReceipt(message, receiptHandle);
    this.remove(message);
    this.changed();
  }

  /** Counts from now, as SQS does, within 12 hours of the receive; 0 makes the message visible at once. */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): void {
    const message = this.byId.get(this.messageIdOf(receiptHandle));
    const now = Date.now();
    if (message === undefined || (message.receipt?.handle === receiptHandle && !inFlight(message, now))) {
      throw new SqsError('MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.');
    }
    const receipt = this.currentReceipt(message, receiptHandle);
    const visibleAt = now + visibilityTimeoutSeconds * 1000;
    if (visibleAt - receipt.receivedAt > MAX_VISIBILITY_SECONDS * 1000) {
      throw invalidParameter(
        'VisibilityTimeout',
        visibilityTimeoutSeconds,
        `Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_SECONDS} seconds]`,
      );
    }
    receipt.visibleAt = visibleAt;
    this.changed();
  }

  /** Every message still in the queue, in send order. */
  messages(): readonly StoredMessage[] {
    return [...this.byId.values()].sort(compareSequence);
  }

  counts(): { readonly visible: number; readonly inFlight: number } {
    const now = Date.now();
    let inFlightCount = 0;
    for (const message of this.byId.values()) if (inFlight(message, now)) inFlightCount += 1;
    return { visible: this.byId.size - inFlightCount, inFlight: inFlightCount };
  }

  /** Resolves when something may have become receivable: a send, a delete, a visibility change or timeout, an abort. */
  whenChanged(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const now = Date.now();
    let wake = now + timeoutMs;
    for (const message of this.byId.values()) {
      if (inFlight(message, now)) wake = Math.min(wake, message.receipt?.visibleAt ?? wake);
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, wake - now));
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  private contentDeduplicationId(body: string): string {
    if (this.attributes.ContentBasedDeduplication !== 'true') {
      throw new SqsError(
        'InvalidParameterValue',
        'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    }
    return createHash('sha256').update(body).digest('hex');
  }

  private admit(fields: Omit<StoredMessage, 'sequenceNumber'>): StoredMessage {
    this.sequence += 1n;
    const message: StoredMessage = { ...fields, sequenceNumber: this.sequence.toString().padStart(20, '0') };
    const group = this.groups.get(message.groupId);
    if (group === undefined) this.groups.set(message.groupId, [message]);
    else group.push(message);
    this.byId.set(message.messageId, message);
    this.changed();
    return message;
  }

  /**
   * As SQS moves a message from a FIFO queue to its FIFO dead-letter queue: same message ID, body, attributes and
   * group; its deduplication ID becomes its message ID, so that the dead-letter queue keeps two messages that shared
   * one. The receive count goes with it (AWS does not document whether it restarts).
   */
  private deadLetter(message: StoredMessage, target: FifoQueue): void {
    this.remove(message);
    const { receipt: _receipt, sequenceNumber: _sequenceNumber, ...kept } = message;
    target.admit({ ...kept, deduplicationId: message.messageId, deadLetterSourceArn: this.arn });
  }

  private remove(message: StoredMessage): void {
    this.byId.delete(message.messageId);
    const group = this.groups.get(message.groupId) ?? [];
    group.splice(group.indexOf(message), 1);
    if (group.length === 0) this.groups.delete(message.groupId);
  }

  private receiptHandle(message: StoredMessage): string {
    return Buffer.from(`${this.arn}\n${message.messageId}\n${randomUUID()}`).toString('base64');
  }

  /** The message ID in a handle this queue issued; anything else is not a receipt handle of this queue. */
  private messageIdOf(receiptHandle: string): string {
    const [arn, messageId, nonce, ...rest] = Buffer.from(receiptHandle, 'base64').toString().split('\n');
    if (arn !== this.arn || messageId === undefined || nonce === undefined || rest.length > 0) {
      throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
    }
    return messageId;
  }

  /** The receive a handle belongs to, while it holds the message in flight; an older handle, or a lapsed one, has expired. */
  private currentReceipt(message: StoredMessage, receiptHandle: string): NonNullable<StoredMessage['receipt']> {
    const receipt = message.receipt;
    if (receipt?.handle !== receiptHandle || !inFlight(message, Date.now())) {
      throw invalidParameter('ReceiptHandle', receiptHandle, 'The receipt handle has expired.');
    }
    return receipt;
  }

  private changed(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

function inFlight(message: StoredMessage, now: number): boolean {
  return message.receipt !== undefined && message.receipt.visibleAt > now;
}

function compareSequence(a: StoredMessage | undefined, b: StoredMessage | undefined): number {
  // Sequence numbers are zero-padded to one width: their text sorts as their value.
  const [left, right] = [a?.sequenceNumber ?? '', b?.sequenceNumber ?? ''];
  return left < right ? -1 : left > right ? 1 : 0;
}

/** What message attributes add to a message's size: each name, data type and value. */
function attributesSize(attributes: MessageAttributes): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size +=
      value.StringValue === undefined
        ? Buffer.from(value.BinaryValue ?? '', 'base64').length
        : Buffer.byteLength(value.StringValue);
  }
  return size;
}
