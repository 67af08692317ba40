import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { acceptsConnections, startRedisServer } from '../local/redis-server.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli } from './helpers/cli.ts';
import { isLoopback, listeningSockets } from './helpers/listening-sockets.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

/** `npm start -- --follow` with its own redis-server, once it has said where its queue and its Redis are. */
async function startFollowing(track: ReturnType<typeof closeAfterEach>) {
  const run = runCli([MAIN, '--follow'], { env: { REDIS_URL: '' } });
  track({ close: () => void run.child.kill('SIGKILL') });
  const deadline = Date.now() + 30_000;
  while (!/^following stdin/m.test(run.output())) {
    if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(run.output());
    await sleep(20);
  }
  const redisPort = Number(/throwaway redis-server on port (\d+)/.exec(run.output())?.[1]);
  const queuePort = Number(/^queue: http:\/\/[^:/]+:(\d+)\//m.exec(run.output())?.[1]);
  return { run, redisPort, queuePort };
}

describe('the servers npm start runs', () => {
  const track = closeAfterEach();

  it('listen on loopback only: the local queue (no authentication) and the throwaway redis-server', {
    timeout: 60_000,
  }, async () => {
    const { run, redisPort, queuePort } = await startFollowing(track);

    const sockets = listeningSockets(run.child.pid ?? 0);

    assert.deepEqual(
      sockets.map((socket) => socket.port).sort(),
      [queuePort, redisPort].sort(),
      'the queue and Redis are all it listens on',
    );
    for (const socket of sockets) assert.ok(isLoopback(socket.address), `port ${socket.port} listens on ${socket.address}`);
    run.child.kill('SIGINT');
    await run.exited;
  });

  it('take the throwaway redis-server with them when npm start is killed (kill -9)', { timeout: 60_000 }, async () => {
    const { run, redisPort } = await startFollowing(track);
    // Whatever happens below, no redis-server outlives the test.
    const probe = new Redis(redisPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await probe.connect();
    const redisPid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]);
    probe.disconnect();
    track({ close: () => void (existsSync(`/proc/${redisPid}`) && process.kill(redisPid, 'SIGKILL')) });

    run.child.kill('SIGKILL');
    await run.exited;
    const deadline = Date.now() + 5000;
    while ((await acceptsConnections(redisPort)) && Date.now() < deadline) await sleep(50);

    assert.equal(await acceptsConnections(redisPort), false, 'nothing listens on its port any more');
  });
});

describe('a throwaway redis-server', () => {
  it('leaves no file behind: its folder, with whatever Redis wrote there, goes when it stops', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url);
    const [, dir = ''] = (await client.config('GET', 'dir')) as [string, string];
    await client.set('k', 'v');
    // What a replica's full sync or a SAVE does, persistence off or not.
    await client.save();
    client.disconnect();
    assert.ok(readdirSync(dir).length > 0, 'Redis wrote its RDB file');

    await server.stop();

    assert.equal(existsSync(dir), false);
  });
});
