import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { subnet } from './helpers/ec2-assets.ts';
import { startInventoryHandler } from './helpers/inventory-handler.ts';
import { assetState, at, CHANGES, snapshotPart } from './helpers/inventory-records.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { ACCOUNT, CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { type RedisCluster, startRedisCluster } from './helpers/redis-cluster.ts';
import { type RedisServer, startRedisServer, useRedisServer } from './helpers/redis-server.ts';
import { startRespProxy } from './helpers/resp-proxy.ts';
import { subscribe } from './helpers/subscriber.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

const OTHER_ACCOUNT = '999999999999';
const OTHER_CHANNEL = `topic-account-management-events-${OTHER_ACCOUNT}`;

/** `count` state changes of one instance in one group: their order is what the subscriber must see. */
function groupOf(count: number, group = 'ec2-instances-events', account = ACCOUNT) {
  return Array.from({ length: count }, (_, i) => sqsRecord({ body: stateChange(`i-${group}`, `step-${i}`, account), group }));
}

const isRecord = <T>(item: T | undefined): item is T => item !== undefined;

const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

/** Nothing more arrives: what a subscriber has after a pause is what it had. */
async function settled<T>(items: readonly T[]): Promise<T[]> {
  await sleep(150);
  return [...items];
}

/** A batch of `count` records of one group through a handler on `handlerUrl`: its failures, and what the subscriber got. */
async function publishThrough(
  handlerUrl: string,
  subscriberUrl: string,
  count: number,
  track: ReturnType<typeof closeAfterEach>,
) {
  const subscriber = track(await subscribe(subscriberUrl, CHANNEL));
  const handler = track(createHandler({ env: { REDIS_URL: handlerUrl }, logger: captureLogs().logger }));
  const records = groupOf(count);
  const response = await handler(sqsEvent(records), lambdaContext());
  await subscriber.waitFor(count);
  return {
    failed: failedIds(response),
    sent: records.map((record) => record.body),
    received: subscriber.received.map((item) => item.message),
  };
}

describe('ElastiCache Serverless: scripts must declare a key', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('publishes through a front that refuses scripts without keys, as Serverless does', async () => {
    // Prepare
    const front = track(
      await startRespProxy(redis.port, ([name, , numkeys]) =>
        /^eval(sha)?$/i.test(name ?? '') && numkeys === '0'
          ? { error: 'ERR Lua scripts without any input keys are not supported.' }
          : undefined,
      ),
    );

    // Act
    const { failed, sent, received } = await publishThrough(`redis://127.0.0.1:${front.port}`, redis.url, 3, track);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(received, sent);
  });
});

/** A primary and a replica of it, both on free ports. */
async function startPair(): Promise<{ primary: RedisServer; replica: RedisServer; stop(): Promise<void> }> {
  // Redis 7 waits 5 s before a diskless full sync, to gather more replicas: none come here.
  const args = ['--repl-diskless-sync-delay', '0'];
  const primary = await startRedisServer(args);
  const replica = await startRedisServer(args);
  await replicate(replica, primary);
  return {
    primary,
    replica,
    async stop() {
      await replica.stop();
      await primary.stop();
    },
  };
}

async function replicate(replica: RedisServer, primary: RedisServer | undefined) {
  const client = new Redis(replica.port, '127.0.0.1');
  try {
    if (primary === undefined) {
      await client.replicaof('NO', 'ONE');
      return;
    }
    await client.replicaof('127.0.0.1', primary.port);
    for (let i = 0; i < 100; i++) {
      if (String(await client.info('replication')).includes('master_link_status:up')) return;
      await sleep(50);
    }
    throw new Error('the replica did not sync');
  } finally {
    client.disconnect();
  }
}

