import type { NotSent, RoutedEvent } from './router.ts';

export interface OrderedSender {
  /** Queues an event; waits when too many are queued, so a large input is read only as fast as it is sent. */
  add(event: RoutedEvent): Promise<void>;
  /** Resolves when everything added has been sent (or refused). */
  flush(): Promise<void>;
  /** Events added and not handed to `send` yet. */
  unsent(): number;
}

/**
 * One send at a time, in the order events were added, up to ten per call: events of a group reach the queue in the
 * order they were read (concurrent sends would interleave them). Whatever arrived while a send was out goes next.
 */
export function createOrderedSender(
  send: (events: readonly RoutedEvent[]) => Promise<NotSent[]>,
  onNotSent: (notSent: NotSent) => void,
  highWaterMark = 100,
): OrderedSender {
  const queued: RoutedEvent[] = [];
  let draining: Promise<void> | undefined;

  const drain = async () => {
    try {
      while (queued.length > 0) {
        const batch = queued.splice(0, 10);
        try {
          for (const notSent of await send(batch)) onNotSent(notSent);
        } catch (error) {
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          for (const event of batch) onNotSent({ event, reason });
        }
      }
    } finally {
      draining = undefined;
    }
  };

  return {
    async add(event) {
      queued.push(event);
      draining ??= drain();
      if (queued.length >= highWaterMark) await draining;
    },
    async flush() {
      while (draining !== undefined) await draining;
    },
    unsent: () => queued.length,
  };
}
