import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import type { Logger } from '../lambda/log.ts';
import { parseRedisSecret } from '../lambda/secret.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-auth-AbCdEf';
const PASSWORD = 'first-Pa55word-from-the-secret';
const ROTATED = 'rotated-Pa55word-from-the-secret';

function batch() {
  return sqsEvent([sqsRecord({ body: stateChange('i-1', 'running') }), sqsRecord({ body: stateChange('i-1', 'stopped') })]);
}

describe('Redis password from Secrets Manager', () => {
  const handlerWithSecret = (logger: Logger) =>
    createHandler({
      env: {
        REDIS_URL: redis.url,
        REDIS_AUTH_SECRET_ARN: SECRET_ARN,
        REDIS_CONNECT_TIMEOUT_MS: '300',
        REDIS_COMMAND_TIMEOUT_MS: '300',
      },
      logger,
    });
  const track = closeAfterEach();
  const secrets = mockClient(SecretsManagerClient);
  /** Rotation: the password changes and the function's connection drops, so it must authenticate again. */
  const rotatePassword = async () => {
    await admin.config('SET', 'requirepass', ROTATED);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  };
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedisServer(['--requirepass', PASSWORD]);
    admin = new Redis({ port: redis.port, password: PASSWORD });
  });
  beforeEach(async () => {
    secrets.reset();
    await admin.config('SET', 'requirepass', PASSWORD);
  });
  after(async () => {
    admin.disconnect();
    secrets.restore();
    await redis.stop();
  });

  it('authenticates with the password read from the secret, and logs it nowhere', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: PASSWORD });
    const logs = captureLogs();
    const subscriber = track(await subscribe(`redis://:${PASSWORD}@127.0.0.1:${redis.port}`, CHANNEL));
    const handler = track(
      createHandler({ env: { REDIS_URL: redis.url, REDIS_AUTH_SECRET_ARN: SECRET_ARN }, logger: logs.logger }),
    );

    const first = await handler(batch(), lambdaContext());
    const second = await handler(batch(), lambdaContext());
    await subscriber.waitFor(4);

    assert.deepEqual(first, { batchItemFailures: [] });
    assert.deepEqual(second, { batchItemFailures: [] });
    assert.equal(secrets.commandCalls(GetSecretValueCommand).length, 1, 'read once per container, at cold start');
    assert.ok(logs.lines.length > 0);
    assert.ok(!logs.lines.some((line) => line.includes(PASSWORD)));
  });

  it('fails every record without logging the password when Redis rejects it', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'default', password: 'wrong-Pa55word' }) });
    const logs = captureLogs();
    const handler = track(handlerWithSecret(logs.logger));

    const response = await handler(batch(), lambdaContext());

    assert.equal(response.batchItemFailures.length, 2);
    assert.ok(
      logs.lines.some((line) => /WRONGPASS|invalid/i.test(line)),
      'the reason is logged',
    );
    assert.ok(!logs.lines.some((line) => line.includes('wrong-Pa55word')));
  });

  it('reads the secret again after an authentication failure (rotation) and recovers', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: PASSWORD }).resolves({ SecretString: ROTATED });
    const logs = captureLogs();
    const handler = track(handlerWithSecret(logs.logger));
    assert.deepEqual(await handler(batch(), lambdaContext()), { batchItemFailures: [] });
    await rotatePassword();
    const during = await handler(batch(), lambdaContext());
    assert.equal(during.batchItemFailures.length, 2);
    // The function learns of the rejection when it reconnects; an invocation after that reads the secret again.
    let afterRotation = during;
    const deadline = Date.now() + 5000;
    while (afterRotation.batchItemFailures.length > 0 && Date.now() < deadline) {
      await sleep(50);
      afterRotation = await handler(batch(), lambdaContext());
    }

    assert.deepEqual(afterRotation, { batchItemFailures: [] });
    assert.equal(secrets.commandCalls(GetSecretValueCommand).length, 2);
    assert.equal(logs.withMessage('redis rejected the credentials: reading the Redis secret again').length, 1);
    assert.ok(!logs.lines.some((line) => line.includes(PASSWORD) || line.includes(ROTATED)));
  });

  it('gives two invocations that meet the rejected password together the new client, never the closed one', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: PASSWORD }).resolves({ SecretString: ROTATED });
    const logs = captureLogs();
    const handler = track(handlerWithSecret(logs.logger));
    assert.deepEqual(await handler(batch(), lambdaContext()), { batchItemFailures: [] });
    await rotatePassword();
    const listening = track(await subscribe(`redis://:${ROTATED}@127.0.0.1:${redis.port}`, CHANNEL));
    // The next invocation meets the old password on a new connection: Redis rejects it, and the client knows.
    const rejected = await handler(batch(), lambdaContext());
    assert.equal(rejected.batchItemFailures.length, 2);
    assert.match(errorOf(logs.withMessage('record failed')[0]).message, /WRONGPASS|invalid username-password/);

    // Act: two concurrent invocations (the local poller runs two) find the client rejected at the same moment.
    const [a, b] = await Promise.all([handler(batch(), lambdaContext()), handler(batch(), lambdaContext())]);
    await listening.waitFor(4);

    // Assess
    assert.deepEqual([a, b], [{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    assert.equal(secrets.commandCalls(GetSecretValueCommand).length, 2);
    assert.ok(!logs.lines.some((line) => line.includes(PASSWORD) || line.includes(ROTATED)));
  });

  it('fails every record with a clear reason when the secret cannot be read, and tries again next time', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('connect ETIMEDOUT secretsmanager'))
      .resolves({ SecretString: PASSWORD });
    const logs = captureLogs();
    const handler = track(
      createHandler({ env: { REDIS_URL: redis.url, REDIS_AUTH_SECRET_ARN: SECRET_ARN }, logger: logs.logger }),
    );

    const first = await handler(batch(), lambdaContext());
    const second = await handler(batch(), lambdaContext());

    assert.equal(first.batchItemFailures.length, 2);
    const failed = logs.withMessage('record failed')[0];
    assert.equal(errorOf(failed).name, 'RedisSecretError');
    assert.match(errorOf(failed).message, /ETIMEDOUT/);
    assert.deepEqual(second, { batchItemFailures: [] });
  });
});

describe('the Redis secret format', () => {
  it('takes a plain string as the password', () => {
    assert.deepEqual(parseRedisSecret('p@ss{word'), { password: 'p@ss{word' });
  });
  it('takes JSON with password and username', () => {
    assert.deepEqual(parseRedisSecret('{"username":"sync","password":"pw"}'), { username: 'sync', password: 'pw' });
  });
  it('rejects JSON without a password, without quoting the secret', () => {
    assert.throws(
      () => parseRedisSecret('{"pass":"hunter2"}'),
      (error: Error) => {
        assert.match(error.message, /"password"/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });
  it('rejects broken JSON without quoting the secret', () => {
    assert.throws(
      () => parseRedisSecret('{"password":"hunter2"'),
      (error: Error) => !error.message.includes('hunter2'),
    );
  });
});
