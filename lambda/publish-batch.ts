import type { SQSRecord } from 'aws-lambda';
import {
  InvalidBodyError,
  InventoryOffError,
  NoSubscriberError,
  OutcomeUnknownError,
  PacedError,
  PrecedingRecordFailedError,
  RedisPublishError,
} from './errors.ts';
import { type InventoryOperation, inventoryOperation, isInventoryOnlyEvent } from './inventory-operation.ts';
import type { ParkRequest } from './queue-actions.ts';
import { type EventObject, eventAccount, messageGroupOf, parseBody } from './records.ts';

/** A body published as it came. */
export interface PublishMessage {
  readonly channel: string;
  readonly body: string;
  /** The account's stream to append the body to, when the durable mirror is on. */
  readonly stream?: string;
}

/** An inventory observation to apply; its changes are published on `channel` (and appended to `stream`). */
export interface InventoryMessage {
  readonly inventory: InventoryOperation;
  readonly channel: string;
  readonly stream?: string;
  readonly tombstoneHours: number;
  /** The change feed's budget, shared by everything that writes to this Redis; 0: unpaced. */
  readonly feedBytesPerSecond: number;
}

export type OutgoingMessage = PublishMessage | InventoryMessage;

/** What applying one inventory message did to its records (a snapshot's: what it corrected). */
export interface InventoryApplied {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  /** Observed again, nothing changed (observedAt refreshed). */
  readonly same: number;
  /** Older than what the record holds: ignored. */
  readonly stale: number;
  /** Bytes published on the change feed. */
  readonly feedBytes: number;
  readonly snapshot?: {
    /** This part completed its type's listing: what the listing lacks was deleted. */
    readonly typeComplete: boolean;
    /** Every type of the run is complete: `run` holds its totals. */
    readonly runComplete: boolean;
    /** The type had been listed completely before: what this run corrects was missed by live events. */
    readonly seeded: boolean;
    readonly run: { readonly created: number; readonly updated: number; readonly deleted: number; readonly loaded: number };
  };
}

/** What Redis answered for one message: a PUBLISH's receiver count (null: unknown, as in a cluster), or an inventory message's counts. */
export type MessageAnswer = number | null | InventoryApplied;

/**
 * `answers[i]` is what the group's i-th message got; only those messages ran. When `error` is set, the message after
 * them failed and none after it was sent, unless `unknown` says how many of them may have run (the call went out,
 * no answer came).
 */
export interface GroupPublishResult {
  readonly answers: readonly MessageAnswer[];
  readonly error?: Error;
  readonly unknown?: number;
}

export interface PublishOptions {
  readonly stopOnZeroReceivers: boolean;
  /** Epoch ms by which the publish must have answered: the invocation's own deadline. */
  readonly deadline: number;
  /** Stream entries older than this ID are trimmed; set when the mirror is on. */
  readonly streamMinId?: string;
}

/**
 * Publishes message groups, each in order, stopping a group at its first refusal (or, when asked, at its first
 * PUBLISH that reached nobody). One result per group, in order.
 */
export interface OrderedPublisher {
  publishGroups(groups: readonly (readonly OutgoingMessage[])[], options: PublishOptions): Promise<GroupPublishResult[]>;
}

/** One record of a batch, from parse to outcome. */
export interface RecordOutcome {
  readonly record: SQSRecord;
  readonly group: string;
  event?: EventObject;
  account?: string;
  /** `fallback`: the event named no valid account; the function's (ARN, else STS) was used. */
  accountFrom?: 'event' | 'fallback';
  channel?: string;
  /** Set when PUBLISH ran, also for a record failed for want of a subscriber; null when the count is unknown. */
  receivers?: number | null;
  /** An inventory message (the inventory is on): applied, not published; `channel` is its change feed. */
  inventory?: InventoryOperation;
  applied?: InventoryApplied;
  /** Set when the record failed: SQS will redeliver it, unless it was parked. */
  error?: Error;
  /** The record can never be published (`error` says why) and is now in this dead-letter queue: handled. */
  parkedIn?: string;
  /** It could not be parked (it stays failed, and holds back its group): why. */
  parkError?: Error;
}

