import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface Received {
  readonly channel: string;
  readonly message: string;
}

export interface Subscriber {
  readonly received: Received[];
  on(channel: string): Received[];
  /** Waits until `count` messages arrived in all, or fails after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function subscribe(url: string, ...channels: string[]): Promise<Subscriber> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const received: Received[] = [];
  client.on('error', () => undefined);
  client.on('message', (channel: string, message: string) => received.push({ channel, message }));
  if (channels.length > 0) await client.subscribe(...channels);
  return {
    received,
    on: (channel) => received.filter((item) => item.channel === channel),
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${received.length}`);
        await sleep(10);
      }
    },
    async close() {
      // QUIT, not disconnect: the server must have dropped the subscription before the next test counts receivers.
      await client.quit().catch(() => client.disconnect());
    },
  };
}
