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

/**
 * One record of a batch: parsed and addressed before the publish, its outcome filled in once Redis has answered. One
 * object serves both steps because the function's time per batch is mostly spent between Redis round trips.
 */
export interface RecordOutcome {
  readonly record: SQSRecord;
  readonly group: string;
  readonly event: EventObject | undefined;
  account?: string;
  channel?: string;
  /** Set when PUBLISH ran, also for a record failed for want of a subscriber. */
  receivers?: number;
  /** Set when the record failed: SQS will redeliver it. */
  error?: Error;
}

/** The batch's records parsed and addressed, in order; `unaddressed` are the events that carry no account. */
export interface PreparedBatch {
  readonly records: RecordOutcome[];
  readonly unaddressed: RecordOutcome[];
}

/** Parses every body and finds its channel from the event's account. */
export function prepareBatch(records: readonly SQSRecord[], topicPrefix: string): PreparedBatch {
  const prepared: RecordOutcome[] = [];
  const unaddressed: RecordOutcome[] = [];
  for (const record of records) {
    const group = messageGroupOf(record);
    const parsed = parseBody(record.body);
    if (!parsed.ok) {
      prepared.push({ record, group, event: undefined, error: parsed.error });
      continue;
    }
    const account = eventAccount(parsed.event);
    const item: RecordOutcome = { record, group, event: parsed.event, account, channel: account && topicPrefix + account };
    if (account === undefined) unaddressed.push(item);
    prepared.push(item);
  }
  return { records: prepared, unaddressed };
}

/** Addresses the events that carry no account to the fallback account (function ARN, else STS), asked for once. */
export async function addressToFallback(
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

/**
 * Sends a prepared batch in one Redis call and fills in each record's outcome. Within a message group a record is
 * published only if every earlier one of the group was; a failure in one group does not hold back the others. With
 * the client connected, the command is written before this returns, so the caller can do other work while Redis
 * answers.
 */
export function sendBatch(
  prepared: readonly RecordOutcome[],
  publisher: OrderedPublisher,
  requireSubscriber: boolean,
): Promise<readonly RecordOutcome[]> {
  const groups = new Map<string, RecordOutcome[]>();
  for (const item of prepared) {
    const members = groups.get(item.group);
    if (members === undefined) groups.set(item.group, [item]);
    else members.push(item);
  }
  // Each group sends the records before its first one that cannot be sent.
  const sending: RecordOutcome[][] = [];
  const messages: OutgoingMessage[][] = [];
  for (const members of groups.values()) {
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
  if (sending.length === 0) return Promise.resolve(prepared);
  return publisher.publishGroups(messages, requireSubscriber).then(
    (results) => {
      for (const [index, members] of sending.entries()) {
        settleGroup(members, results[index] ?? { receivers: [] }, requireSubscriber);
      }
      return prepared;
    },
    (error: unknown) => {
      const failure = { receivers: [], error: asPublishError(error) };
      for (const members of sending) settleGroup(members, failure, requireSubscriber);
      return prepared;
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
