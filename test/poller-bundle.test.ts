import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildPoller } from '../local/build-poller.ts';
import { freePort } from '../local/free-port.ts';
import { type LoopbackSqs, startLoopbackSqs } from '../local/loopback-sqs.ts';
import { startSqsFifoServer } from '../local/sqs-fifo/server.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { hasStackTrace, runCli } from './helpers/cli.ts';
import { startMetadataListener } from './helpers/metadata-listener.ts';
import { ACCOUNT, FUNCTION_ACCOUNT } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const channel = (account: string) => `topic-account-management-events-${account}`;

function stateChange(id: string, account: string, region: string): string {
  return JSON.stringify({
    version: '0',
    id,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account,
    time: '2026-11-20T10:00:00Z',
    region,
    resources: [`arn:aws:ec2:${region}:${account}:instance/i-${id}`],
    detail: { 'instance-id': `i-${id}`, state: 'running' },
  });
}

describe('dist/poller.mjs, alone in an empty folder', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();
  let runDir = '';
  let fauxqs: LoopbackSqs;
  let sqs: SQSClient;
  const queues: Record<string, string> = {};
  // Something that answers HTTP but is no SQS endpoint: an empty 404 to every request.
  const notSqs = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(404).end());
  });

  before(async () => {
    const buildDir = mkdtempSync(join(tmpdir(), 'poller-build-'));
    await buildPoller(join(buildDir, 'poller.mjs'));
    runDir = mkdtempSync(join(tmpdir(), 'poller-run-'));
    // The file alone: no node_modules, no package.json, no source map next to it.
    copyFileSync(join(buildDir, 'poller.mjs'), join(runDir, 'poller.mjs'));
    rmSync(buildDir, { recursive: true, force: true });
    fauxqs = await startLoopbackSqs('us-east-1');
    await new Promise<void>((resolve) => notSqs.listen(0, '127.0.0.1', resolve));
    // sa-east-1 only for the start-up failures, ap-south-1 only for the stop during a long poll: no poller that ran
    // before may have a long poll pending on them.
    for (const region of ['us-east-1', 'eu-west-1', 'sa-east-1', 'ap-south-1']) {
      queues[region] = (
        await fauxqs.createQueue(`management-events-${region}.fifo`, {
          region,
          // Short, so that a record that failed during a Redis outage comes back soon.
          attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '3' },
        })
      ).queueUrl;
    }
    sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: fauxqs.address,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
  });
  after(async () => {
    sqs.destroy();
    notSqs.close();
    await fauxqs.stop();
    rmSync(runDir, { recursive: true, force: true });
  });

  /** Only what a systemd unit would set: no NODE_PATH, no node_modules anywhere up from the folder. */
  function poller(args: string[], env: Record<string, string | undefined>, nodeOptions: readonly string[] = []) {
    const run = runCli([...nodeOptions, join(runDir, 'poller.mjs'), ...args], {
      cwd: runDir,
      replaceEnv: true,
      env: { HOME: runDir, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    });
    track({ close: () => void run.child.kill('SIGKILL') });
    return run;
  }
  const credentials = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  const queueArgs = () => [
    '--endpoint-url',
    fauxqs.address,
    '--wait-time-seconds',
    '1',
    '--queue-url',
    queues['us-east-1'] ?? '',
    '--queue-url',
    queues['eu-west-1'] ?? '',
  ];

  async function send(region: string, bodies: string[]) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues[region],
        Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body, MessageGroupId: 'ec2-instances-events' })),
      }),
    );
  }
  async function waitEmpty(region: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queues[region],
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      if (Attributes.ApproximateNumberOfMessages === '0' && Attributes.ApproximateNumberOfMessagesNotVisible === '0') return;
      if (Date.now() > deadline) throw new Error(`${region} queue not drained`);
      await sleep(50);
    }
  }

  it("drains two regions' queues into Redis in one process and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
    assert.deepEqual(readdirSync(runDir), ['poller.mjs']);
    const east = track(await subscribe(redis.url, channel(ACCOUNT)));
    const west = track(await subscribe(redis.url, channel(FUNCTION_ACCOUNT)));
    const eastBodies = ['e1', 'e2', 'e3'].map((id) => stateChange(id, ACCOUNT, 'us-east-1'));
    const westBodies = ['w1', 'w2'].map((id) => stateChange(id, FUNCTION_ACCOUNT, 'eu-west-1'));
    await send('us-east-1', eastBodies);
    await send('eu-west-1', westBodies);

    const run = poller(queueArgs(), { ...credentials, REDIS_URL: redis.url });
    await east.waitFor(3, 30_000);
    await west.waitFor(2, 30_000);
    await waitEmpty('us-east-1');
    await waitEmpty('eu-west-1');
    run.child.kill('SIGTERM');
    const { code, stderr } = await run.exited;

    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing the receives and batches in flight .*\nstopped\n$/);
    assert.deepEqual(
      east.received.map((item) => item.message),
      eastBodies,
    );
    assert.deepEqual(
      west.received.map((item) => item.message),
      westBodies,
    );
  });

  /**
   * A queue pair on the emulator that hands out up to 10 messages of a group per receive, as SQS FIFO does (fauxqs
   * hands out one), with the deployed redrive policy; `bodies` sent in one group.
   */
  async function faithfulQueue(region: string, bodies: readonly string[]) {
    const server = await startSqsFifoServer({ region });
    track({ close: () => server.stop() });
    const dlq = server.createQueue(`management-events-${region}-dlq.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
    });
    const name = `management-events-${region}.fifo`;
    const queue = server.createQueue(name, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: '60',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 1000 }),
    });
    const client = new SQSClient({ region, endpoint: server.address, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    track({ close: () => client.destroy() });
    const send = async (sent: readonly string[]) => {
      if (sent.length === 0) return;
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: sent.map((body, index) => ({ Id: String(index), MessageBody: body, MessageGroupId: 'ec2-instances-events' })),
        }),
      );
    };
    await send(bodies);
    return {
      send,
      args: ['--endpoint-url', server.address, '--wait-time-seconds', '1', '--queue-url', queue.queueUrl],
      queued: () => server.messages(name),
      deadLettered: () => server.messages(`management-events-${region}-dlq.fifo`).map((message) => message.body),
    };
  }

  it('parks a poison record at the head of a group of 10 handed out together, and the 9 behind it arrive at once', {
    timeout: 60_000,
  }, async () => {
    // Prepare: as in the review, a body that is not JSON ahead of 9 events of two accounts, one group.
    const events = Array.from({ length: 9 }, (_, index) =>
      stateChange(`p${index}`, index % 2 === 0 ? ACCOUNT : FUNCTION_ACCOUNT, 'ca-central-1'),
    );
    const queue = await faithfulQueue('ca-central-1', ['not json at all', ...events]);
    const subscriber = track(await subscribe(redis.url, channel(ACCOUNT), channel(FUNCTION_ACCOUNT)));

    // Act
    const run = poller(queue.args, { ...credentials, REDIS_URL: redis.url });
    await subscriber.waitFor(9, 30_000);
    run.child.kill('SIGTERM');
    await run.exited;

    // Assess: the 9 arrived in order (long before the 60 s visibility timeout), only the poison waits in the
    // dead-letter queue, and the queue is empty.
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      events,
    );
    assert.deepEqual(queue.deadLettered(), ['not json at all']);
    assert.equal(queue.queued().length, 0);
  });

  it('gives records failed by a Redis outage a short retry delay, dead-letters none, and delivers them in order after', {
    timeout: 60_000,
  }, async () => {
    // Prepare: the poller runs; then Redis goes away and 10 events of one group arrive.
    const events = Array.from({ length: 10 }, (_, index) => stateChange(`o${index}`, ACCOUNT, 'eu-central-1'));
    const queue = await faithfulQueue('eu-central-1', []);
    const live = poller(queue.args, { ...credentials, REDIS_URL: redis.url, REQUIRE_SUBSCRIBER: 'true' });
    const started = Date.now();
    while (!live.output().includes('polling')) {
      if (Date.now() - started > 20_000) throw new Error(live.output());
      await sleep(20);
    }
    await redis.stop();
    await queue.send(events);

    // Act: the poller receives them and fails them while Redis is down.
    const hiddenSeconds = () =>
      queue.queued().map(({ receipt }) => (receipt === undefined ? 0 : (receipt.visibleAt - receipt.receivedAt) / 1000));
    const until = Date.now() + 15_000;
    while (!hiddenSeconds().every((seconds) => seconds > 0 && seconds <= 10) && Date.now() < until) await sleep(100);
    const hiddenFor = hiddenSeconds();
    await redis.start();
    const subscriber = track(await subscribe(redis.url, channel(ACCOUNT)));
    await subscriber.waitFor(10, 40_000);
    live.child.kill('SIGTERM');
    await live.exited;

    // Assess: failed with a retry delay of seconds, not the queue's 60 s visibility timeout; nothing dead-lettered;
    // every event delivered, in order (at least once: REQUIRE_SUBSCRIBER keeps a publish to nobody queued).
    assert.equal(hiddenFor.length, 10);
    assert.ok(
      hiddenFor.every((seconds) => seconds > 0 && seconds <= 10),
      `hidden for ${hiddenFor.join(', ')} s`,
    );
    assert.deepEqual(queue.deadLettered(), []);
    assert.deepEqual([...new Set(subscriber.received.map((item) => item.message))], events);
  });

  it('keeps retrying when Redis goes away after the start, and delivers once it is back', { timeout: 60_000 }, async () => {
    const run = poller(queueArgs(), { ...credentials, REDIS_URL: redis.url });
    const started = Date.now();
    while (!run.output().includes('polling')) {
      if (Date.now() - started > 20_000) throw new Error(run.output());
      await sleep(20);
    }
    await redis.stop();
    const body = stateChange('after-outage', ACCOUNT, 'us-east-1');
    await send('us-east-1', [body]);
    await sleep(2500);
    await redis.start();
    const east = track(await subscribe(redis.url, channel(ACCOUNT)));
    await east.waitFor(1, 30_000);
    await waitEmpty('us-east-1');
    run.child.kill('SIGTERM');
    const { code } = await run.exited;

    assert.equal(code, 0);
    // At least once: a batch whose answer was lost in the outage may be published again.
    assert.deepEqual([...new Set(east.received.map((item) => item.message))], [body]);
  });

  it('SIGTERM during a long poll lets that receive finish: a message it brings is published, not left in flight', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, channel(ACCOUNT)));
    const args = ['--endpoint-url', fauxqs.address, '--wait-time-seconds', '5', '--queue-url', queues['ap-south-1'] ?? ''];
    const run = poller(args, { ...credentials, REDIS_URL: redis.url });
    const started = Date.now();
    while (!run.output().includes('polling')) {
      if (Date.now() - started > 20_000) throw new Error(run.output());
      await sleep(20);
    }
    await sleep(300);
    run.child.kill('SIGTERM');
    // Arrives while the receive sent before the signal still waits.
    const body = stateChange('during-stop', ACCOUNT, 'ap-south-1');
    await send('ap-south-1', [body]);
    const { code, stderr } = await run.exited;

    assert.equal(code, 0, stderr);
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queues['ap-south-1'], AttributeNames: ['All'] }),
    );
    assert.equal(Attributes.ApproximateNumberOfMessagesNotVisible, '0', 'no message is stranded in flight');
    assert.equal(Attributes.ApproximateNumberOfMessages, '0', JSON.stringify(Attributes));
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [body],
    );
  });

  const failArgs = () => ['--endpoint-url', fauxqs.address, '--queue-url', queues['sa-east-1'] ?? ''];
  const failures: [string, () => string[], () => Record<string, string>, () => RegExp][] = [
    [
      'a queue that does not exist',
      () => [...failArgs(), '--queue-url', `${queues['sa-east-1']}-missing`],
      () => ({ ...credentials, REDIS_URL: redis.url }),
      () => /^queue http:\S+-missing \(region sa-east-1\): no such queue/,
    ],
    [
      'a queue URL naming the wrong region',
      () => [...failArgs(), '--queue-url', (queues['sa-east-1'] ?? '').replace('sqs.sa-east-1.', 'sqs.us-west-2.')],
      () => ({ ...credentials, REDIS_URL: redis.url }),
      () => /^queue http:\/\/sqs\.us-west-2\.\S+ \(region us-west-2\): no such queue/,
    ],
    [
      'no AWS credentials (a queue in AWS)',
      () => ['--queue-url', 'https://sqs.sa-east-1.amazonaws.com/123456789012/management-events-sa-east-1.fifo'],
      () => ({ REDIS_URL: redis.url }),
      () => /^queue https:\S+ \(region sa-east-1\): no AWS credentials found/,
    ],
    [
      'an endpoint that is not SQS (an empty HTTP 404)',
      () => {
        const endpoint = `http://127.0.0.1:${(notSqs.address() as AddressInfo).port}`;
        return ['--endpoint-url', endpoint, '--region', 'sa-east-1', '--queue-url', `${endpoint}/000000000000/q.fifo`];
      },
      () => ({ ...credentials, REDIS_URL: redis.url }),
      () =>
        /^queue http:\S+ \(region sa-east-1\): HTTP 404 with no answer the AWS SDK could read: is this the service's endpoint\?$/m,
    ],
    [
      'the same --queue-url twice',
      () => [...failArgs(), '--queue-url', queues['sa-east-1'] ?? ''],
      () => ({ ...credentials, REDIS_URL: redis.url }),
      () => /^--queue-url http:\S+ is given twice$/m,
    ],
    ['REDIS_URL missing', failArgs, () => ({ ...credentials }), () => /^invalid configuration: REDIS_URL is required/],
    [
      'REQUIRE_SUBSCRIBER=maybe',
      failArgs,
      () => ({ ...credentials, REDIS_URL: redis.url, REQUIRE_SUBSCRIBER: 'maybe' }),
      () => /^invalid configuration: REQUIRE_SUBSCRIBER must be "true" or "false"/,
    ],
    [
      'a wrong Redis password',
      failArgs,
      () => ({ ...credentials, REDIS_URL: `redis://poller:topsecret@127.0.0.1:${redis.port}` }),
      () => /^Redis at redis:\/\/127\.0\.0\.1:\d+: the user name or password was rejected/,
    ],
    ['an unknown flag', () => ['--queue', 'x'], () => ({}), () => /^Unknown option '--queue'/],
    ['no --queue-url', () => [], () => ({}), () => /^--queue-url is required/],
  ];
  for (const [what, args, env, expected] of failures) {
    it(`exits 2 before consuming anything on ${what}, with one line and no password`, { timeout: 30_000 }, async () => {
      await addRedisUser('poller', 'the-right-one');
      // Unique: the queue deduplicates equal bodies.
      const body = stateChange(`untouched-${Date.now()}-${Math.random()}`, ACCOUNT, 'sa-east-1');
      await send('sa-east-1', [body]);
      const { code, stdout, stderr } = await poller(args(), env()).exited;

      assert.equal(code, 2, stdout + stderr);
      assert.match(stderr, expected());
      assert.ok(!(stdout + stderr).includes('topsecret'));
      assert.ok(!hasStackTrace(stderr), stderr);
      // The queue still holds the message, visible: nothing was received.
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queues['sa-east-1'], AttributeNames: ['All'] }),
      );
      assert.equal(Attributes.ApproximateNumberOfMessages, '1', JSON.stringify(Attributes));
      await drain();
    });
  }

  it('refuses Node.js 20 in one line, before the AWS SDK prints its warning about it', { timeout: 30_000 }, async () => {
    // The version Node reports, as a Node 20 would: what both the poller's check and the SDK's warning read.
    const node20 = `data:text/javascript,${encodeURIComponent(
      "Object.defineProperty(process,'version',{value:'v20.20.2'});Object.defineProperty(process.versions,'node',{value:'20.20.2'});",
    )}`;
    const { code, stdout, stderr } = await poller(queueArgs(), { ...credentials, REDIS_URL: redis.url }, ['--import', node20])
      .exited;

    assert.equal(code, 2, stdout + stderr);
    assert.equal(stderr, 'the poller needs Node.js 22 or later; this is Node.js v20.20.2\n');
  });

  it("takes a queue URL with an IP address for a host without repeating the SDK's endpoint warning", {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, channel(ACCOUNT)));
    const byAddress = new URL(queues['us-east-1'] ?? '');
    byAddress.host = new URL(fauxqs.address).host;
    const body = stateChange('by-address', ACCOUNT, 'us-east-1');
    await send('us-east-1', [body]);

    const args = ['--queue-url', byAddress.href, '--region', 'us-east-1', '--wait-time-seconds', '1'];
    const run = poller(args, { ...credentials, REDIS_URL: redis.url });
    await subscriber.waitFor(1, 30_000);
    await waitEmpty('us-east-1');
    // A few more receives: the warning came with every call.
    await sleep(2500);
    run.child.kill('SIGTERM');
    const { code, stderr } = await run.exited;

    assert.equal(code, 0, stderr);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [body],
    );
    assert.doesNotMatch(stderr, /differs from SQSClient resolved endpoint/);
  });

  it('asks no instance metadata service with an emulator on this machine, and needs no credentials for it', {
    timeout: 60_000,
  }, async () => {
    const metadata = track(await startMetadataListener());
    const subscriber = track(await subscribe(redis.url, channel(ACCOUNT)));
    const body = stateChange('no-credentials', ACCOUNT, 'us-east-1');
    await send('us-east-1', [body]);

    const run = poller(queueArgs(), {
      REDIS_URL: redis.url,
      AWS_EC2_METADATA_DISABLED: undefined,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
    });
    await subscriber.waitFor(1, 30_000);
    await waitEmpty('us-east-1');
    run.child.kill('SIGTERM');
    const { code, stderr } = await run.exited;

    assert.equal(code, 0, stderr);
    assert.equal(metadata.requests, 0);
  });

  it('stops on a closed Redis port with one line naming the address, not the password', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const { code, stderr } = await poller(queueArgs(), { ...credentials, REDIS_URL: `redis://u:topsecret@127.0.0.1:${port}` })
      .exited;
    assert.equal(code, 2);
    assert.equal(stderr, `Redis at redis://127.0.0.1:${port}: connection refused (nothing listens there)\n`);
  });

  async function addRedisUser(name: string, password: string) {
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, '~*', '&*', '+@all');
    await admin.quit();
  }

  /** Empties the failure cases' queue between cases (a purge). */
  async function drain() {
    const { PurgeQueueCommand } = await import('@aws-sdk/client-sqs');
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queues['sa-east-1'] }));
  }
});

describe('npm run build:poller where it cannot write', () => {
  const BUILD = new URL('../local/build-poller.ts', import.meta.url).pathname;
  const track = closeAfterEach();

  for (const [what, place] of [
    ['a file stands where its folder would be (mkdir fails)', (dir: string) => join(dir, 'a-file', 'poller.mjs')],
    ['the output is a folder (esbuild fails to write)', (dir: string) => join(dir, 'a-folder')],
  ] as const) {
    it(`says so in one line and exits 1, without esbuild's stack trace: ${what}`, { timeout: 60_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'poller-out-'));
      track({ close: () => rmSync(dir, { recursive: true, force: true }) });
      writeFileSync(join(dir, 'a-file'), '');
      mkdirSync(join(dir, 'a-folder'));
      const outfile = place(dir);

      const { code, stdout, stderr } = await runCli([BUILD, '--outfile', outfile]).exited;

      assert.equal(code, 1, stdout + stderr);
      assert.match(
        stderr,
        new RegExp(`^cannot write ${outfile}: .+ \\(a read-only checkout\\? --outfile PATH writes elsewhere\\)\\n$`),
      );
      assert.ok(!hasStackTrace(stderr), stderr);
    });
  }
});
