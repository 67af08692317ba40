import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { startPipeline } from '../local/pipeline.ts';
import type { RoutedEvent } from '../local/router.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli } from './helpers/cli.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;
const GROUPS = ['ec2-instances-events', 'management-events-tags', 'third-group'];
const PER_GROUP = 800;

function eventsInSendOrder(): RoutedEvent[] {
  const events: RoutedEvent[] = [];
  for (let i = 0; i < PER_GROUP; i++) {
    for (const group of GROUPS) {
      const id = `${group}-${String(i).padStart(5, '0')}`;
      const body = JSON.stringify({
        version: '0',
        id,
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        account: '123456789012',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [`arn:aws:ec2:us-east-1:123456789012:instance/i-${i}`],
        detail: { 'instance-id': `i-${i}`, state: i % 2 === 0 ? 'running' : 'stopped' },
      });
      events.push({ id, rule: 'management-events-ec2', group, body });
    }
  }
  return events;
}

describe('the local pipeline under network faults', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  // On SQS's batching the poison is received with up to 9 records of its group behind it: the function parks it at
  // once, so they are not received (and counted) with it until they too are dead-lettered.
  it('loses nothing and keeps first deliveries in order while the network to Redis is cut and then stalled', {
    timeout: 120_000,
  }, async (t) => {
    // Prepare: the function reaches Redis through a proxy we can break; the inventory subscribes directly.
    const proxy = track(await startTcpProxy(redis.port));
    const logs = captureLogs();
    const pipeline = track(
      await startPipeline({
        region: 'us-east-1',
        redisUrl: redis.url,
        functionRedisUrl: `redis://127.0.0.1:${proxy.port}`,
        maxReceiveCount: 5,
        groupBatching: 'sqs',
        visibilityTimeoutSeconds: 1,
        functionLogger: logs.logger,
        functionEnv: { REDIS_CONNECT_TIMEOUT_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '300' },
      }),
    );
    const events = eventsInSendOrder();
    const half = events.length / 2;
    const poison = '{"id": "poison", this is not JSON';

    // Act: the first half, a poison body mid-group, the second half; the faults strike while they flow.
    await pipeline.send(events.slice(0, half));
    await pipeline.queue.sqs.send(
      new SendMessageCommand({ QueueUrl: pipeline.queue.queueUrl, MessageBody: poison, MessageGroupId: GROUPS[0] }),
    );
    await pipeline.send(events.slice(half));
    const faults = (async () => {
      await until(async () => (await pipeline.progress()).delivered >= events.length * 0.2);
      proxy.setMode('cut');
      await sleep(1500);
      proxy.setMode('pass');
      await until(async () => (await pipeline.progress()).delivered >= events.length * 0.6);
      proxy.setMode('stall');
      await sleep(1500);
      proxy.setMode('pass');
    })();
    await faults;
    const result = await pipeline.settle(15_000);

    // Assess: every event reached the subscriber; only the poison was dead-lettered.
    const missing = events.filter((event) => !pipeline.deliveries.has(event.id)).map((event) => event.id);
    assert.deepEqual(missing, [], `${missing.length} events lost`);
    assert.equal(result.delivered, events.length);
    assert.equal(result.deadLettered, 1);
    assert.deepEqual(await pipeline.queue.deadLetterBodies(), [poison]);
    for (const group of GROUPS) {
      const sent = events.filter((event) => event.group === group).map((event) => event.id);
      const first = pipeline.firstDeliveries.filter((id) => id.startsWith(`${group}-`));
      assert.deepEqual(first, sent, `first deliveries of ${group} in send order`);
    }
    // The faults did bite: records failed and were delivered again later; the poison was parked on its first try.
    const failed = logs.withMessage('record failed');
    const byOutage = failed.filter((entry) => errorOf(entry).name === 'RedisPublishError').length;
    assert.ok(byOutage > 0, 'the cut and the stall failed some records');
    assert.equal(logs.entries().filter((entry) => entry.outcome === 'parked').length, 1, 'the poison was parked once');
    const duplicates = [...pipeline.deliveries.values()].filter((count) => count > 1).length;
    t.diagnostic(
      `${events.length} events in ${GROUPS.length} groups: all delivered, ${duplicates} delivered more than once, ${byOutage} records failed by the outage and retried, 1 poison parked`,
    );
  });
});

