import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

describe('the first batch after an idle spell in which the path to Redis forgot the connection', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  /** A warm container publishes once, goes idle, the path forgets its flow, then the next batch comes. */
  async function afterForgottenFlow(maxIdleSeconds: string) {
    const proxy = track(await startTcpProxy(redis.port));
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const handler = track(
      createHandler({
        env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_MAX_IDLE_SECONDS: maxIdleSeconds },
        logger: captureLogs().logger,
      }),
    );
    const warm = await handler(sqsEvent([sqsRecord({ body: stateChange('i-1', 'pending') })]), lambdaContext());
    assert.deepEqual(failedIds(warm), []);
    await subscriber.waitFor(1);

    // Idle past the limit; meanwhile the flow is forgotten: packets vanish, nobody is told (no RST).
    proxy.forgetConnections();
    await sleep(1_200);
    const next = sqsRecord({ body: stateChange('i-1', 'running') });
    const response = await handler(sqsEvent([next]), lambdaContext());
    return { proxy, subscriber, next, response };
  }

  it('replaces the idle connection before use: the batch is published on its first try', async () => {
    const { proxy, subscriber, next, response } = await afterForgottenFlow('1');

    assert.deepEqual(failedIds(response), []);
    await subscriber.waitFor(2);
    assert.equal(subscriber.received[1]?.message, next.body);
    assert.equal(proxy.accepted, 2);
  });

  it('without the limit, the same batch is written into the forgotten flow and fails (what the limit prevents)', async () => {
    const { subscriber, next, response } = await afterForgottenFlow('0');

    assert.deepEqual(failedIds(response), [next.messageId]);
    await sleep(100);
    assert.equal(subscriber.received.length, 1);
  });
});
