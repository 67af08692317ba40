import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const STREAM = `{${CHANNEL}}:stream`;

describe('the durable mirror (STREAM_RETENTION_HOURS)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('lets a subscriber that was away read every event it missed from the stream, in order', async () => {
    // Prepare: a consumer reads live, notes the last stream entry, then goes away.
    const reader = new Redis(redis.port, '127.0.0.1');
    track({ close: () => reader.disconnect() });
    const handler = track(
      createHandler({ env: { REDIS_URL: redis.url, STREAM_RETENTION_HOURS: '24' }, logger: captureLogs().logger }),
    );
    const live = track(await subscribe(redis.url, CHANNEL));
    const seen = sqsRecord({ body: stateChange('i-1', 'pending') });
    assert.deepEqual(await handler(sqsEvent([seen]), lambdaContext()), { batchItemFailures: [] });
    await live.waitFor(1);
    const [[lastSeenId] = []] = (await reader.xrevrange(STREAM, '+', '-', 'COUNT', 1)) as [string, string[]][];
    await live.close();

    // Act: events published while nobody listens.
    const missed = [
      sqsRecord({ body: stateChange('i-1', 'running'), group: 'a' }),
      sqsRecord({ body: stateChange('i-2', 'running'), group: 'b' }),
      sqsRecord({ body: stateChange('i-1', 'stopping'), group: 'a' }),
    ];
    assert.deepEqual(await handler(sqsEvent(missed), lambdaContext()), { batchItemFailures: [] });

    // Assess: resuming after its last entry, the consumer gets exactly what it missed, bodies byte for byte, each
    // message group in order (a batch is appended group by group, as it is published).
    const entries = (await reader.xrange(STREAM, `(${lastSeenId}`, '+')) as [string, string[]][];
    assert.deepEqual(
      entries.map(([, fields]) => fields),
      [missed[0], missed[2], missed[1]].map((record) => ['event', record?.body]),
    );
  });

  it('trims entries older than the retention', async () => {
    const reader = new Redis(redis.port, '127.0.0.1');
    track({ close: () => reader.disconnect() });
    await reader.del(STREAM);
    // An entry from three hours ago, then a batch with one hour of retention.
    const old = Date.now() - 3 * 3_600_000;
    await reader.xadd(STREAM, `${old}-0`, 'event', '{"old":true}');
    const handler = track(
      createHandler({ env: { REDIS_URL: redis.url, STREAM_RETENTION_HOURS: '1' }, logger: captureLogs().logger }),
    );
    const records = [sqsRecord({ body: stateChange('i-1', 'running') })];
    assert.deepEqual(await handler(sqsEvent(records), lambdaContext()), { batchItemFailures: [] });

    const entries = (await reader.xrange(STREAM, '-', '+')) as [string, string[]][];
    assert.deepEqual(
      entries.map(([, fields]) => fields[1]),
      [records[0]?.body],
    );
  });

  it('fails a record whose append is refused, and holds back its group (the FIFO rules apply)', async () => {
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await admin.call(
      'ACL',
      'SETUSER',
      'nostream',
      'on',
      '>pw',
      'resetchannels',
      '&*',
      'resetkeys',
      '~{management-events-sync}',
      '+eval',
      '+publish',
      '+info',
    );
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const handler = track(
      createHandler({
        env: { REDIS_URL: `redis://nostream:pw@127.0.0.1:${redis.port}`, STREAM_RETENTION_HOURS: '1' },
        logger: captureLogs().logger,
      }),
    );
    const records = [sqsRecord({ body: stateChange('i-1', 'running') }), sqsRecord({ body: stateChange('i-1', 'stopping') })];

    const response = await handler(sqsEvent(records), lambdaContext());

    assert.deepEqual(response, { batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.deepEqual(subscriber.received, []);
  });
});
