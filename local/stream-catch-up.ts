import { SCRIPT_KEY } from '../lambda/redis-script.ts';
import { localRedisClient } from './local-redis.ts';

/**
 * What a consumer that was away finds in the durable mirror: each account's stream, how many entries it holds, and
 * the first and last event ids a resuming consumer would read (`XRANGE key (lastId +`). One line per stream.
 */
export async function describeStreams(redisUrl: string, topicPrefix: string): Promise<string[]> {
  const redis = localRedisClient(redisUrl, { maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    // SCAN, not KEYS: this may be a production Redis, which KEYS would block while it walks every key. SCAN may
    // return a key twice.
    const found = new Set<string>();
    for await (const batch of redis.scanStream({ match: `${SCRIPT_KEY}:${topicPrefix}*`, count: 100 })) {
      for (const key of batch as string[]) found.add(key);
    }
    const keys = [...found].sort();
    const lines: string[] = [];
    for (const key of keys) {
      // XINFO STREAM: the length and both ends in one answer, whatever the stream's size (a production stream may
      // hold days of events, which XRANGE - + would carry here whole).
      const reply = (await redis.xinfo('STREAM', key)) as unknown[];
      const info = new Map<unknown, unknown>();
      for (let index = 0; index + 1 < reply.length; index += 2) info.set(reply[index], reply[index + 1]);
      const length = Number(info.get('length') ?? 0);
      const id = (entry: unknown) => {
        try {
          const value = (entry as [string, string[]] | null)?.[1]?.[1] ?? '{}';
          return String((JSON.parse(value) as { id?: unknown }).id ?? '(no id)');
        } catch {
          return '(not JSON)';
        }
      };
      lines.push(
        `stream ${key}: ${length} ${length === 1 ? 'entry' : 'entries'}, from ${id(info.get('first-entry'))} to ${id(info.get('last-entry'))} (a consumer that was away: XRANGE '${key}' '(<its last entry id>' +)`,
      );
    }
    return lines;
  } finally {
    redis.disconnect();
  }
}
