import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const UNKNOWN = 'outcome unknown: Redis may have published it; SQS delivers it again';

describe('a call that went out and got no answer in time', () => {
  const track = closeAfterEach();
  const redis = useRedisServer(['--enable-debug-command', 'yes']);

  it('fails its records as outcome unknown, not as unpublished, and Redis may publish them after all', async () => {
    // Prepare
    const logs = captureLogs();
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' }, logger: logs.logger }));
    assert.deepEqual(await handler(sqsEvent([sqsRecord({ body: stateChange('i-0', 'warm') })]), lambdaContext()), {
      batchItemFailures: [],
    });
    await subscriber.waitFor(1);
    const records = [
      sqsRecord({ body: stateChange('i-1', 'running'), group: 'a' }),
      sqsRecord({ body: stateChange('i-1', 'stopping'), group: 'a' }),
      sqsRecord({ body: stateChange('i-2', 'running'), group: 'b' }),
    ];
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await admin.ping();

    // Act: Redis is busy for 1.5 s, far past the command timeout.
    const busy = admin.call('DEBUG', 'SLEEP', '1.5');
    const response = await handler(sqsEvent(records), lambdaContext());
    await busy;
    await subscriber.waitFor(1 + records.length);

    // Assess
    assert.deepEqual(response, { batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) });
    const unknown = logs.withMessage(UNKNOWN);
    assert.deepEqual(
      unknown.map((line) => line.messageId),
      records.map((record) => record.messageId),
    );
    assert.ok(unknown.every((line) => line.outcome === 'unknown' && errorOf(line).name === 'OutcomeUnknownError'));
    assert.equal(logs.withMessage('held back behind a failed record of its group').length, 0);
    const summary = logs.withMessage('batch processed')[1];
    assert.equal(summary?.outcomeUnknown, 3);
    assert.equal(summary?.RecordsOutcomeUnknown, 3);
    // The late answer: Redis ran the script once it woke up, so SQS's redelivery will be a duplicate.
    assert.deepEqual(
      subscriber.received.slice(1).map((item) => item.message),
      records.map((record) => record.body),
    );
  });
});