describe('a failover (node-based, primary endpoint)', () => {
  const track = closeAfterEach();
  let pair: Awaited<ReturnType<typeof startPair>>;
  before(async () => {
    pair = await startPair();
  });
  after(async () => {
    await pair?.stop();
  });

  it('fails the batch that meets the demoted primary, and the next reaches the new primary: nothing lost silently', async () => {
    // Prepare: the endpoint (a proxy) sends new connections to the primary, as its DNS name does.
    const endpoint = track(await startTcpProxy(pair.primary.port));
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${endpoint.port}` }, logger: logs.logger }));
    const before = groupOf(2);
    assert.deepEqual(failedIds(await handler(sqsEvent(before), lambdaContext())), []);

    // Act: the replica takes over; the old primary follows it; the endpoint moves.
    await replicate(pair.replica, undefined);
    await replicate(pair.primary, pair.replica);
    endpoint.targetPort = pair.replica.port;
    const subscriber = track(await subscribe(pair.replica.url, CHANNEL));
    const met = groupOf(2);
    const metResponse = await handler(sqsEvent(met), lambdaContext());
    const next = groupOf(2);
    const nextResponse = await handler(sqsEvent(next), lambdaContext());
    // SQS redelivers what failed.
    const redelivered = await handler(sqsEvent(met), lambdaContext());

    // Assess
    assert.deepEqual(
      failedIds(metResponse),
      met.map((record) => record.messageId),
    );
    assert.match(errorOf(logs.withMessage('record failed')[0]).message, /READONLY/);
    assert.deepEqual(failedIds(nextResponse), []);
    assert.deepEqual(failedIds(redelivered), []);
    assert.deepEqual(
      (await settled(subscriber.received)).map((item) => item.message),
      [...next, ...met].map((record) => record.body),
    );
    await replicate(pair.replica, pair.primary);
    await replicate(pair.primary, undefined);
  });

  it('on Redis 6.2, publishes nothing and says why when ROLE is refused (an ACL without +role)', async () => {
    const front = track(
      await startRespProxy(pair.primary.port, ([name, script]) => {
        if (/^eval$/i.test(name ?? '') && script?.startsWith('#!')) {
          return { error: "ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'" };
        }
        return /^role$/i.test(name ?? '')
          ? { error: "NOPERM this user has no permissions to run the 'role' command" }
          : undefined;
      }),
    );
    const subscriber = track(await subscribe(pair.primary.url, CHANNEL));
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${front.port}` }, logger: logs.logger }));
    const records = groupOf(2);

    const response = await handler(sqsEvent(records), lambdaContext());

    assert.deepEqual(
      failedIds(response),
      records.map((record) => record.messageId),
    );
    assert.match(errorOf(logs.withMessage('record failed')[0]).message, /cannot check the role of Redis < 7 \(ROLE\): NOPERM/);
    assert.deepEqual(await settled(subscriber.received), []);
  });

  it('on Redis 6.2 (no script shebang), checks the role before each call and fails a batch that reached a replica', async () => {
    // Prepare: a front that answers as Redis 6.2 does to a script with a shebang.
    const as62 = (target: number) =>
      startRespProxy(target, ([name, script]) =>
        /^eval$/i.test(name ?? '') && script?.startsWith('#!')
          ? { error: "ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'" }
          : undefined,
      );
    const onPrimary = track(await as62(pair.primary.port));
    const onReplica = track(await as62(pair.replica.port));
    const primarySubscriber = track(await subscribe(pair.primary.url, CHANNEL));
    const toPrimary = track(
      createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${onPrimary.port}` }, logger: captureLogs().logger }),
    );
    const toReplica = track(
      createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${onReplica.port}` }, logger: captureLogs().logger }),
    );
    const first = groupOf(2);
    const second = groupOf(2);

    const replicaSubscriber = track(await subscribe(pair.replica.url, CHANNEL));

    // Act
    const published = await toPrimary(sqsEvent(first), lambdaContext());
    const refused = await toReplica(sqsEvent(second), lambdaContext());

    // Assess
    assert.deepEqual(failedIds(published), []);
    assert.deepEqual(
      failedIds(refused),
      second.map((record) => record.messageId),
    );
    assert.deepEqual(
      (await settled(primarySubscriber.received)).map((item) => item.message),
      first.map((record) => record.body),
    );
    assert.ok(
      onReplica.commands.some(([name]) => name?.toUpperCase() === 'ROLE'),
      'the role was asked',
    );
    // Asked before the script: the replica ran nothing, so not even its own subscribers saw the refused batch.
    const onReplicaOnly = (await settled(replicaSubscriber.received)).map((item) => item.message);
    assert.ok(!second.some((record) => onReplicaOnly.includes(record.body)));
  });
});

describe('a Redis that is out of memory (maxmemory reached, noeviction)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('still publishes: the script is flagged allow-oom', async () => {
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await admin.set('ballast', 'x'.repeat(2_000_000));
    await admin.config('SET', 'maxmemory', '1000000');
    track({ close: async () => void (await admin.config('SET', 'maxmemory', '0')) });

    const { failed, sent, received } = await publishThrough(redis.url, redis.url, 2, track);

    assert.deepEqual(failed, []);
    assert.deepEqual(received, sent);
  });

  it('with the stream mirror on, appends nothing past maxmemory: the batch fails, to be retried', async () => {
    // Prepare: a full Redis (streams have no TTL, so no eviction policy would ever make room).
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await admin.set('ballast', 'x'.repeat(2_000_000));
    await admin.config('SET', 'maxmemory', '1000000');
    track({ close: async () => void (await admin.config('SET', 'maxmemory', '0')) });
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url, STREAM_RETENTION_HOURS: '24' }, logger: logs.logger }));
    const records = groupOf(3);

    // Act
    const response = await handler(sqsEvent(records), lambdaContext());

    // Assess: every record failed as refused (not of unknown outcome), nothing was appended or published.
    assert.deepEqual(
      failedIds(response),
      records.map((record) => record.messageId),
    );
    assert.match(errorOf(logs.entries().find((entry) => entry.outcome === 'failed')).message, /OOM/);
    assert.equal(await admin.exists(`{management-events-sync}:${CHANNEL}`), 0);
    assert.deepEqual(await settled(subscriber.received), []);
  });
});