export interface BatchOptions {
  readonly topicPrefix: string;
  readonly requireSubscriber: boolean;
  readonly deadline: number;
  /** Key of the account's stream, when the durable mirror is on. */
  readonly streamOf?: (channel: string) => string;
  readonly streamMinId?: string;
  /** The account for events that carry none (function ARN, else STS); asked for at most once per batch. */
  readonly fallbackAccount: () => Promise<string>;
  /** Told of each event whose `account` is there but is not a 12-digit string. */
  readonly onInvalidAccount?: (item: RecordOutcome, value: unknown) => void;
  /**
   * Moves records that can never be published to the dead-letter queue, before anything of their group is published.
   * Resolves with those that could not be moved; undefined: nothing is parked, such records fail as any other.
   */
  readonly park?: {
    readonly deadLetterQueue: string;
    move(requests: readonly ParkRequest[]): Promise<ReadonlyMap<string, Error>>;
  };
  /** The inventory is on: "Asset State" and "Asset Snapshot" events are applied to it, not published. */
  readonly inventory?: {
    /** Each account's change feed: prefix + account. */
    readonly changePrefix: string;
    readonly tombstoneHours: number;
    readonly feedBytesPerSecond: number;
  };
}

/**
 * Failures that no retry can fix: a body that is not a JSON object stays one. Everything else (Redis down, full,
 * failing over, refusing credentials or an ACL, STS unreachable, no subscriber) may pass and is retried.
 */
export function isPermanent(error: Error | undefined): boolean {
  return error instanceof InvalidBodyError;
}

/**
 * Parses and publishes a batch in one publisher call. Within a message group a record is published only if every
 * earlier one of the group was; a failure in one group does not hold back the others. One outcome per record, in
 * the batch's order.
 */
