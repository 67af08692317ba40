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
      const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][];
      const id = (entry: [string, string[]] | undefined) => {
        try {
          return String((JSON.parse(entry?.[1][1] ?? '{}') as { id?: unknown }).id ?? '(no id)');
        } catch {
          return '(not JSON)';
        }
      };
      lines.push(
        `stream ${key}: ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, from ${id(entries[0])} to ${id(entries.at(-1))} (a consumer that was away: XRANGE '${key}' '(<its last entry id>' +)`,
      );
    }
    return lines;
  } finally {
    redis.disconnect();
  }
}
