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

/**
 * Publishes several message groups in one round trip: each group's messages in order, stopping that group at its
 * first refusal (or, when asked, its first PUBLISH that reached nobody). One result per group, in order.
 */
export interface OrderedPublisher {
  publishGroups(groups: readonly (readonly OutgoingMessage[])[], stopOnZeroReceivers: boolean): Promise<GroupPublishResult[]>;
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
 * only if every earlier one of the group was; a failure in one group does not hold back the others. The whole
 * batch is one Redis call, so one round trip.
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

  // Each group sends the records before its first one that cannot be sent (bad body, no account).
  const plans = [...groups].map(([group, members]) => {
    const firstUnsendable = members.findIndex((item) => item.channel === undefined);
    return { group, members, sendable: firstUnsendable === -1 ? members : members.slice(0, firstUnsendable) };
  });
  const toSend = plans.filter((plan) => plan.sendable.length > 0);
  let results: readonly GroupPublishResult[] = [];
  if (toSend.length > 0) {
    try {
      results = await options.publisher.publishGroups(
        toSend.map((plan) => plan.sendable.map((item) => ({ channel: item.channel as string, body: item.record.body }))),
        options.requireSubscriber,
      );
    } catch (error) {
      const failure = { receivers: [], error: asPublishError(error) };
      results = toSend.map(() => failure);
    }
  }

  const outcomes = new Array<RecordOutcome>(records.length);
  for (const plan of plans) {
    const sent = toSend.indexOf(plan);
    const result = sent === -1 ? { receivers: [] } : (results[sent] ?? { receivers: [] });
    for (const outcome of groupOutcomes(plan.group, plan.members, plan.sendable, result, options.requireSubscriber)) {
      outcomes[outcome.index] = outcome.value;
    }
  }
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

function groupOutcomes(
  group: string,
  members: readonly Pending[],
  sendable: readonly Pending[],
  result: GroupPublishResult,
  requireSubscriber: boolean,
): { index: number; value: RecordOutcome }[] {
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
    } else if (receivers === 0 && requireSubscriber) {
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
