import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHandler } from '../lambda/handler.ts';
import { type OrderedPublisher, sendBatch } from '../lambda/publish-batch.ts';
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

describe('sending a batch', () => {
  it('sends the first group as soon as its records are parsed, then the other groups together, before waiting', async () => {
    // Prepare
    const steps: string[] = [];
    const record = (group: string, index: number) => {
      const spec = sqsRecord({ body: stateChange(`i-${group}${index}`, 'running'), group });
      const body = spec.body;
      return Object.defineProperty(spec, 'body', {
        get: () => {
          steps.push(`read ${group}${index}`);
          return body;
        },
      });
    };
    const records = [record('a', 1), record('b', 1), record('c', 1), record('a', 2), record('b', 2)];
    const publisher: OrderedPublisher = {
      publishGroups(groups) {
        steps.push(`call ${groups.map((messages) => messages.length).join('+')}`);
        return Promise.resolve(groups.map((messages) => ({ receivers: messages.map(() => 1) })));
      },
    };

    // Act
    const batch = sendBatch(records, publisher, {
      topicPrefix: 'topic-',
      requireSubscriber: false,
      fallbackAccount: () => Promise.reject(new Error('every event names its account')),
    });
    const calls = steps.filter((step) => step.startsWith('call '));
    await batch.settled;

    // Assess
    assert.deepEqual(calls, ['call 2', 'call 2+1']);
    const firstCall = steps.indexOf('call 2');
    assert.ok(firstCall > steps.indexOf('read a2'), steps.join(', '));
    assert.ok(firstCall < steps.indexOf('read b1'), steps.join(', '));
    assert.ok(firstCall < steps.indexOf('read c1'), steps.join(', '));
    assert.deepEqual(
      batch.outcomes.map(({ record: { messageId }, receivers, error }) => ({ messageId, receivers, error })),
      records.map(({ messageId }) => ({ messageId, receivers: 1, error: undefined })),
    );
  });
});
