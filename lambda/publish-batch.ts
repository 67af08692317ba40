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
 * Publishes several message groups in one Redis call: each group's messages in order, stopping that group at its
 * first refusal (or, when asked, its first PUBLISH that reached nobody). One result per group, in order.
 */
export interface OrderedPublisher {
  publishGroups(groups: readonly (readonly OutgoingMessage[])[], stopOnZeroReceivers: boolean): Promise<GroupPublishResult[]>;
}

/**
 * One record of a batch: parsed and addressed before the publish, its outcome filled in once Redis has answered. One
 * object serves both steps because the function's time per batch is mostly spent between Redis round trips.
 */
export interface RecordOutcome {
  readonly record: SQSRecord;
  readonly group: string;
  /** Set once the body parsed as a JSON object. */
  event?: EventObject;
  account?: string;
  channel?: string;
  /** Set when PUBLISH ran, also for a record failed for want of a subscriber. */
  receivers?: number;
  /** Set when the record failed: SQS will redeliver it. */
  error?: Error;
}

export interface BatchOptions {
  readonly topicPrefix: string;
  readonly requireSubscriber: boolean;
  /** The account for events that carry none (function ARN, else STS); asked for at most once per batch. */
  readonly fallbackAccount: () => Promise<string>;
}

export interface BatchSending {
  /** One per record, in the batch's order; each outcome is filled in when `settled` resolves. */
  readonly outcomes: readonly RecordOutcome[];
  /** Resolves once every record has its channel; undefined when every event names its account. */
  readonly addressed: Promise<void> | undefined;
  readonly settled: Promise<void>;
}

/**
 * Parses and publishes a batch. Within a message group a record is published only if every earlier one of the group
 * was; a failure in one group does not hold back the others. The first group is sent as soon as its records are
 * parsed, so that Redis publishes it while the function parses the others, which follow in a second call: both are
 * on the wire together, one round trip. With the client connected, the calls are written before this returns.
 */
export function sendBatch(records: readonly SQSRecord[], publisher: OrderedPublisher, options: BatchOptions): BatchSending {
  const { outcomes, groups } = groupBatch(records);
  const parts = groups.length > 1 ? [groups.slice(0, 1), groups.slice(1)] : [groups];
  let account: Promise<string> | undefined;
  const fallbackAccount = () => {
    account ??= options.fallbackAccount();
    return account;
  };
  const addressing: Promise<void>[] = [];
  const sending: Promise<void>[] = [];
  for (const part of parts) {
    const unaddressed = parseGroups(part, options.topicPrefix);
    if (unaddressed.length === 0) {
      sending.push(publishGroups(part, publisher, options.requireSubscriber));
    } else {
      const addressed = addressToFallback(unaddressed, options.topicPrefix, fallbackAccount);
      addressing.push(addressed);
      sending.push(addressed.then(() => publishGroups(part, publisher, options.requireSubscriber)));
    }
  }
  return {
    outcomes,
    addressed: addressing.length === 0 ? undefined : Promise.all(addressing).then(() => undefined),
    settled: sending.length === 1 ? (sending[0] as Promise<void>) : Promise.all(sending).then(() => undefined),
  };
}

/** One outcome per record in the batch's order, and the message groups in the order they first appear. */
function groupBatch(records: readonly SQSRecord[]) {
  const outcomes: RecordOutcome[] = [];
  const byGroup = new Map<string, RecordOutcome[]>();
  for (const record of records) {
    const item: RecordOutcome = { record, group: messageGroupOf(record) };
    outcomes.push(item);
    const members = byGroup.get(item.group);
    if (members === undefined) byGroup.set(item.group, [item]);
    else members.push(item);
  }
  return { outcomes, groups: [...byGroup.values()] };
}

/** Parses every body and finds its channel from the event's account; returns the events that carry none. */
function parseGroups(groups: readonly RecordOutcome[][], topicPrefix: string): RecordOutcome[] {
  const unaddressed: RecordOutcome[] = [];
  for (const members of groups) {
    for (const item of members) {
      const parsed = parseBody(item.record.body);
      if (!parsed.ok) {
        item.error = parsed.error;
        continue;
      }
      item.event = parsed.event;
      const account = eventAccount(parsed.event);
      if (account === undefined) {
        unaddressed.push(item);
      } else {
        item.account = account;
        item.channel = topicPrefix + account;
      }
    }
  }
  return unaddressed;
}

/** Addresses the events that carry no account to the fallback account; if there is none, they fail. */
async function addressToFallback(
  unaddressed: readonly RecordOutcome[],
  topicPrefix: string,
  fallbackAccount: () => Promise<string>,
): Promise<void> {
  try {
    const account = await fallbackAccount();
    for (const item of unaddressed) {
      item.account = account;
      item.channel = topicPrefix + account;
    }
  } catch (error) {
    for (const item of unaddressed) item.error = error as Error;
  }
}

/** Publishes the groups' records in one Redis call and fills in each record's outcome. */
function publishGroups(
  groups: readonly RecordOutcome[][],
  publisher: OrderedPublisher,
  requireSubscriber: boolean,
): Promise<void> {
  // Each group sends the records before its first one that cannot be sent.
  const sending: RecordOutcome[][] = [];
  const messages: OutgoingMessage[][] = [];
  for (const members of groups) {
    const sendable: OutgoingMessage[] = [];
    for (const { channel, error, record } of members) {
      if (channel === undefined || error !== undefined) break;
      sendable.push({ channel, body: record.body });
    }
    if (sendable.length === 0) {
      settleGroup(members, { receivers: [] }, requireSubscriber);
    } else {
      sending.push(members);
      messages.push(sendable);
    }
  }
  if (sending.length === 0) return Promise.resolve();
  return publisher.publishGroups(messages, requireSubscriber).then(
    (results) => {
      for (const [index, members] of sending.entries()) {
        settleGroup(members, results[index] ?? { receivers: [] }, requireSubscriber);
      }
    },
    (error: unknown) => {
      const failure = { receivers: [], error: asPublishError(error) };
      for (const members of sending) settleGroup(members, failure, requireSubscriber);
    },
  );
}

/** `result.receivers[i]` answers the group's i-th record; a record past them was not published. */
function settleGroup(members: readonly RecordOutcome[], result: GroupPublishResult, requireSubscriber: boolean): void {
  let blockedBy: string | undefined;
  for (const [position, item] of members.entries()) {
    const receivers = result.receivers[position];
    if (blockedBy !== undefined) {
      // A bad body stays the reason it names; everything else behind a failure is held back for order.
      item.error ??= new PrecedingRecordFailedError(blockedBy);
    } else if (item.error === undefined) {
      if (receivers === undefined) {
        item.error = result.error ?? new RedisPublishError('Redis did not confirm the publish');
      } else if (receivers === 0 && requireSubscriber) {
        item.error = new NoSubscriberError(`no subscriber on ${item.channel} and REQUIRE_SUBSCRIBER is on`);
      }
    }
    item.receivers = receivers;
    if (item.error !== undefined) blockedBy ??= item.record.messageId;
  }
}

function asPublishError(error: unknown): Error {
  if (error instanceof RedisPublishError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RedisPublishError(message);
}
