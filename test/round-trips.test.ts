import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

function batchOf(groups: number, size = 10) {
  return sqsEvent(
    Array.from({ length: size }, (_, i) => sqsRecord({ body: stateChange(`i-${i}`, 'running'), group: `group-${i % groups}` })),
  );
}

describe('Redis round trips', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  for (const groups of [1, 2, 10]) {
    it(`takes one round trip for a batch of 10 records in ${groups} group(s)`, async () => {
      const proxy = track(await startTcpProxy(redis.port));
      // Latency makes every round trip visible to the proxy as a separate turn.
      proxy.delayMs = 15;
      const handler = track(
        createHandler({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` }, logger: captureLogs().logger }),
      );
      // The first batch connects and loads the script (EVALSHA, NOSCRIPT, EVAL): not counted.
      await handler(batchOf(groups), lambdaContext());
      proxy.resetTurns();

      const response = await handler(batchOf(groups), lambdaContext());

      assert.deepEqual(response, { batchItemFailures: [] });
      assert.equal(proxy.turns, 1);
    });
  }
});
