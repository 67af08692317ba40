import { createHash } from 'node:crypto';

export interface Progress {
  /** Distinct events sent (a repeat of a body already sent is one event: the FIFO queue deduplicates it). */
  readonly sent: number;
  /** Sent events the subscriber received. */
  readonly delivered: number;
  /** Every message in the dead-letter queue, including any that did not come through `send`. */
  readonly deadLettered: number;
  /**
   * Sent events the function handled (published) that the subscriber did not receive: it was disconnected, and
   * Redis pub/sub keeps nothing for a subscriber that is away. Includes, for a moment, messages on their way to it.
   */
  readonly missed: number;
  /** Sent events neither delivered, handled nor dead-lettered yet: still in the queue. */
  readonly pending: number;
  /** Events the queue refused (not in `sent`): never delivered. */
  readonly refused: number;
  /**
   * Receipts of an event the subscriber had received already: a publish whose outcome was unknown (Redis stalled
   * after taking it) is retried, as the deployed function does: delivery is at least once.
   */
  readonly receivedAgain: number;
}

type State = 'sent' | 'handled' | 'delivered';

/**
 * Where each event sent to the local queue stands, followed by its body: the function publishes the body byte for
 * byte, so the subscriber's message names it, while an `id` may be missing or shared by different events. Bodies are
 * kept as digests: memory stays small for a long input.
 */
export function createDeliveryTally() {
  const states = new Map<string, State>();
  const counts = { sent: 0, handled: 0, delivered: 0, refused: 0 };
  let receivedAgain = 0;
  const move = (body: string, from: readonly State[], to: State) => {
    const key = bodyKey(body);
    const state = states.get(key);
    if (state === undefined || !from.includes(state)) return;
    counts[state] -= 1;
    counts[to] += 1;
    states.set(key, to);
  };
  return {
    /** False when the same body was sent before (the queue's content-based deduplication drops it). */
    sent(body: string): boolean {
      const key = bodyKey(body);
      if (states.has(key)) return false;
      states.set(key, 'sent');
      counts.sent += 1;
      return true;
    },
    /** The queue refused it: it is not on its way after all. */
    refused(body: string): void {
      const key = bodyKey(body);
      const state = states.get(key);
      if (state === undefined) return;
      counts[state] -= 1;
      counts.refused += 1;
      states.delete(key);
    },
    /** The function reported it handled (published): it leaves the queue. */
    handled: (body: string) => move(body, ['sent'], 'handled'),
    /** The subscriber received it. */
    delivered(body: string): void {
      if (states.get(bodyKey(body)) === 'delivered') receivedAgain += 1;
      else move(body, ['sent', 'handled'], 'delivered');
    },
    progress(deadLetterBodies: readonly string[]): Progress {
      // Moved to the dead-letter queue by SQS (never handled), or parked there by the function (reported handled).
      const deadLettered = { sent: 0, handled: 0, delivered: 0 };
      for (const key of new Set(deadLetterBodies.map(bodyKey))) {
        const state = states.get(key);
        if (state !== undefined) deadLettered[state] += 1;
      }
      return {
        sent: counts.sent + counts.handled + counts.delivered,
        delivered: counts.delivered,
        deadLettered: deadLetterBodies.length,
        missed: counts.handled - deadLettered.handled,
        pending: counts.sent - deadLettered.sent,
        refused: counts.refused,
        receivedAgain,
      };
    },
  };
}

/** An event's identity here: its body, as a digest. */
export function bodyKey(body: string): string {
  return createHash('sha256').update(body).digest('base64');
}
