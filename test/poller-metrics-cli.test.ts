import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { METRIC_NAMES } from '../lambda/metric-names.ts';
import { buildPoller } from '../local/build-poller.ts';
import { type LoopbackSqs, startLoopbackSqs } from '../local/loopback-sqs.ts';
import { wantsMetrics } from '../local/poller-cli.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { type CliRun, hasStackTrace, runCli } from './helpers/cli.ts';
import { type CloudWatchEndpoint, startCloudWatchEndpoint, sumOf, valuesOf } from './helpers/cloudwatch-endpoint.ts';
import { ACCOUNT } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;
const channel = `topic-account-management-events-${ACCOUNT}`;

function stateChange(id: string, region: string): string {
  return JSON.stringify({
    version: '0',
    id,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: new Date(Date.now() - 1000).toISOString(),
    region,
    resources: [`arn:aws:ec2:${region}:${ACCOUNT}:instance/i-${id}`],
    detail: { 'instance-id': `i-${id}`, state: 'running' },
  });
}

describe('dist/poller.mjs sends its metrics to CloudWatch', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();
  let runDir = '';
  let fauxqs: LoopbackSqs;
  let cloudwatch: CloudWatchEndpoint;
  let queueCount = 0;

  before(async () => {
    runDir = mkdtempSync(join(tmpdir(), 'poller-metrics-'));
    await buildPoller(join(runDir, 'build', 'poller.mjs'));
    copyFileSync(join(runDir, 'build', 'poller.mjs'), join(runDir, 'poller.mjs'));
    rmSync(join(runDir, 'build'), { recursive: true, force: true });
    fauxqs = await startLoopbackSqs('us-east-1');
    cloudwatch = await startCloudWatchEndpoint();
  });
  after(async () => {
    await cloudwatch.close();
    await fauxqs.stop();
    rmSync(runDir, { recursive: true, force: true });
  });

  /** A fresh queue in `region` holding `count` events, so that no earlier run's long poll is pending on it. */
  async function queueWith(region: string, count: number): Promise<string> {
    queueCount += 1;
    const { queueUrl } = await fauxqs.createQueue(`management-events-${region}-${queueCount}.fifo`, {
      region,
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
    });
    await fauxqs.client(region).send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: count }, (_, index) => ({
          Id: String(index),
          MessageBody: stateChange(`${queueCount}-${index}`, region),
          MessageGroupId: `group-${index % 3}`,
        })),
      }),
    );
    return queueUrl;
  }

  async function waitEmpty(region: string, queueUrl: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { Attributes = {} } = await fauxqs
        .client(region)
        .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
      if (Attributes.ApproximateNumberOfMessages === '0' && Attributes.ApproximateNumberOfMessagesNotVisible === '0') return;
      if (Date.now() > deadline) throw new Error(`${queueUrl} not drained`);
      await sleep(50);
    }
  }

  function run(script: string[], args: string[], env: Record<string, string> = {}): CliRun {
    cloudwatch.received.length = 0;
    const child = runCli([...script, '--wait-time-seconds', '1', ...args], {
      cwd: runDir,
      replaceEnv: true,
      env: {
        HOME: runDir,
        PATH: process.env.PATH,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.endpoint,
        REDIS_URL: redis.url,
        ...env,
      },
    });
    track({ close: () => void child.child.kill('SIGKILL') });
    return child;
  }
  const poller = (args: string[], env?: Record<string, string>) => run([join(runDir, 'poller.mjs')], args, env);

  /** Starts a poller, lets it drain its queues, then stops it as systemd does. */
  async function drainAndStop(start: () => CliRun, queues: [string, string][], events: number) {
    const subscriber = track(await subscribe(redis.url, channel));
    const child = start();
    await subscriber.waitFor(events, 30_000);
    for (const [region, url] of queues) await waitEmpty(region, url);
    child.child.kill('SIGTERM');
    return { ...(await child.exited), delivered: subscriber.received.length };
  }

  it("sends each queue's record counts and event lags to its region's CloudWatch, the last ones on SIGTERM", {
    timeout: 60_000,
  }, async () => {
    // Prepare: two regions' queues on this machine (an emulator: metrics only when asked).
    cloudwatch.behave('accept');
    const east = await queueWith('us-east-1', 5);
    const west = await queueWith('eu-west-1', 2);

    // Act
    const child = () => poller(['--endpoint-url', fauxqs.address, '--queue-url', east, '--queue-url', west, '--metrics']);
    const { code, stderr, delivered } = await drainAndStop(
      child,
      [
        ['us-east-1', east],
        ['eu-west-1', west],
      ],
      7,
    );

    // Assess: the start-up zeros, then one sample per batch and one lag per event, each in its own region.
    assert.equal(code, 0, stderr);
    assert.equal(delivered, 7);
    assert.match(stderr, /; metrics to CloudWatch once a minute \(AssetSync, FunctionName=poller\);/);
    for (const [region, events] of [
      ['us-east-1', 5],
      ['eu-west-1', 2],
    ] as const) {
      assert.equal(sumOf(cloudwatch.received, METRIC_NAMES.published, region), events, region);
      assert.equal(sumOf(cloudwatch.received, METRIC_NAMES.failed, region), 0, region);
      const lags = valuesOf(cloudwatch.received, METRIC_NAMES.eventLagMs, region);
      assert.equal(lags.length, events, region);
      // The events happened a second before they were sent.
      assert.ok(
        lags.every((lag) => lag >= 1000 && lag < 60_000),
        String(lags),
      );
    }
    for (const request of cloudwatch.received) {
      assert.equal(request.namespace, 'AssetSync');
      for (const datum of request.datums) assert.deepEqual(datum.Dimensions, [{ Name: 'FunctionName', Value: 'poller' }]);
    }
  });

  it('runs on when CloudWatch refuses, after one start-up line that says so', { timeout: 60_000 }, async () => {
    cloudwatch.behave('deny');
    const queue = await queueWith('us-east-1', 3);

    const child = () => poller(['--endpoint-url', fauxqs.address, '--queue-url', queue, '--metrics']);
    const { code, stdout, stderr, delivered } = await drainAndStop(child, [['us-east-1', queue]], 3);

    assert.equal(code, 0, stderr);
    assert.equal(delivered, 3);
    assert.match(
      stderr,
      /^warning: CloudWatch in us-east-1 did not take the poller's metrics: access denied: User: \S+ is not authorized to perform: cloudwatch:PutMetricData .*\(attach the stack's PollerPolicyArn\)\. The poller runs on/m,
    );
    assert.ok(!hasStackTrace(stdout + stderr), stdout + stderr);
    assert.deepEqual(cloudwatch.received, []);
  });

  it('runs on when CloudWatch does not answer, and still stops on SIGTERM', { timeout: 60_000 }, async () => {
    cloudwatch.behave('stall');
    const queue = await queueWith('us-east-1', 2);

    const child = () => poller(['--endpoint-url', fauxqs.address, '--queue-url', queue, '--metrics']);
    const { code, stderr, delivered } = await drainAndStop(child, [['us-east-1', queue]], 2);

    assert.equal(code, 0, stderr);
    assert.equal(delivered, 2);
    assert.match(stderr, /^warning: CloudWatch in us-east-1 did not take the poller's metrics: no answer in time\./m);
  });

  it('sends nothing for queues on this machine unless asked, and says so', { timeout: 60_000 }, async () => {
    cloudwatch.behave('accept');
    const queue = await queueWith('us-east-1', 2);
    const calls = cloudwatch.calls();

    const child = () => poller(['--endpoint-url', fauxqs.address, '--queue-url', queue]);
    const { code, stderr } = await drainAndStop(child, [['us-east-1', queue]], 2);

    assert.equal(code, 0, stderr);
    assert.match(stderr, /; metrics off \(queues on this machine; --metrics sends them\);/);
    assert.equal(cloudwatch.calls(), calls);
  });

  it('sends them by default for queues elsewhere (AWS), not for queues on this machine; the flags decide first', () => {
    const aws = ['https://sqs.us-east-1.amazonaws.com', 'https://sqs.eu-west-1.amazonaws.com'];
    const here = ['http://127.0.0.1:4566', 'http://localhost:9324'];

    assert.deepEqual(
      [undefined, true, false].map((flag) => [
        wantsMetrics(flag, aws),
        wantsMetrics(flag, here),
        wantsMetrics(flag, [...here, ...aws]),
      ]),
      [
        [true, false, true],
        [true, true, true],
        [false, false, false],
      ],
    );
  });

  it('npm start -- --queue-url takes --metrics too', { timeout: 60_000 }, async () => {
    cloudwatch.behave('accept');
    const queue = await queueWith('us-east-1', 2);

    const child = () => run([MAIN], ['--endpoint-url', fauxqs.address, '--queue-url', queue, '--metrics']);
    const { code, stderr } = await drainAndStop(child, [['us-east-1', queue]], 2);

    assert.equal(code, 0, stderr);
    assert.equal(sumOf(cloudwatch.received, METRIC_NAMES.published, 'us-east-1'), 2);
  });
});