describe('the local pipeline when Redis restarts mid-run', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('never waits for ever: the subscriber comes back, and what was published while it was away is counted as missed', {
    timeout: 120_000,
  }, async (t) => {
    // Prepare: the inventory subscribes through a proxy that stays cut a little longer than Redis is down, as when
    // the function reconnects before the subscriber does; the function publishes directly.
    const proxy = track(await startTcpProxy(redis.port));
    const pipeline = track(
      await startPipeline({
        region: 'us-east-1',
        redisUrl: `redis://127.0.0.1:${proxy.port}`,
        functionRedisUrl: redis.url,
        maxReceiveCount: 5,
        visibilityTimeoutSeconds: 1,
        functionLogger: captureLogs().logger,
        functionEnv: { REDIS_CONNECT_TIMEOUT_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '300' },
      }),
    );
    const events = eventsInSendOrder();

    // Act: Redis restarts while the events flow; the subscriber's way back opens half a second after Redis is up.
    await pipeline.send(events);
    await until(async () => (await pipeline.progress()).delivered >= 100);
    proxy.setMode('cut');
    await redis.stop();
    await sleep(1000);
    await redis.start();
    await sleep(500);
    const deliveredBeforeReturn = (await pipeline.progress()).delivered;
    proxy.setMode('pass');
    const roomMade = await pipeline.waitForRoom(0, 30_000);
    const result = await pipeline.settle(15_000);

    // Assess: every event is accounted for, some were missed, and the subscriber received again after the restart.
    assert.equal(roomMade, true, 'the backlog drained: missed events are not waited for');
    assert.equal(result.pending, 0);
    assert.ok(result.missed > 0, 'events were published while the subscriber was away');
    assert.ok(result.delivered > deliveredBeforeReturn, 'the subscriber reconnected and received again');
    assert.equal(result.delivered + result.missed + result.deadLettered, events.length);
    t.diagnostic(`${result.delivered} delivered, ${result.missed} missed while the subscriber was away`);
  });

  it('npm start ends by itself after a Redis restart, and its summary says where every event went', {
    timeout: 120_000,
  }, async () => {
    const lines = eventsInSendOrder()
      .slice(0, 1500)
      .map((event) => event.body);
    const run = runCli([MAIN, '--visibility-timeout', '1'], { input: `${lines.join('\n')}\n`, env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });
    const inventoryLines = () =>
      run
        .output()
        .split('\n')
        .filter((line) => line.startsWith('inventory <- ')).length;

    await until(async () => inventoryLines() >= 300);
    await redis.stop();
    await sleep(2000);
    await redis.start();
    // For a second after Redis is back, the subscriber's connections are dropped as they come: the function
    // publishes meanwhile, to nobody, as when it reconnects first.
    const admin = new Redis(redis.url);
    track({ close: () => admin.quit().then(() => undefined) });
    const until1s = Date.now() + 1000;
    while (Date.now() < until1s) {
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await sleep(10);
    }
    const { code, stdout } = await run.exited;

    const summary =
      /^delivered (\d+)\/(\d+) events, (\d+) dead-lettered(?:, (\d+) published while the subscriber was away)?/m.exec(stdout);
    assert.ok(summary !== null, stdout.slice(-2000));
    const [delivered = 0, total, deadLettered = 0, missed = 0] = summary.slice(1).map((count) => Number(count ?? 0));
    assert.equal(total, lines.length);
    assert.equal(delivered + deadLettered + missed, total, summary[0]);
    assert.ok(missed > 0, summary[0]);
    assert.equal(code, 1);
    assert.ok(inventoryLines() > 300, 'the subscriber received again after the restart');
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
