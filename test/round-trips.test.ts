import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHandler } from '../lambda/handler.ts';
import { type OrderedPublisher, publishBatch } from '../lambda/publish-batch.ts';
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
      // The first batch connects: not counted here (see the cold start test).
      await handler(batchOf(groups), lambdaContext());
      proxy.resetTurns();

      const response = await handler(batchOf(groups), lambdaContext());

      assert.deepEqual(response, { batchItemFailures: [] });
      assert.equal(proxy.turns, 1);
    });
  }
});

describe('a new container', () => {
  const track = closeAfterEach();
  const redis = useRedisServer(['--requirepass', 'cold-pass']);

  it('publishes its first batch in one round trip after TCP, the password included', async () => {
    const proxy = track(await startTcpProxy(redis.port));
    proxy.delayMs = 15;
    const handler = track(
      createHandler({ env: { REDIS_URL: `redis://:cold-pass@127.0.0.1:${proxy.port}` }, logger: captureLogs().logger }),
    );

    const response = await handler(batchOf(2), lambdaContext());

    assert.deepEqual(response, { batchItemFailures: [] });
    // AUTH, INFO (is it a cluster?) and the script are written together: one turn of the conversation.
    assert.equal(proxy.turns, 1);
  });
});

describe('sending a batch', () => {
  it('makes one publisher call for a batch of several groups, and keeps each group in order', async () => {
    // Prepare
    const calls: string[][][] = [];
    const publisher: OrderedPublisher = {
      publishGroups(groups) {
        calls.push(
          groups.map((messages) =>
            messages.map((message) => ('body' in message ? String(JSON.parse(message.body).detail['instance-id']) : '')),
          ),
        );
        return Promise.resolve(groups.map((messages) => ({ answers: messages.map(() => 1) })));
      },
    };
    const records = ['a1', 'b1', 'c1', 'a2', 'b2'].map((id) =>
      sqsRecord({ body: stateChange(id, 'running'), group: `group-${id[0]}` }),
    );

    // Act
    const outcomes = await publishBatch(records, publisher, {
      topicPrefix: 'topic-',
      requireSubscriber: false,
      deadline: Date.now() + 5000,
      fallbackAccount: () => Promise.reject(new Error('every event names its account')),
    });

    // Assess
    assert.deepEqual(calls, [[['a1', 'a2'], ['b1', 'b2'], ['c1']]]);
    assert.deepEqual(
      outcomes.map(({ record: { messageId }, receivers, error }) => ({ messageId, receivers, error })),
      records.map(({ messageId }) => ({ messageId, receivers: 1, error: undefined })),
    );
  });
});
