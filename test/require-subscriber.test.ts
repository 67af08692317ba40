import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

describe('nobody listening on the channel', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('publishes with a warning and counts it when REQUIRE_SUBSCRIBER is off (the default)', async () => {
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    const event = sqsEvent([
      sqsRecord({ body: stateChange('i-1', 'running') }),
      sqsRecord({ body: stateChange('i-1', 'stopping') }),
    ]);

    const response = await handler(event, lambdaContext());

    assert.deepEqual(response, { batchItemFailures: [] });
    const warnings = logs.withMessage('published to no subscriber');
    assert.equal(warnings.length, 2);
    assert.equal(warnings[0]?.level, 'WARN');
    assert.equal(warnings[0]?.receivers, 0);
    const summary = logs.withMessage('batch processed')[0];
    assert.equal(summary?.zeroReceivers, 2);
    assert.equal(summary?.ZeroReceiverPublishes, 2);
  });

  it('fails the record and holds back the rest of its group when REQUIRE_SUBSCRIBER is on', async () => {
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url, REQUIRE_SUBSCRIBER: 'true' }, logger: logs.logger }));
    const nobody = '999999999999';
    const unheard = [
      sqsRecord({ body: stateChange('i-1', 'running', nobody), group: 'a' }),
      sqsRecord({ body: stateChange('i-1', 'stopping', nobody), group: 'a' }),
    ];
    const heard = sqsRecord({ body: stateChange('i-2', 'running'), group: 'b' });
    const subscriber = track(await subscribe(redis.url, CHANNEL));

    const response = await handler(sqsEvent([unheard[0], heard, unheard[1]].map((r) => r as typeof heard)), lambdaContext());
    await subscriber.waitFor(1);

    assert.deepEqual(response, {
      batchItemFailures: unheard.map((record) => ({ itemIdentifier: record.messageId })),
    });
    // The script stopped at the zero-receiver PUBLISH: the group's second record never reached Redis.
    const failed = logs.withMessage('record failed');
    assert.equal(failed.length, 1);
    assert.equal(errorOf(failed[0]).name, 'NoSubscriberError');
    assert.equal(failed[0]?.receivers, 0);
    const heldBack = logs.withMessage('held back behind a failed record of its group');
    assert.equal(heldBack[0]?.receivers, undefined);
    assert.equal(logs.withMessage('batch processed')[0]?.zeroReceivers, 1);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [heard.body],
    );
  });
});
