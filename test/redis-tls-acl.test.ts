import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { INVENTORY_COMMANDS } from '../lambda/redis-script.ts';
import { freePort } from '../local/free-port.ts';
import { setLeastAclUser } from './helpers/acl.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { vpc } from './helpers/ec2-assets.ts';
import { runHandlerProcess } from './helpers/handler-process.ts';
import { assetState, at, CHANGES, snapshotPart } from './helpers/inventory-records.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent } from './helpers/records.ts';
import { type RedisServer, startRedisServer, useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';
import { makeCertificates, type TestCertificates } from './helpers/tls-certs.ts';

/** Every line a process wrote must be a JSON object: CloudWatch's JSON log format and metric filters read them. */
function assertJsonLines(lines: readonly string[]) {
  for (const line of lines) {
    let parsed: unknown;
    assert.doesNotThrow(() => {
      parsed = JSON.parse(line);
    }, `not JSON: ${line}`);
    assert.equal(typeof parsed, 'object', line);
  }
}

describe('TLS (rediss://) with a CA the test makes', () => {
  const track = closeAfterEach();
  let certs: TestCertificates;
  let redis: RedisServer;
  let tlsPort: number;
  before(async () => {
    certs = makeCertificates();
    tlsPort = await freePort();
    redis = await startRedisServer([
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      certs.cert,
      '--tls-key-file',
      certs.key,
      '--tls-ca-cert-file',
      certs.ca,
      '--tls-auth-clients',
      'no',
    ]);
  });
  after(async () => {
    await redis?.stop();
    certs?.remove();
  });

  it('publishes over TLS to the certificate name, trusting the CA from NODE_EXTRA_CA_CERTS', async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));

    const run = await runHandlerProcess({ REDIS_URL: `rediss://localhost:${tlsPort}`, NODE_EXTRA_CA_CERTS: certs.ca });
    await subscriber.waitFor(2);

    assert.deepEqual(run.response, { batchItemFailures: [] });
    assert.equal(subscriber.received.length, 2);
    assertJsonLines(run.stdout);
  });

  it('fails every record within seconds, with a clear line, when the address is not the certificate name', async () => {
    const started = performance.now();
    const run = await runHandlerProcess({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}`, NODE_EXTRA_CA_CERTS: certs.ca });

    assert.equal(run.response.batchItemFailures.length, 2);
    assert.ok(performance.now() - started < 10_000);
    assertJsonLines(run.stdout);
    assert.ok(
      run.stdout.some((line) => /IP: 127\.0\.0\.1 is not in the cert's list|altnames/i.test(line)),
      run.stdout.join('\n'),
    );
  });

  it('fails every record when the CA is not trusted, naming the certificate problem', async () => {
    const run = await runHandlerProcess({ REDIS_URL: `rediss://localhost:${tlsPort}` });

    assert.equal(run.response.batchItemFailures.length, 2);
    assertJsonLines(run.stdout);
    assert.ok(
      run.stdout.some((line) => /self[- ]signed|unable to (get|verify)/i.test(line)),
      run.stdout.join('\n'),
    );
    assert.ok(readFileSync(certs.ca, 'utf8').length > 0);
  });
});

describe('the least ACL user (documented in the README)', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('publishes under exactly that user, without +info, and prints nothing but JSON lines', async () => {
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await setLeastAclUser(admin, 'sync', 'sync-pass');
    const subscriber = track(await subscribe(redis.url, CHANNEL));

    const run = await runHandlerProcess({ REDIS_URL: `redis://sync:sync-pass@127.0.0.1:${redis.port}` });
    await subscriber.waitFor(2);

    assert.deepEqual(run.response, { batchItemFailures: [] });
    assert.deepEqual(run.stderr, []);
    assertJsonLines(run.stdout);
    assert.ok(!run.stdout.some((line) => line.includes('sync-pass')));
  });

  it('with the mirror on, needs only the streams and XADD besides', async () => {
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    await setLeastAclUser(admin, 'mirror', 'mirror-pass', [
      '~{management-events-sync}:topic-account-management-events-*',
      '+xadd',
    ]);

    const run = await runHandlerProcess({
      REDIS_URL: `redis://mirror:mirror-pass@127.0.0.1:${redis.port}`,
      STREAM_RETENTION_HOURS: '1',
      REDIS_CLUSTER: 'false',
    });

    assert.deepEqual(run.response, { batchItemFailures: [] });
    assert.equal(await admin.xlen(`{management-events-sync}:${CHANNEL}`), 2);
    assertJsonLines([...run.stdout, ...run.stderr]);
  });

  it('with the inventory on, needs its keys, the change feed and the commands docs/redis.md lists, nothing more', async () => {
    const admin = new Redis(redis.port, '127.0.0.1');
    track({ close: () => admin.disconnect() });
    // The user exactly as docs/redis.md writes it: the docs are what operators paste.
    const documented = readFileSync(new URL('../docs/redis.md', import.meta.url), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.startsWith('ACL SETUSER') && line.includes('&topic-account-asset-changes-*'));
    assert.ok(documented, 'docs/redis.md has the inventory user');
    const [, , user, ...rules] = documented.replace('>PASSWORD', '>inventory-pass').split(/\s+/);
    assert.deepEqual(
      rules.filter((rule) => rule.startsWith('+')),
      INVENTORY_COMMANDS.map((command) => `+${command}`),
      'docs/redis.md lists every command the inventory script calls, in the order lambda/redis-script.ts does',
    );
    await admin.call('ACL', 'SETUSER', user ?? '', ...rules);
    const changes = track(await subscribe(redis.url, CHANGES));
    const handler = track(
      createHandler({
        env: {
          REDIS_URL: `redis://sync:inventory-pass@127.0.0.1:${redis.port}`,
          INVENTORY: 'true',
          STREAM_RETENTION_HOURS: '1',
          REDIS_CLUSTER: 'false',
        },
        logger: captureLogs().logger,
      }),
    );
    const apply = async (...records: Parameters<typeof sqsEvent>[0]) =>
      (await handler(sqsEvent(records), lambdaContext())).batchItemFailures.map((failure) => failure.itemIdentifier);

    // Every command the script has: a description, a not-found, and a complete two-part snapshot that deletes.
    assert.deepEqual(await apply(assetState({ type: 'vpc', items: [vpc(1), vpc(2)], observedAt: at(-60) })), []);
    assert.deepEqual(await apply(assetState({ type: 'vpc', notFound: [vpc(1).VpcId ?? ''], observedAt: at(-30) })), []);
    const part = (n: number) =>
      snapshotPart({ snapshotId: 'acl', type: 'vpc', part: n, parts: 2, items: n === 1 ? [vpc(3)] : [], observedAt: at(0) });
    assert.deepEqual(await apply(part(1), part(2)), []);

    await changes.waitFor(5);
    assert.deepEqual(
      changes.received.map((item) => {
        const { change, id } = JSON.parse(item.message);
        return `${change} ${id}`;
      }),
      [
        `created ${vpc(1).VpcId}`,
        `created ${vpc(2).VpcId}`,
        `deleted ${vpc(1).VpcId}`,
        `created ${vpc(3).VpcId}`,
        `deleted ${vpc(2).VpcId}`,
      ],
    );
    assert.equal(await admin.xlen(`{management-events-sync}:${CHANGES}`), 5);
  });
});