describe('cluster mode (a 3-master cluster, configuration endpoint)', () => {
  const track = closeAfterEach();
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster({ extraArgs: ['--enable-debug-command', 'yes'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('finds the cluster by itself, reaches subscribers on every node in order, and reports no receiver count', async () => {
    // Prepare
    const subscribers = await Promise.all(cluster.nodes.map((node) => subscribe(node.url, CHANNEL)));
    for (const subscriber of subscribers) track(subscriber);
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: cluster.url }, logger: logs.logger }));
    const records = [...groupOf(3, 'a'), ...groupOf(2, 'b')];

    // Act
    const first = await handler(sqsEvent(records.slice(0, 2)), lambdaContext());
    const second = await handler(sqsEvent(records.slice(2)), lambdaContext());
    for (const subscriber of subscribers) await subscriber.waitFor(records.length);

    // Assess
    assert.deepEqual([...failedIds(first), ...failedIds(second)], []);
    for (const subscriber of subscribers) {
      assert.deepEqual(
        subscriber.received.map((item) => item.message),
        records.map((record) => record.body),
      );
    }
    const lines = logs.withMessage('published');
    assert.equal(lines.length, records.length);
    assert.ok(
      lines.every((line) => !('receivers' in line)),
      'no receiver count in cluster mode',
    );
    assert.equal(logs.withMessage('published to no subscriber').length, 0);
    assert.deepEqual(
      logs.withMessage('batch processed').map((summary) => summary.zeroReceivers),
      [0, 0],
    );
  });

  it('keeps the inventory in one call per batch: descriptions, raw events and a complete snapshot, every key in one slot', async () => {
    // Prepare: the change feed heard on a node other than the one holding the keys, raw events in the same batches.
    const changes = track(await subscribe(cluster.nodes[2]?.url ?? '', CHANGES));
    // The raw events too, on every node: the test ends only once they have gone round the cluster.
    const rawSubscribers = await Promise.all(cluster.nodes.map((node) => subscribe(node.url, CHANNEL)));
    for (const subscriber of rawSubscribers) track(subscriber);
    const handler = track(createHandler({ env: { REDIS_URL: cluster.url, INVENTORY: 'true' }, logger: captureLogs().logger }));
    const raw = groupOf(2, 'a');

    // Act
    const first = await handler(
      sqsEvent([raw[0], assetState({ type: 'subnet', items: [subnet(1), subnet(2)], observedAt: at(-60) })].filter(isRecord)),
      lambdaContext(),
    );
    const second = await handler(
      sqsEvent(
        [
          raw[1],
          snapshotPart({ snapshotId: 'cluster', type: 'subnet', part: 1, parts: 1, items: [subnet(2)], observedAt: at(0) }),
        ].filter(isRecord),
      ),
      lambdaContext(),
    );
    await changes.waitFor(3);
    for (const subscriber of rawSubscribers) await subscriber.waitFor(2);

    // Assess: no CROSSSLOT, no MOVED left unanswered: every record applied; subnet 1 deleted by the snapshot.
    assert.deepEqual([...failedIds(first), ...failedIds(second)], []);
    assert.deepEqual(
      changes.received.map((item) => {
        const { change, id } = JSON.parse(item.message);
        return `${change} ${id}`;
      }),
      [`created ${subnet(1).SubnetId}`, `created ${subnet(2).SubnetId}`, `deleted ${subnet(1).SubnetId}`],
    );
  });

  it('refuses REQUIRE_SUBSCRIBER with REDIS_CLUSTER=true, publishing nothing, with the reason', async () => {
    const subscriber = track(await subscribe(cluster.nodes[1]?.url ?? '', CHANNEL));
    const logs = captureLogs();
    const handler = track(
      createHandler({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', REQUIRE_SUBSCRIBER: 'true' }, logger: logs.logger }),
    );
    const records = groupOf(2);

    const response = await handler(sqsEvent(records), lambdaContext());

    assert.deepEqual(
      failedIds(response),
      records.map((record) => record.messageId),
    );
    assert.match(errorOf(logs.withMessage('record failed')[0]).message, /REQUIRE_SUBSCRIBER cannot be used with a Redis cluster/);
    assert.deepEqual(await settled(subscriber.received), []);
  });

  it('with the mirror on, appends each account’s events to its own stream, one slot per account', async () => {
    const subscriber = track(await subscribe(cluster.url, CHANNEL, OTHER_CHANNEL));
    const handler = track(
      createHandler({
        env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', STREAM_RETENTION_HOURS: '1' },
        logger: captureLogs().logger,
      }),
    );
    // One group whose events belong to two accounts, interleaved: each account's stream lives in its own slot.
    const records = [ACCOUNT, OTHER_ACCOUNT, ACCOUNT].map((account, i) =>
      sqsRecord({ body: stateChange('i-mixed', `step-${i}`, account), group: 'g' }),
    );

    const response = await handler(sqsEvent(records), lambdaContext());
    await subscriber.waitFor(3);

    assert.deepEqual(failedIds(response), []);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      records.map((record) => record.body),
    );
    const reader = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]?.port ?? 0 }]);
    track({ close: () => reader.disconnect() });
    const entries = async (channel: string) =>
      ((await reader.xrange(`{management-events-sync}:${channel}`, '-', '+')) as [string, string[]][]).map(
        ([, fields]) => fields[1],
      );
    assert.deepEqual(await entries(CHANNEL), [records[0]?.body, records[2]?.body]);
    assert.deepEqual(await entries(OTHER_CHANNEL), [records[1]?.body]);
  });

  it('never sends a call again on its own: a batch that timed out on a busy node arrives once', async () => {
    // Prepare
    const subscriber = track(await subscribe(cluster.nodes[0]?.url ?? '', CHANNEL));
    const logs = captureLogs();
    const handler = track(
      createHandler({
        env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', REDIS_COMMAND_TIMEOUT_MS: '300' },
        logger: logs.logger,
      }),
    );
    assert.deepEqual(failedIds(await handler(sqsEvent(groupOf(1)), lambdaContext())), []);
    await subscriber.waitFor(1);
    const admins = cluster.nodes.map((node) => new Redis(node.port, '127.0.0.1'));
    track({
      close: () => {
        for (const admin of admins) admin.disconnect();
      },
    });
    await Promise.all(admins.map((admin) => admin.ping()));
    const late = groupOf(2);

    // Act: every node is busy for a second, past the command timeout.
    const busy = Promise.all(admins.map((admin) => admin.call('DEBUG', 'SLEEP', '1')));
    const response = await handler(sqsEvent(late), lambdaContext());
    await busy;
    await sleep(1500);

    // Assess: the call went out once; its outcome was unknown, and Redis ran it once.
    assert.deepEqual(
      failedIds(response),
      late.map((record) => record.messageId),
    );
    assert.equal(logs.withMessage('outcome unknown: Redis may have published it; SQS delivers it again').length, 2);
    assert.deepEqual(
      subscriber.received.slice(1).map((item) => item.message),
      late.map((record) => record.body),
    );
  });
});

