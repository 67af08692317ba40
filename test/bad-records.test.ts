import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { ACCOUNT, CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange, tagChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const BAD_BODIES: [string, string, RegExp][] = [
  ['invalid JSON', '{"source": "aws.ec2",', /not valid JSON/],
  ['an array', '[{"source":"aws.ec2"}]', /an array/],
  ['a string', '"running"', /a string/],
  ['a number', '42', /a number/],
  ['null', 'null', /null/],
  ['empty', '', /empty/],
  ['white space', '  \n', /empty/],
];

const INSTANCE = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`;

describe('records that cannot be published', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  for (const [kind, body, reason] of BAD_BODIES) {
    it(`fails a body that is ${kind}, logs why, and lets the other group through`, async () => {
      const logs = captureLogs();
      const subscriber = track(await subscribe(redis.url, CHANNEL));
      const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
      const bad = sqsRecord({ body, group: 'ec2-instances-events' });
      const good = sqsRecord({ body: tagChange(INSTANCE, ['Name'], { Name: 'a' }), group: 'management-events-tags' });

      const response = await handler(sqsEvent([bad, good]), lambdaContext());
      await subscriber.waitFor(1);

      assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: bad.messageId }] });
      assert.deepEqual(
        subscriber.received.map((item) => item.message),
        [good.body],
      );
      const errors = logs.entries().filter((entry) => entry.level === 'ERROR');
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.messageId, bad.messageId);
      assert.equal(errors[0]?.group, 'ec2-instances-events');
      const error = errors[0]?.error as { name: string; message: string };
      assert.equal(error.name, 'InvalidBodyError');
      assert.match(error.message, reason);
    });
  }

  it('stops a group at a bad body mid-group: the records behind it fail unpublished, the other group goes through', async () => {
    // Prepare
    const logs = captureLogs();
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    const ec2 = [
      sqsRecord({ body: stateChange('i-1', 'pending') }),
      sqsRecord({ body: stateChange('i-1', 'running') }),
      sqsRecord({ body: '{oops' }),
      sqsRecord({ body: stateChange('i-1', 'stopping') }),
      sqsRecord({ body: stateChange('i-1', 'stopped') }),
    ];
    const tags = [1, 2, 3].map((n) =>
      sqsRecord({ body: tagChange(INSTANCE, ['n'], { n: String(n) }), group: 'management-events-tags' }),
    );
    const records = [ec2[0], tags[0], ec2[1], ec2[2], tags[1], ec2[3], tags[2], ec2[4]].map((r) => r as (typeof ec2)[0]);

    // Act
    const response = await handler(sqsEvent(records), lambdaContext());
    await subscriber.waitFor(5);

    // Assess
    assert.deepEqual(
      response.batchItemFailures.map((failure: { itemIdentifier: string }) => failure.itemIdentifier),
      [ec2[2], ec2[3], ec2[4]].map((record) => record?.messageId),
    );
    const got = subscriber.received.map((item) => item.message);
    assert.deepEqual(
      got.filter((m) => m.includes('aws.ec2')),
      [ec2[0]?.body, ec2[1]?.body],
    );
    assert.deepEqual(
      got.filter((m) => m.includes('aws.tag')),
      tags.map((record) => record.body),
    );
    const heldBack = logs.withMessage('held back behind a failed record of its group');
    assert.deepEqual(
      heldBack.map((entry) => entry.messageId),
      [ec2[3]?.messageId, ec2[4]?.messageId],
    );
    assert.match(errorOf(heldBack[0]).message, new RegExp(ec2[2]?.messageId as string));
  });

  it('stops a group where Redis refuses a PUBLISH (ACL NOPERM on its channel), and publishes nothing behind it', async () => {
    // Prepare: a user with the least rights the function needs, allowed on one account's channel only.
    const admin = new Redis(redis.url);
    await admin.call(
      'ACL',
      'SETUSER',
      'sync',
      'on',
      '>sync-pass',
      'resetchannels',
      `&${CHANNEL}`,
      'resetkeys',
      '~{management-events-sync}',
      '+eval',
      '+publish',
      '+info',
    );
    admin.disconnect();
    const otherAccount = '999999999999';
    const logs = captureLogs();
    const subscriber = track(await subscribe(redis.url, CHANNEL, `topic-account-management-events-${otherAccount}`));
    const url = `redis://sync:sync-pass@127.0.0.1:${redis.port}`;
    const handler = track(createHandler({ env: { REDIS_URL: url }, logger: logs.logger }));
    const ec2 = [
      sqsRecord({ body: stateChange('i-1', 'pending') }),
      sqsRecord({ body: stateChange('i-2', 'running', otherAccount) }),
      sqsRecord({ body: stateChange('i-1', 'running') }),
    ];
    const tag = sqsRecord({ body: tagChange(INSTANCE, ['Name'], { Name: 'x' }), group: 'management-events-tags' });

    // Act
    const response = await handler(sqsEvent([ec2[0], tag, ec2[1], ec2[2]].map((r) => r as typeof tag)), lambdaContext());
    await subscriber.waitFor(2);

    // Assess
    assert.deepEqual(response, {
      batchItemFailures: [{ itemIdentifier: ec2[1]?.messageId }, { itemIdentifier: ec2[2]?.messageId }],
    });
    assert.deepEqual(subscriber.received.map((item) => item.message).sort(), [ec2[0]?.body, tag.body].sort());
    const refused = logs.withMessage('record failed')[0];
    assert.equal(refused?.messageId, ec2[1]?.messageId);
    // Redis 7.0 words an ACL refusal inside a script differently from 7.2+ (NOPERM).
    assert.match(errorOf(refused).message, /NOPERM|can't publish to the channel/);
    assert.ok(!logs.lines.some((line) => line.includes('sync-pass')), 'the password appears in no log line');
  });
});
