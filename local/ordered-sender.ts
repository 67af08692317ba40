import type { NotSent, RoutedEvent } from './router.ts';

export interface OrderedSender {
  /** Queues an event; waits when too many are queued, so a large input is read only as fast as it is sent. */
  add(event: RoutedEvent): Promise<void>;
  /** Resolves when everything added has been sent (or refused), or the sender was stopped. */
  flush(): Promise<void>;
  /** Events added and not handed to `send` yet. */
  unsent(): number;
}

export interface OrderedSenderOptions {
  /** `add` waits for the queued events to be sent once this many are queued. */
  readonly highWaterMark?: number;
  /** Awaited before each send (room in the local queue, say). */
  readonly beforeSend?: () => Promise<void>;
  /** Once aborted (a stop, a stall), nothing more is sent: what is queued stays unsent. */
  readonly signal?: AbortSignal;
}

/**
 * One send at a time, in the order events were added, up to ten per call: events of a group reach the queue in the
 * order they were read (concurrent sends would interleave them). Whatever arrived while a send was out goes next.
 */
export function createOrderedSender(
  send: (events: readonly RoutedEvent[]) => Promise<NotSent[]>,
  onNotSent: (notSent: NotSent) => void,
  options: OrderedSenderOptions = {},
): OrderedSender {
  const { highWaterMark = 100, beforeSend, signal } = options;
  const queued: RoutedEvent[] = [];
  let draining: Promise<void> | undefined;

  const drain = async () => {
    try {
      while (queued.length > 0) {
        await beforeSend?.();
        if (signal?.aborted) return;
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
