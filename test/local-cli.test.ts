import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startLocalQueue } from '../local/local-queue.ts';
import { routeEvents, sendToQueue } from '../local/router.ts';
import { describeStreams } from '../local/stream-catch-up.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { CHANNEL, sampleEvents } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

/** Without `input`, stdin is /dev/null: no input at all, as in CI. */
function run(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  child.stdin?.end(options.input);
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, exited, output: () => stdout + stderr };
}

describe('npm start', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('replays the shipped sample events through the whole pipeline and exits 0 when all are delivered', {
    timeout: 60_000,
  }, async () => {
    const { exited } = run([], { env: { REDIS_URL: redis.url } });
    const { code, stdout } = await exited;

    const lines = stdout.trim().split('\n');
    const { routed, unmatched } = routeEvents(sampleEvents());
    assert.equal(code, 0, stdout);
    assert.equal(lines.at(-1), `delivered ${routed.length}/${routed.length} events, 0 dead-lettered`);
    assert.equal(lines.filter((line) => line.startsWith('inventory <- ')).length, routed.length);
    assert.equal(lines.filter((line) => line.startsWith('skipped ')).length, unmatched.length);
    assert.ok(
      lines.some((line) => /skipped \S+: no rule matches: management-events-api-calls fails on detail\.errorCode/.test(line)),
    );
    assert.ok(lines.some((line) => /AWS API Call via CloudTrail {2}subnet-0c1d2e3f4a5b6c7d8 {2}call=CreateSubnet/.test(line)));
    assert.ok(lines.some((line) => /AWS API Call via CloudTrail {2}vpc-0b1c2d3e4f5a6b7c8 {2}call=DeleteVpc/.test(line)));
    assert.ok(lines.some((line) => /EC2 Instance State-change Notification {2}i-0a1b2c3d4e5f67890 {2}state=stopped/.test(line)));
    assert.ok(
      lines.some((line) => /Tag Change on Resource {2}subnet\/subnet-0abcdef1234567890 {2}tags changed: Name, tier/.test(line)),
    );
  });

  it('--inventory: the samples change a simulated EC2, the inventory follows, one reconcile finds it whole, the table shows it', {
    timeout: 60_000,
  }, async () => {
    const admin = new Redis(redis.url);
    track({ close: () => admin.disconnect() });
    await admin.flushall();

    const { code, stdout } = await run(['--inventory'], { env: { REDIS_URL: redis.url } }).exited;

    const lines = stdout.trim().split('\n');
    assert.equal(code, 0, stdout);
    // The raw events still reach the seed's channel, and the change feed says what the inventory learned.
    assert.equal(lines.filter((line) => line.startsWith('inventory <- ')).length, routeEvents(sampleEvents()).routed.length);
    assert.ok(
      lines.some((line) =>
        /^changes <- topic-account-asset-changes-123456789012 {2}created {2}instance {2}i-0a1b2c3d4e5f67890 {2}stopped {2}web-1$/.test(
          line,
        ),
      ),
    );
    // The live events missed nothing the samples changed; the default VPC, which no event named, was loaded.
    assert.ok(
      lines.some((line) => /^reconcile \S+: it corrected 0 missed creates, 0 missed changes, 0 missed deletes;/.test(line)),
    );
    // The table, as Redis holds it: the terminated instance and the deleted VPC are tombstones.
    const row = (pattern: RegExp) => lines.find((line) => pattern.test(line));
    assert.ok(row(/^ {2}instance {2}i-0a1b2c3d4e5f67890 +us-east-1 +stopped +web-1 /));
    assert.ok(row(/^ {2}instance {2}i-0fedcba9876543210 +us-east-1 +deleted \(terminated\) /));
    assert.ok(row(/^ {2}vpc {7}vpc-0b1c2d3e4f5a6b7c8 +us-east-1 +deleted \(not-found\) /));
    const records = await admin.hgetall('{management-events-sync}:inventory:123456789012:us-east-1');
    assert.equal(lines.filter((line) => /^ {2}(instance|vpc|subnet) /.test(line)).length, Object.keys(records).length);
    assert.equal(
      lines.at(-1),
      `delivered ${routeEvents(sampleEvents()).routed.length}/${routeEvents(sampleEvents()).routed.length} events, 0 dead-lettered`,
    );
  });

  it("with STREAM_RETENTION_HOURS, leaves every delivered event in its account's stream for a consumer that was away", {
    timeout: 60_000,
  }, async () => {
    const stream = '{management-events-sync}:topic-account-management-events-123456789012';
    const reader = new Redis(redis.port, '127.0.0.1');
    track({ close: () => reader.disconnect() });
    await reader.del(stream);

    const { exited } = run([], { env: { REDIS_URL: redis.url, STREAM_RETENTION_HOURS: '1' } });
    const { code, stdout } = await exited;

    assert.equal(code, 0, stdout);
    const { routed } = routeEvents(sampleEvents());
    const entries = (await reader.xrange(stream, '-', '+')) as [string, string[]][];
    assert.deepEqual(
      entries.map(([, fields]) => (JSON.parse(fields[1] ?? '{}') as { id: string }).id).sort(),
      routed.map((event) => event.id).sort(),
    );
    assert.ok(stdout.includes(`stream ${stream}: ${routed.length} entries`), stdout);
  });

  it('says "1 entry" of a stream that holds one', async () => {
    const reader = new Redis(redis.port, '127.0.0.1');
    track({ close: () => reader.disconnect() });
    const key = '{management-events-sync}:topic-account-management-events-999999999999';
    await reader.del(key);
    await reader.xadd(key, '*', 'event', JSON.stringify({ id: 'only-one' }));

    const lines = await describeStreams(redis.url, 'topic-account-management-events-');

    assert.ok(
      lines.includes(
        `stream ${key}: 1 entry, from only-one to only-one (a consumer that was away: XRANGE '${key}' '(<its last entry id>' +)`,
      ),
      lines.join('\n'),
    );
    await reader.del(key);
  });

  it('puts the events of two member accounts on their two channels (an organization, central account)', {
    timeout: 60_000,
  }, async () => {
    const file = new URL('../events/organization-events.jsonl', import.meta.url).pathname;
    const channels = ['111111111111', '222222222222'].map((account) => `topic-account-management-events-${account}`);
    const subscriber = track(await subscribe(redis.url, ...channels));

    const { exited } = run(['--events', file], { env: { REDIS_URL: redis.url } });
    const { code, stdout } = await exited;
    await subscriber.waitFor(4);

    assert.equal(code, 0, stdout);
    for (const channel of channels) {
      const bodies = subscriber.on(channel).map((item) => JSON.parse(item.message) as { account: string });
      assert.equal(bodies.length, 2, channel);
      assert.ok(bodies.every((event) => channel.endsWith(event.account)));
      assert.equal(stdout.split('\n').filter((line) => line.startsWith(`inventory <- ${channel} `)).length, 2);
    }
  });

  it('starts its own redis-server when REDIS_URL is not set, and stops it', { timeout: 60_000 }, async () => {
    const { exited } = run([], { env: { REDIS_URL: '' } });
    const { code, stdout } = await exited;
    assert.equal(code, 0, stdout);
    const port = /throwaway redis-server on port (\d+)/.exec(stdout)?.[1];
    assert.ok(port !== undefined, stdout);
    const probe = connect(Number(port), '127.0.0.1');
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED', 'the redis-server it started is gone');
  });

  it('does not leave its redis-server behind when it dies (here: its stdout closed, as with `| head -1`)', {
    timeout: 60_000,
  }, async () => {
    const { child, exited } = run([], { env: { REDIS_URL: '' } });
    const port = await new Promise<string>((resolve) => {
      child.stdout?.on('data', (chunk) => {
        const match = /redis-server on port (\d+)/.exec(String(chunk));
        if (match?.[1] !== undefined) resolve(match[1]);
      });
    });
    child.stdout?.destroy();
    await exited;

    const probe = connect(Number(port), '127.0.0.1');
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');
  });

  it('replays JSON lines from stdin, reporting what no rule matches and what is not JSON (exit 1: input was lost)', {
    timeout: 60_000,
  }, async () => {
    const [first, second] = sampleEvents();
    const input = [
      JSON.stringify(first),
      'not json',
      JSON.stringify({ id: 's3-1', source: 'aws.s3', 'detail-type': 'Object Created' }),
      JSON.stringify(second),
    ].join('\n');
    const { exited } = run([], { input, env: { REDIS_URL: redis.url } });
    const { code, stdout } = await exited;
    assert.equal(code, 1, stdout);
    assert.match(stdout, /skipped line 2: not JSON/);
    assert.match(stdout, /skipped s3-1: no rule matches source aws.s3/);
    assert.match(stdout, /delivered 2\/2 events, 0 dead-lettered; 1 input line or item not read as an event\n$/);
  });

  it('replays an --events file holding a JSON array or an {"Events": [...]} export', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'events-'));
    const file = join(dir, 'archive.json');
    writeFileSync(file, JSON.stringify({ Events: sampleEvents().slice(0, 3) }));
    const { exited } = run(['--events', file], { env: { REDIS_URL: redis.url } });
    const { code, stdout } = await exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, stdout);
    assert.match(stdout, new RegExp(`reading events from ${file}`));
    assert.match(stdout, /delivered 3\/3 events, 0 dead-lettered\n$/);
  });

  it('--follow delivers events as lines arrive on stdin and stops on Ctrl-C', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [MAIN, '--follow'], {
      env: { ...process.env, REDIS_URL: redis.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track({ close: () => void child.kill('SIGKILL') });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    const inventoryLines = () => stdout.split('\n').filter((line) => line.startsWith('inventory <- '));
    const [first, second] = sampleEvents();
    const exited = once(child, 'exit');

    child.stdin.write(`${JSON.stringify(first)}\n`);
    await waitUntil(() => inventoryLines().length === 1);
    child.stdin.write(`${JSON.stringify(second)}\n`);
    await waitUntil(() => inventoryLines().length === 2);
    child.kill('SIGINT');
    const [code] = await exited;

    assert.equal(code, 130);
    assert.match(inventoryLines()[0] ?? '', /state=pending/);
    assert.match(inventoryLines()[1] ?? '', /tags changed: Name, env/);
  });

  it('Ctrl-C ends a run with exit 130 and the summary of what was delivered so far', { timeout: 60_000 }, async () => {
    const [first, second] = sampleEvents();
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, REDIS_URL: redis.url }, stdio: 'pipe' });
    track({ close: () => void child.kill('SIGKILL') });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    const exited = once(child, 'exit');

    // stdin stays open: the run is still reading when the signal comes.
    child.stdin.write(`${JSON.stringify(first)}\n${JSON.stringify(second)}\n`);
    await waitUntil(() => stdout.split('\n').filter((line) => line.startsWith('inventory <- ')).length === 2);
    child.kill('SIGINT');
    const [code] = await exited;

    assert.equal(code, 130);
    assert.match(stdout, /\nSIGINT: stopped; delivered 2\/2 events, 0 dead-lettered\n$/);
  });

  it('says how to get Redis when there is neither REDIS_URL nor redis-server', { timeout: 60_000 }, async () => {
    const { exited } = run([], { env: { REDIS_URL: '', REDIS_SERVER_BIN: '/nonexistent/redis-server' } });
    const { code, stdout, stderr } = await exited;
    assert.equal(code, 2, stdout + stderr);
    assert.match(stderr, /redis-server not found .*apt-get install -y redis-server/);
    assert.match(stderr, /REDIS_URL/);
  });

  it('exits 1 when an event is not delivered', { timeout: 60_000 }, async () => {
    // A Redis user that may not PUBLISH: every record fails and, after maxReceiveCount, is dead-lettered, not dropped.
    const admin = new Redis(redis.url);
    track({ close: () => admin.quit().then(() => undefined) });
    await admin.call('ACL', 'SETUSER', 'nopublish', 'reset', 'on', '>pw', '~*', '&*', '+@all', '-publish');
    const [first] = sampleEvents();
    const { exited } = run(['--max-receive-count', '1', '--visibility-timeout', '1'], {
      input: JSON.stringify(first),
      env: { REDIS_URL: `redis://nopublish:pw@127.0.0.1:${redis.port}` },
    });
    const { code, stdout } = await exited;
    assert.equal(code, 1, stdout);
    assert.match(stdout, /delivered 0\/1 events, 1 dead-lettered\n$/);
    // Where it went, without the user name or password.
    assert.match(stdout, new RegExp(`^redis: REDIS_URL \\(redis://127\\.0\\.0\\.1:${redis.port}\\)$`, 'm'));
    assert.doesNotMatch(stdout, /nopublish|pw@/);
  });

  it("poll mode: consumes a real SQS API endpoint with the poller's flags (--concurrency too), deletes what it published, and exits cleanly on SIGTERM", {
    timeout: 60_000,
  }, async () => {
    const queue = track(await startLocalQueue({ region: 'us-east-1', maxReceiveCount: 5, visibilityTimeoutSeconds: 5 }));
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const { routed } = routeEvents(sampleEvents());
    await sendToQueue(queue.sqs, queue.queueUrl, routed);

    // The SDK sends to the queue URL's host, as it does with real SQS: a loopback URL for the local server.
    const local = new URL(queue.queueUrl);
    local.hostname = '127.0.0.1';
    const args = ['--queue-url', local.href, '--region', 'us-east-1', '--wait-time-seconds', '1', '--concurrency', '3'];
    const { child, exited, output } = run(args, {
      env: { REDIS_URL: redis.url, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
    });
    track({ close: () => void child.kill('SIGKILL') });
    await subscriber.waitFor(routed.length, 30_000);
    const deadline = Date.now() + 10_000;
    while (!(await queueEmpty(queue)) && Date.now() < deadline) await sleep(50);
    child.kill('SIGTERM');
    const { code } = await exited;

    assert.equal(code, 0, output());
    assert.match(output(), /finishing the receives and batches in flight/);
    assert.ok(await queueEmpty(queue), 'published messages were deleted');
    assert.deepEqual(
      subscriber.received.map((item) => JSON.parse(item.message).id).sort(),
      routed.map((event) => event.id).sort(),
    );
  });
});

async function queueEmpty(queue: Awaited<ReturnType<typeof startLocalQueue>>): Promise<boolean> {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  const { Attributes } = await queue.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages) === 0 && Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0;
}

async function waitUntil(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
