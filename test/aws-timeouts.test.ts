import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { accountFromSts } from '../lambda/account.ts';
import { readRedisSecret } from '../lambda/secret.ts';

/*
 * A VPC without NAT: the TCP connection opens (an interface endpoint or a proxy) but nothing ever answers. The SDK
 * clients must give up on their own instead of holding the invocation until the Lambda timeout.
 */
describe('STS and Secrets Manager that never answer', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  const saved = { ...process.env };
  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  after(async () => {
    process.env = saved;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives up within seconds, with an error that says which call failed', { timeout: 30_000 }, async () => {
    const started = performance.now();
    const [sts, secret] = await Promise.allSettled([
      accountFromSts({ region: 'us-east-1', budgetMs: 5000 }),
      readRedisSecret('arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf'),
    ]);
    const ms = performance.now() - started;

    assert.equal(sts.status, 'rejected');
    assert.equal(secret.status, 'rejected');
    assert.match(String((secret as PromiseRejectedResult).reason.message), /could not read the Redis secret/);
    // Two attempts of at most 2 s each (the SDK defaults would wait on the socket indefinitely).
    assert.ok(ms < 10_000, `gave up after ${Math.round(ms)} ms`);
  });
});
