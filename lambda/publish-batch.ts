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

export interface PrepareOptions {
  readonly topicPrefix: string;
  /** The account for events that carry none (function ARN, else STS); called at most once per batch. */
  readonly fallbackAccount: () => Promise<string>;
}

/** A record parsed and addressed, ready to send; `error` when it cannot be sent (bad body, no account). */
export interface PreparedRecord {
  readonly index: number;
  readonly record: SQSRecord;
  readonly group: string;
  readonly event: EventObject | undefined;
  readonly account?: string;
  readonly channel?: string;
  readonly error?: Error;
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

/** Parses every body and finds its channel; the fallback account is asked for once, and only when an event lacks one. */
export async function prepareBatch(records: readonly SQSRecord[], options: PrepareOptions): Promise<PreparedRecord[]> {
  const prepared: PreparedRecord[] = [];
  const needFallback: number[] = [];
  for (const [index, record] of records.entries()) {
    const group = messageGroupOf(record);
    const parsed = parseBody(record.body);
    if (!parsed.ok) {
      prepared.push({ index, record, group, event: undefined, error: parsed.error });
      continue;
    }
    const account = eventAccount(parsed.event);
    if (account === undefined) needFallback.push(index);
    prepared.push({ index, record, group, event: parsed.event, account, channel: account && options.topicPrefix + account });
  }
  if (needFallback.length > 0) {
    let fallback: { account: string } | { error: Error };
    try {
      fallback = { account: await options.fallbackAccount() };
    } catch (error) {
      fallback = { error: error as Error };
    }
    for (const index of needFallback) {
      const item = prepared[index] as PreparedRecord;
      prepared[index] =
        'account' in fallback
          ? { ...item, account: fallback.account, channel: options.topicPrefix + fallback.account }
          : { ...item, error: fallback.error };
    }
  }
  return prepared;
}

/**
 * Sends a prepared batch in one Redis call: one outcome per record, in the records' order. Within a message group a
 * record is published only if every earlier one of the group was; a failure in one group does not hold back the
 * others. With the client connected, the command is written before this returns, so the caller can do other work
 * while Redis answers.
 */
export function sendBatch(
  prepared: readonly PreparedRecord[],
  publisher: OrderedPublisher,
  requireSubscriber: boolean,
): Promise<RecordOutcome[]> {
  const groups = new Map<string, PreparedRecord[]>();
  for (const item of prepared) {
    const members = groups.get(item.group);
    if (members === undefined) groups.set(item.group, [item]);
    else members.push(item);
  }
  // Each group sends the records before its first one that cannot be sent.
  const plans = [...groups.values()].map((members) => {
    const firstUnsendable = members.findIndex((item) => item.channel === undefined);
    return { members, sendable: firstUnsendable === -1 ? members : members.slice(0, firstUnsendable) };
  });
  const toSend = plans.filter((plan) => plan.sendable.length > 0);
  const replies: Promise<readonly GroupPublishResult[]> =
    toSend.length === 0
      ? Promise.resolve([])
      : publisher
          .publishGroups(
            toSend.map((plan) => plan.sendable.map((item) => ({ channel: item.channel as string, body: item.record.body }))),
            requireSubscriber,
          )
          .catch((error: unknown) => {
            const failure = { receivers: [], error: asPublishError(error) };
            return toSend.map(() => failure);
          });

  return replies.then((results) => {
    const outcomes = new Array<RecordOutcome>(prepared.length);
    for (const plan of plans) {
      const sent = toSend.indexOf(plan);
      const result = results[sent] ?? { receivers: [] };
      for (const [index, outcome] of groupOutcomes(plan.members, plan.sendable, result, requireSubscriber)) {
        outcomes[index] = outcome;
      }
    }
    return outcomes;
  });
}

function groupOutcomes(
  members: readonly PreparedRecord[],
  sendable: readonly PreparedRecord[],
  result: GroupPublishResult,
  requireSubscriber: boolean,
): [number, RecordOutcome][] {
  let blockedBy: string | undefined;
  return members.map((item, position) => {
    const receivers = position < sendable.length ? result.receivers[position] : undefined;
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
    const { record, group, event, account, channel } = item;
    return [item.index, { record, group, event, account, channel, receivers, error }];
  });
}

function asPublishError(error: unknown): Error {
  if (error instanceof RedisPublishError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RedisPublishError(message);
}
