/** The SQS record body is not a JSON object; redelivery will not fix it, the dead-letter queue will keep it. */
export class InvalidBodyError extends Error {
  override name = 'InvalidBodyError';
}

/** An earlier record of the same message group failed in this batch, so this one was not published (FIFO order). */
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

/** Redis refused the command (ACL, auth, script error) or could not be reached in time. */
export class RedisPublishError extends Error {
  override name = 'RedisPublishError';
}

/** The function's environment is invalid; every record fails until it is fixed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The account could not be determined from the event, the function ARN or STS. */
export class AccountUnavailableError extends Error {
  override name = 'AccountUnavailableError';
}

/**
 * What may be logged of an error: its name and message. Never the error itself: an ioredis error carries the
 * command's arguments, and for AUTH those are the password.
 */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'NonError', message: String(error) };
}
