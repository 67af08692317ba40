/** The SQS record body is not a JSON object; redelivery will not fix it, the dead-letter queue will keep it. */
export class InvalidBodyError extends Error {
  override name = 'InvalidBodyError';
}

/** An earlier record of the same message group failed in this batch, so this one was not sent (FIFO order). */
export class PrecedingRecordFailedError extends Error {
  override name = 'PrecedingRecordFailedError';
  readonly failedMessageId: string;
  constructor(failedMessageId: string) {
    super(`not published: record ${failedMessageId} of the same message group failed before it`);
    this.failedMessageId = failedMessageId;
  }
}

/** Redis answered PUBLISH with zero receivers while REQUIRE_SUBSCRIBER is on. */
export class NoSubscriberError extends Error {
  override name = 'NoSubscriberError';
}

/** The record was not published: Redis refused the command or was not reachable before it was sent. */
export class RedisPublishError extends Error {
  override name = 'RedisPublishError';
}

/**
 * The script call was written to Redis but no answer came in time (or the connection dropped while waiting): Redis
 * may have published the record. SQS delivers it again, so a subscriber may see it twice.
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
}

/**
 * Not applied now: the inventory's change feed has spent its budget (INVENTORY_FEED_BYTES_PER_SECOND). Nothing is
 * lost: SQS hands the record out again after `retryAfterSeconds`, and the records behind it in its group wait too.
 */
export class PacedError extends Error {
  override name = 'PacedError';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * An event meant for the inventory (an "Asset State", or a snapshot of a reconcile that feeds it) reached a function
 * whose inventory is off: a deployment that disagrees with itself. Retried, not published raw and not parked, so
 * that turning the inventory on (or off in the describer and reconcile) lets them through as they were meant.
 */
export class InventoryOffError extends Error {
  override name = 'InventoryOffError';
}

/** The function's environment is invalid; every record fails until it is fixed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The account could not be determined from the event, the function ARN or STS. */
export class AccountUnavailableError extends Error {
  override name = 'AccountUnavailableError';
}

/** What may be said of an error in a message: its name and message, never its other fields (see log.ts). */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'NonError', message: String(error) };
}
