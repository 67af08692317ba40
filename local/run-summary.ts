import type { Progress } from './delivery-tally.ts';

export interface RunCounts {
  readonly progress: Progress;
  /** Routed events over the queue's message size limit: skipped before sending. */
  readonly tooLarge: number;
  /** Read and routed, not sent yet (an interrupted run). */
  readonly unsent: number;
  /** Input lines or items that are not events. */
  readonly unreadable: number;
  /** Events whose body repeats an earlier one: the queue's content-based deduplication drops them. */
  readonly repeats: number;
  /** Skipped input (not events, no rule matches, too large) beyond what was reported line by line. */
  readonly unshown: number;
  /** --inventory: descriptions, asset states and snapshot parts still in the queues when the run stopped waiting. */
  readonly inventoryQueued: number;
}

/** Every event the run was given to deliver: those sent, and those that could not be. */
export function eventsToDeliver({ progress, tooLarge, unsent }: RunCounts): number {
  return progress.sent + progress.refused + tooLarge + unsent;
}

/**
 * The exit code of a run that ended by itself: 0 only when every event was delivered, all input was events, and the
 * inventory (--inventory) applied everything.
 */
export function exitCode(counts: RunCounts): number {
  const delivered = counts.progress.delivered === eventsToDeliver(counts);
  return delivered && counts.unreadable === 0 && counts.inventoryQueued === 0 ? 0 : 1;
}

/** The last line of a run: every event to deliver is in exactly one of its counts. */
export function summaryLine(counts: RunCounts): string {
  const { progress, tooLarge, unsent, unreadable, repeats, unshown, inventoryQueued } = counts;
  const parts = [`delivered ${progress.delivered}/${eventsToDeliver(counts)} events, ${progress.deadLettered} dead-lettered`];
  const clause = (count: number, text: string) => {
    if (count > 0) parts.push(`, ${count} ${text}`);
  };
  clause(
    progress.missed,
    'published while the subscriber was away (Redis pub/sub keeps nothing for it; REQUIRE_SUBSCRIBER=true keeps such events queued)',
  );
  clause(progress.pending, 'still in the queue');
  clause(
    progress.receivedAgain,
    `received again (a publish whose outcome Redis left unknown was retried: delivery is at least once; dedupe by the event's id)`,
  );
  clause(progress.refused, 'refused by the queue');
  clause(tooLarge, 'too large for the queue');
  clause(unsent, 'read but not sent');
  clause(inventoryQueued, `inventory ${inventoryQueued === 1 ? 'message' : 'messages'} still in the queues`);
  if (repeats > 0) {
    const [noun, pronoun] = repeats === 1 ? ['repeat', 'it'] : ['repeats', 'them'];
    parts.push(`; ${repeats} ${noun} of an earlier event's body (the queue's content-based deduplication drops ${pronoun})`);
  }
  if (unreadable > 0) {
    parts.push(
      `; ${unreadable} input ${unreadable === 1 ? 'line or item not read as an event' : 'lines or items not read as events'}`,
    );
  }
  if (unshown > 0) parts.push(`; ${unshown} skipped without a line of their own above`);
  return parts.join('');
}
