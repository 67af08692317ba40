import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { CliError } from '../local/cli.ts';
import { checkRedis, checkSettings } from '../local/preflight.ts';
import { setLeastAclUser } from './helpers/acl.ts';
import { type RedisCluster, startRedisCluster } from './helpers/redis-cluster.ts';
import { useRedisServer } from './helpers/redis-server.ts';

/** checkRedis' verdict: undefined when Redis passes, else the one line and the exit code. */
async function verdict(env: Record<string, string>): Promise<{ message: string; exitCode: number } | undefined> {
  try {
    await checkRedis(checkSettings(env), 2000);
    return undefined;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return { message: error.message, exitCode: error.exitCode };
  }
}

describe('the start-up check of Redis (npm start and the poller) asks what the function needs, nothing more', () => {
  const redis = useRedisServer();

  it('lets the least ACL user of docs/redis.md through (+eval +publish: no PING, no INFO)', async () => {
    const admin = new Redis(redis.port, '127.0.0.1');
    await setLeastAclUser(admin, 'sync', 'sync-pass');
    admin.disconnect();

    assert.equal(await verdict({ REDIS_URL: `redis://sync:sync-pass@127.0.0.1:${redis.port}` }), undefined);
  });

  it('stops at once, in one line, when REDIS_CLUSTER=true names a Redis that is not a cluster', async () => {
    const started = Date.now();
    const result = await verdict({ REDIS_URL: redis.url, REDIS_CLUSTER: 'true' });

    assert.equal(result?.exitCode, 2);
    assert.match(
      result?.message ?? '',
      /^Redis at redis:\/\/127\.0\.0\.1:\d+: REDIS_CLUSTER=true, but this Redis is not a cluster/,
    );
    assert.ok(Date.now() - started < 5_000, 'found at start, not after minutes of failed records');
  });
});

describe('the start-up check of Redis against a cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster.stop();
  });

  it('passes with REDIS_CLUSTER=auto or true', async () => {
    assert.equal(await verdict({ REDIS_URL: cluster.url }), undefined);
    assert.equal(await verdict({ REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' }), undefined);
  });

  it('stops in one line when REDIS_CLUSTER=false names a cluster', async () => {
    // The script's key lives in one slot: ask a node that does not hold it.
    const results = await Promise.all(cluster.nodes.map((node) => verdict({ REDIS_URL: node.url, REDIS_CLUSTER: 'false' })));

    const refused = results.filter((result) => result !== undefined);
    assert.equal(refused.length, cluster.nodes.length - 1);
    for (const result of refused) assert.match(result?.message ?? '', /REDIS_CLUSTER=false, but this Redis is a cluster/);
  });
});
