import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHandler } from '../lambda/handler.ts';
import { freePort } from '../local/free-port.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange, tagChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

/*
 * "Promptly" is a bound from the configuration (connect + command timeout, 300 ms each here), with room for a
 * loaded machine; ioredis' defaults take over a minute, and the Lambda timeout is 10 s.
 */
const TIMEOUTS = { REDIS_CONNECT_TIMEOUT_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '300' };
const PROMPT_MS = 4000;

function batch() {
  return sqsEvent([
    sqsRecord({ body: stateChange('i-1', 'pending') }),
    sqsRecord({ body: stateChange('i-1', 'running') }),
    sqsRecord({
      body: tagChange('arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1', ['Name'], { Name: 'v' }),
      group: 'management-events-tags',
    }),
  ]);
}

async function timed<T>(work: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work;
  return { result, ms: performance.now() - started };
}

describe('when Redis is unreachable, stalled or restarted', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('fails every record promptly when nothing listens on the Redis port', async () => {
    const port = await freePort();
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${port}`, ...TIMEOUTS }, logger: logs.logger }));
    const event = batch();

    const { result, ms } = await timed(handler(event, lambdaContext()));

    assert.deepEqual(
      result.batchItemFailures.map((f: { itemIdentifier: string }) => f.itemIdentifier),
      event.Records.map((r) => r.messageId),
    );
    assert.ok(ms < PROMPT_MS, `returned after ${Math.round(ms)} ms`);
    const failed = logs.withMessage('record failed');
    assert.match(errorOf(failed[0]).message, /not ready within 600 ms.*ECONNREFUSED/);
  });

  it('fails every record promptly when Redis stalls (TCP open, no answer), then recovers by itself', async () => {
    const proxy = track(await startTcpProxy(redis.port));
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const logs = captureLogs();
    const handler = track(
      createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, ...TIMEOUTS }, logger: logs.logger }),
    );
    const warm = await handler(batch(), lambdaContext());
    assert.deepEqual(warm, { batchItemFailures: [] });

    proxy.setMode('stall');
    const stalled = batch();
    const { result, ms } = await timed(handler(stalled, lambdaContext()));
    assert.equal(result.batchItemFailures.length, stalled.Records.length);
    assert.ok(ms < PROMPT_MS, `returned after ${Math.round(ms)} ms`);
    // The script call went out and no answer came: Redis may have run it, so the records are failed as unknown.
    const unknown = logs.withMessage('outcome unknown: Redis may have published it; SQS delivers it again');
    assert.equal(unknown.length, stalled.Records.length);
    assert.equal(errorOf(unknown[0]).name, 'OutcomeUnknownError');
    // The function drops the stalled connection itself (the proxy keeps it open) and connects again.
    await eventually(async () => assert.equal(proxy.accepted, 2));

    // A new connection attempt during the stall is bounded too, and its unanswered handshake is dropped in turn.
    const again = await timed(handler(batch(), lambdaContext()));
    assert.equal(again.result.batchItemFailures.length, 3);
    assert.ok(again.ms < PROMPT_MS, `returned after ${Math.round(again.ms)} ms`);
    await eventually(async () => assert.equal(proxy.accepted, 3));

    proxy.setMode('pass');
    const recovered = batch();
    await eventually(async () => assert.deepEqual(await handler(recovered, lambdaContext()), { batchItemFailures: [] }));
    // The warm-up batch and the recovered one; nothing sent during the stall reached Redis.
    await subscriber.waitFor(6);
    const bodies = subscriber.received.map((item) => item.message);
    for (const record of recovered.Records) assert.ok(bodies.includes(record.body));
  });

  it('recovers in the same container after redis-server restarts', async () => {
    const subscriberBefore = track(await subscribe(redis.url, CHANNEL));
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url, ...TIMEOUTS }, logger: logs.logger }));
    assert.deepEqual(await handler(batch(), lambdaContext()), { batchItemFailures: [] });
    await subscriberBefore.close();

    await redis.stop();
    const down = await timed(handler(batch(), lambdaContext()));
    assert.equal(down.result.batchItemFailures.length, 3);
    assert.ok(down.ms < PROMPT_MS, `returned after ${Math.round(down.ms)} ms`);

    await redis.start();
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const event = batch();
    const up = await handler(event, lambdaContext());

    assert.deepEqual(up, { batchItemFailures: [] }, 'the first invocation after the restart publishes');
    await subscriber.waitFor(3);
    assert.deepEqual(subscriber.received.map((item) => item.message).sort(), event.Records.map((r) => r.body).sort());
    assert.equal(logs.withMessage('redis connection restored').length, 1);
  });
});

async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}
