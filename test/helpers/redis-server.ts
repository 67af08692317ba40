import { after, before } from 'node:test';
import { type RedisServer, startRedisServer } from '../../local/redis-server.ts';

export { type RedisServer, startRedisServer } from '../../local/redis-server.ts';

/** A redis-server for the enclosing suite: started before its first test, stopped after its last. */
export function useRedisServer(extraArgs: readonly string[] = []): RedisServer {
  let server: RedisServer | undefined;
  before(async () => {
    server = await startRedisServer(extraArgs);
  });
  after(async () => {
    await server?.stop();
  });
  const current = (): RedisServer => {
    if (server === undefined) throw new Error('the suite redis-server is started by before(): use it inside a test');
    return server;
  };
  return {
    get port() {
      return current().port;
    },
    get url() {
      return current().url;
    },
    stop: () => current().stop(),
    start: () => current().start(),
  };
}