describe('the inventory behind what ElastiCache Serverless and Redis 6.2 answer differently', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();
  const fronts: [string, Parameters<typeof startRespProxy>[1]][] = [
    [
      'ElastiCache Serverless (a script must declare a key)',
      ([name, , numkeys]) =>
        /^eval(sha)?$/i.test(name ?? '') && numkeys === '0'
          ? { error: 'ERR Lua scripts without any input keys are not supported.' }
          : undefined,
    ],
    [
      'Redis 6.2 (no script shebang)',
      ([name, script]) =>
        /^eval$/i.test(name ?? '') && script?.startsWith('#!')
          ? { error: "ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'" }
          : undefined,
    ],
  ];

  for (const [what, answer] of fronts) {
    it(`keeps a description and announces it, with a raw event in the same batch: ${what}`, async () => {
      // Prepare
      const front = track(await startRespProxy(redis.port, answer));
      const { feed, apply, record } = await startInventoryHandler({
        redisUrl: redis.url,
        functionUrl: `redis://127.0.0.1:${front.port}`,
        env: { REDIS_CLUSTER: 'false' },
        channels: [CHANGES, CHANNEL],
        track,
      });
      const event = sqsRecord({ body: stateChange('i-0123456789abcdef0', 'running') });

      // Act: every record applied, or `apply` fails the test.
      await apply(assetState({ type: 'subnet', items: [subnet(1)], observedAt: at(0) }), event);

      // Assess
      const stored = await record(`subnet/${subnet(1).SubnetId}`);
      assert.deepEqual(
        [stored?.type, stored?.id, stored?.deleted, stored?.source],
        ['subnet', subnet(1).SubnetId, false, 'describe'],
      );
      await feed.waitFor(2);
      assert.deepEqual(
        feed.on(CHANGES).map((item) => JSON.parse(item.message).change),
        ['created'],
      );
      assert.deepEqual(
        feed.on(CHANNEL).map((item) => item.message),
        [event.body],
      );
    });
  }
});