export async function publishBatch(
  records: readonly SQSRecord[],
  publisher: OrderedPublisher,
  options: BatchOptions,
): Promise<RecordOutcome[]> {
  const outcomes = records.map((record): RecordOutcome => ({ record, group: messageGroupOf(record) }));
  const unaddressed: RecordOutcome[] = [];
  for (const item of outcomes) {
    const parsed = parseBody(item.record.body);
    if (!parsed.ok) {
      item.error = parsed.error;
      continue;
    }
    item.event = parsed.event;
    if (options.inventory !== undefined) {
      try {
        item.inventory = inventoryOperation(parsed.event);
      } catch (error) {
        item.error = error as Error;
        continue;
      }
      if (item.inventory !== undefined) {
        address(item, item.inventory.account, 'event', options.inventory.changePrefix);
        continue;
      }
    } else if (isInventoryOnlyEvent(parsed.event)) {
      item.error = new InventoryOffError(
        `${String(parsed.event['detail-type'])} event for the inventory, and the inventory is off here: turn it on in this function (INVENTORY=true; the stack's inventory prop) or off in the describer and reconcile that send it`,
      );
      continue;
    }
    const { account, invalid } = eventAccount(parsed.event);
    if (account === undefined) {
      unaddressed.push(item);
      if (invalid !== undefined) options.onInvalidAccount?.(item, invalid);
    } else {
      address(item, account, 'event', options.topicPrefix);
    }
  }
  if (unaddressed.length > 0) {
    try {
      const account = await options.fallbackAccount();
      for (const item of unaddressed) address(item, account, 'fallback', options.topicPrefix);
    } catch (error) {
      for (const item of unaddressed) item.error = error as Error;
    }
  }

  await parkPermanentFailures(outcomes, options.park);

  // Each group sends its records up to the first one that cannot be sent; a parked record is out of the way.
  const groups = [...Map.groupBy(outcomes, (item) => item.group).values()];
  const messages = groups.map((members) => {
    const sendable: OutgoingMessage[] = [];
    for (const { channel, error, record, parkedIn, inventory } of members) {
      if (parkedIn !== undefined) continue;
      if (channel === undefined || error !== undefined) break;
      const stream = options.streamOf?.(channel);
      sendable.push(
        inventory === undefined
          ? { channel, body: record.body, stream }
          : {
              inventory,
              channel,
              stream,
              tombstoneHours: options.inventory?.tombstoneHours ?? 24,
              feedBytesPerSecond: options.inventory?.feedBytesPerSecond ?? 0,
            },
      );
    }
    return sendable;
  });
  let results: readonly GroupPublishResult[];
  if (messages.every((sendable) => sendable.length === 0)) {
    results = [];
  } else {
    try {
      results = await publisher.publishGroups(messages, {
        stopOnZeroReceivers: options.requireSubscriber,
        deadline: options.deadline,
        streamMinId: options.streamMinId,
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new RedisPublishError(String(error));
      results = messages.map(() => ({ answers: [], error: failure }));
    }
  }
  for (const [index, members] of groups.entries()) {
    settleGroup(members, results[index] ?? { answers: [] }, options.requireSubscriber);
  }
  return outcomes;
}

async function parkPermanentFailures(outcomes: readonly RecordOutcome[], park: BatchOptions['park']): Promise<void> {
  const permanent = outcomes.filter((item) => isPermanent(item.error));
  if (park === undefined || permanent.length === 0) return;
  const refused = await park
    .move(permanent.map((item) => ({ record: item.record, group: item.group, reason: item.error as Error })))
    .catch((error: Error) => new Map(permanent.map((item) => [item.record.messageId, error])));
  for (const item of permanent) {
    const parkError = refused.get(item.record.messageId);
    if (parkError === undefined) item.parkedIn = park.deadLetterQueue;
    else item.parkError = parkError;
  }
}

function address(item: RecordOutcome, account: string, from: 'event' | 'fallback', topicPrefix: string) {
  item.account = account;
  item.accountFrom = from;
  item.channel = topicPrefix + account;
}

/** `result.answers[i]` answers the group's i-th record; a record past them was not published (or may have been). */
function settleGroup(members: readonly RecordOutcome[], result: GroupPublishResult, requireSubscriber: boolean): void {
  const published = result.answers.length;
  const unknownEnd = result.error instanceof OutcomeUnknownError ? published + (result.unknown ?? 0) : published;
  let blockedBy: string | undefined;
  let pacedBy: PacedError | undefined;
  // Positions count the records that were sent or could have been: a parked record never takes one.
  let position = -1;
  for (const item of members) {
    if (item.parkedIn !== undefined) continue;
    position += 1;
    if (item.error === undefined) {
      if (position < published) {
        const answer = result.answers[position] ?? null;
        if (answer !== null && typeof answer === 'object') item.applied = answer;
        else item.receivers = answer;
        if (item.receivers === 0 && requireSubscriber) {
          item.error = new NoSubscriberError(`no subscriber on ${item.channel} and REQUIRE_SUBSCRIBER is on`);
        }
      } else if (position < unknownEnd) {
        // Every record of a call that went unanswered shares its doubt: Redis may have published it.
        item.error = result.error;
      } else if (pacedBy !== undefined) {
        // Held back behind a paced record: it waits with it, as SQS would hand out nothing of the group anyway.
        item.error = new PacedError(`held back behind ${blockedBy}: ${pacedBy.message}`, pacedBy.retryAfterSeconds);
      } else if (blockedBy !== undefined) {
        item.error = new PrecedingRecordFailedError(blockedBy);
      } else {
        item.error = result.error ?? new RedisPublishError('Redis did not confirm the publish');
      }
    }
    // A bad body keeps the reason it names; every later record of the group is held back for order.
    if (item.error !== undefined && blockedBy === undefined) {
      blockedBy = item.record.messageId;
      if (item.error instanceof PacedError) pacedBy = item.error;
    }
  }
}
