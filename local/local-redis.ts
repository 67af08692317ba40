import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis client of npm start's own (its subscriber, the reads at the end of a run), as REDIS_URL's user. No ready
 * check: ioredis' sends INFO, which a least ACL user may not run, and then prints a warning that is not JSON. Errors
 * are the caller's to handle per call; the client's own (a reconnect) would otherwise crash the process.
 */
export function localRedisClient(redisUrl: string, options: RedisOptions = {}): Redis {
  const client = new Redis(redisUrl, { lazyConnect: true, enableReadyCheck: false, ...options });
  client.on('error', () => undefined);
  return client;
}
