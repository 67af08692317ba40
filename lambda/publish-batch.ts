import type { SQSRecord } from 'aws-lambda';
import { NoSubscriberError, PrecedingRecordFailedError, RedisPublishError } from './errors.ts';
import { type EventObject, eventAccount, messageGroupOf, parseBody } from './records.ts';

export interface OutgoingMessage {
  readonly channel: string;
  readonly body: string;
}

/**
 * `receivers[i]` is what PUBLISH of `messages[i]` answered; only those messages were published. When `error` is set,
 * `messages[receivers.length]` was refused and none after it was sent.
 */
export interface GroupPublishResult {
  readonly receivers: readonly number[];
  readonly error?: Error;
}

/** Publishes one message group's messages in order, in one round trip, stopping at the first refusal. */
export interface OrderedPublisher {
  publishInOrder(messages: readonly OutgoingMessage[], stopOnZeroReceivers: boolean): Promise<GroupPublishResult>;
}

export interface BatchOptions {
  readonly publisher: OrderedPublisher;
  readonly topicPrefix: string;
  readonly requireSubscriber: boolean;
  /** The account for events that carry none (function ARN, else STS); called at most once per batch. */
  readonly fallbackAccount: () => Promise<string>;
}

export interface RecordOutcome {
  readonly record: SQSRecord;
  readonly group: string;
  readonly event: EventObject | undefined;
  readonly account?: string;
  readonly channel?: string;
  /** Set when PUBLISH ran, also for a record failed for want of a subscriber. */
  readonly receivers?: number;
  /** Set when the record failed: SQS will redeliver it. */
  readonly error?: Error;
}

interface Pending {
  readonly index: number;
  readonly record: SQSRecord;
  readonly event: EventObject | undefined;
  readonly account?: string;
  readonly channel?: string;
  readonly error?: Error;
}

/**
 * Publishes a batch: one outcome per record, in the records' order. Within a message group a record is published
 * only if every earlier one of the group was; groups do not wait for each other.
 */
export async function publishBatch(records: readonly SQSRecord[], options: BatchOptions): Promise<RecordOutcome[]> {
  const pending = await prepare(records, options);
  const groups = new Map<string, Pending[]>();
  for (const item of pending) {
    const group = messageGroupOf(item.record);
    const members = groups.get(group);
    if (members === undefined) groups.set(group, [item]);
    else members.push(item);
  }

  const outcomes = new Array<RecordOutcome>(records.length);
  // Every group's command is written before any reply is awaited: one round trip for the whole batch.
  await Promise.all(
    [...groups].map(async ([group, members]) => {
      for (const outcome of await publishGroup(group, members, options)) outcomes[outcome.index] = outcome.value;
    }),
  );
  return outcomes;
}

async function prepare(records: readonly SQSRecord[], options: BatchOptions): Promise<Pending[]> {
  let fallback: Promise<{ account?: string; error?: Error }> | undefined;
  const resolveFallback = () => {
    fallback ??= options.fallbackAccount().then(
      (account) => ({ account }),
      (error: unknown) => ({ error: error as Error }),
    );
    return fallback;
  };
  return Promise.all(
    records.map(async (record, index): Promise<Pending> => {
      const parsed = parseBody(record.body);
      if (!parsed.ok) return { index, record, event: undefined, error: parsed.error };
      const { event } = parsed;
      const own = eventAccount(event);
      const resolved = own !== undefined ? { account: own } : await resolveFallback();
      if (resolved.account === undefined) return { index, record, event, error: resolved.error };
      return { index, record, event, account: resolved.account, channel: options.topicPrefix + resolved.account };
    }),
  );
}

async function publishGroup(
  group: string,
  members: readonly Pending[],
  options: BatchOptions,
): Promise<{ index: number; value: RecordOutcome }[]> {
  // Only the records before the first one that cannot be sent are sent.
  const firstUnsendable = members.findIndex((item) => item.channel === undefined);
  const sendable = firstUnsendable === -1 ? members : members.slice(0, firstUnsendable);

  let result: GroupPublishResult = { receivers: [] };
  if (sendable.length > 0) {
    const messages = sendable.map((item) => ({ channel: item.channel as string, body: item.record.body }));
    try {
      result = await options.publisher.publishInOrder(messages, options.requireSubscriber);
    } catch (error) {
      result = { receivers: [], error: asPublishError(error) };
    }
  }

  let blockedBy: string | undefined;
  return members.map((item) => {
    const base = { record: item.record, group, event: item.event, account: item.account, channel: item.channel };
    const position = sendable.indexOf(item);
    const receivers = position === -1 ? undefined : result.receivers[position];
    let error: Error | undefined;
    if (blockedBy !== undefined) {
      // A bad body stays the reason it names; everything else behind a failure is held back for order.
      error = item.error ?? new PrecedingRecordFailedError(blockedBy);
    } else if (item.error !== undefined) {
      error = item.error;
    } else if (receivers === undefined) {
      error = result.error ?? new RedisPublishError('Redis did not confirm the publish');
    } else if (receivers === 0 && options.requireSubscriber) {
      error = new NoSubscriberError(`no subscriber on ${item.channel} and REQUIRE_SUBSCRIBER is on`);
    }
    if (error !== undefined) blockedBy ??= item.record.messageId;
    return { index: item.index, value: { ...base, receivers, error } };
  });
}

function asPublishError(error: unknown): Error {
  if (error instanceof RedisPublishError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RedisPublishError(message);
}
