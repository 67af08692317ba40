import type { SQSRecord } from 'aws-lambda';
import { isAccountId } from './account.ts';
import { InvalidBodyError } from './errors.ts';

export type EventObject = Record<string, unknown>;

export type ParsedBody = { ok: true; event: EventObject } | { ok: false; error: InvalidBodyError };

/** The body must be a JSON object; it is published as it came, so parsing only validates and reads fields. */
export function parseBody(body: string | undefined): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch (error) {
    const reason =
      body === undefined || body.trim() === '' ? 'body is empty' : `body is not valid JSON: ${(error as Error).message}`;
    return { ok: false, error: new InvalidBodyError(reason) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { ok: false, error: new InvalidBodyError(`body is ${kind}, not a JSON object`) };
  }
  return { ok: true, event: value as EventObject };
}

/**
 * Records of a FIFO queue always carry a message group. A record without one (a standard queue in poll mode) is
 * its own group: there is no order to keep.
 */
export function messageGroupOf(record: SQSRecord): string {
  return record.attributes?.MessageGroupId ?? `(no group: ${record.messageId})`;
}

/** The event's own account when it is a 12-digit string; `invalid` when the field is there but is not one. */
export function eventAccount(event: EventObject): { account?: string; invalid?: unknown } {
  const account = event.account;
  if (isAccountId(account)) return { account };
  return account === undefined ? {} : { invalid: account };
}

/** Milliseconds since the event happened (its `time`), else since SQS received it. */
export function eventAgeMs(record: SQSRecord, event: EventObject | undefined, now: number): number | undefined {
  const time = typeof event?.time === 'string' ? Date.parse(event.time) : Number.NaN;
  // An empty attribute is no time (Number('') would be 0, an age of 56 years).
  const since = Number.isFinite(time) ? time : Number(record.attributes?.SentTimestamp || Number.NaN);
  return Number.isFinite(since) ? Math.max(0, now - since) : undefined;
}
