import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

/** A context whose invocation has `ms` left, as Lambda's would near a short timeout. */
function withRemaining(ms: number): Context {
  const started = Date.now();
  return { ...lambdaContext(), getRemainingTimeInMillis: () => ms - (Date.now() - started) };
}

async function timed<T>(work: Promise<T>) {
  const started = performance.now();
  const result = await work;
  return { result, ms: performance.now() - started };
}

const batch = () =>
  sqsEvent([sqsRecord({ body: stateChange('i-1', 'running') }), sqsRecord({ body: stateChange('i-1', 'stopping') })]);

/*
 * Everything an invocation waits for ends before the Lambda timeout, so the function always returns its own partial
 * batch response (every record failed where nothing could be done) instead of being killed with the batch unanswered.
 */
describe('the invocation time budget', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();
  let silent: Server;
  const sockets = new Set<Socket>();
  const saved = { ...process.env };
  before(async () => {
    // Secrets Manager behind a VPC endpoint that accepts the connection and never answers.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  after(async () => {
    process.env = saved;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('answers within the time left when the secret read hangs (its own budget is 5 s)', async () => {
    const handler = track(
      createHandler({
        env: {
          REDIS_URL: redis.url,
          REDIS_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf',
        },
        logger: captureLogs().logger,
      }),
    );

    const { result, ms } = await timed(handler(batch(), withRemaining(2500)));

    assert.equal(result.batchItemFailures.length, 2);
    assert.ok(ms < 2500, `answered after ${Math.round(ms)} ms of 2500`);
  });

  it('answers within the time left when Redis stalls before the client is ready', async () => {
    const proxy = track(await startTcpProxy(redis.port));
    proxy.setMode('stall');
    const handler = track(
      createHandler({
        env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_CONNECT_TIMEOUT_MS: '2000', REDIS_COMMAND_TIMEOUT_MS: '2000' },
        logger: captureLogs().logger,
      }),
    );

    const { result, ms } = await timed(handler(batch(), withRemaining(1800)));

    assert.equal(result.batchItemFailures.length, 2);
    assert.ok(ms < 1800, `answered after ${Math.round(ms)} ms of 1800`);
  });

  it('answers within the time left when a written call goes unanswered', async () => {
    const proxy = track(await startTcpProxy(redis.port));
    const handler = track(
      createHandler({
        env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_COMMAND_TIMEOUT_MS: '2000' },
        logger: captureLogs().logger,
      }),
    );
    assert.deepEqual(await handler(batch(), lambdaContext()), { batchItemFailures: [] });
    proxy.setMode('stall');

    const { result, ms } = await timed(handler(batch(), withRemaining(1600)));

    assert.equal(result.batchItemFailures.length, 2);
    assert.ok(ms < 1600, `answered after ${Math.round(ms)} ms of 1600`);
  });
});
