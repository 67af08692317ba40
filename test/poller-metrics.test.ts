import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSBatchResponse } from 'aws-lambda';
import { createHandler } from '../lambda/handler.ts';
import type { LogFields, Logger } from '../lambda/log.ts';
import { METRIC_NAMES } from '../lambda/metric-names.ts';
import type { BatchHandler } from '../local/poller.ts';
import {
  createPollerMetrics,
  MAX_UNSENT_AGE_MS,
  METRICS_INTERVAL_MS,
  type PollerMetrics,
  UNSENT_WARNING,
} from '../local/poller-metrics.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { type CloudWatchEndpoint, startCloudWatchEndpoint, sumOf, valuesOf } from './helpers/cloudwatch-endpoint.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const EAST = 'us-east-1';
const WEST = 'eu-west-1';

/** A summary line's metric part as lambda/report.ts writes it (embedded metric format), for synthetic volumes. */
function emfLine(values: Record<string, number | number[]>, at = Date.now()): LogFields {
  return {
    FunctionName: 'poller',
    ...values,
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: 'AssetSync',
          Dimensions: [['FunctionName']],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Milliseconds' })),
        },
      ],
    },
  };
}

/** Runs `lines` through the metrics as one batch of a queue in `region` would log them. */
async function logAsBatch(metrics: PollerMetrics, logger: Logger, region: string, lines: readonly LogFields[]) {
  const observed = metrics.observe(logger);
  const batch: BatchHandler = async () => {
    for (const line of lines) observed.info('batch processed', line);
    return { batchItemFailures: [] };
  };
  await metrics.inRegion(region, batch)(sqsEvent([]), lambdaContext());
}

describe("the poller's metrics reach CloudWatch", () => {
  const track = closeAfterEach();
  const redis = useRedisServer();
  let cloudwatch: CloudWatchEndpoint;
  const saved = { ...process.env };

  before(async () => {
    cloudwatch = await startCloudWatchEndpoint();
    // The SDK's own configuration chain, as on a host: the endpoint from the environment, placeholder keys.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  });
  after(async () => {
    process.env = saved;
    await cloudwatch.close();
  });

  function pollerMetrics(options: { now?: () => number; regions?: string[] } = {}) {
    cloudwatch.received.length = 0;
    cloudwatch.behave('accept');
    const warnings = captureLogs();
    const metrics = createPollerMetrics({
      regions: options.regions ?? [EAST, WEST],
      namespace: 'AssetSync',
      functionName: 'poller',
      logger: warnings.logger,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    track({ close: () => metrics.close() });
    return { metrics, warnings };
  }

  /** Metrics on a clock the test moves, their one-minute timer fired by the test (tick), CloudWatch refusing. */
  function refusedOnTestClock(start: string) {
    mock.timers.enable({ apis: ['setInterval'] });
    track({ close: () => mock.timers.reset() });
    const clock = { now: Date.parse(start) };
    const made = pollerMetrics({ now: () => clock.now });
    made.metrics.start();
    cloudwatch.behave('deny');
    return { ...made, clock };
  }

  it("sends what each batch's summary line carries, to its queue's region, with the function's names, units and dimension", async () => {
    // Prepare: the real function behind two queues' handlers; one record that can never be published.
    const { metrics } = pollerMetrics();
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: metrics.observe(logs.logger) }));
    const east = metrics.inRegion(EAST, handler);
    const west = metrics.inRegion(WEST, handler);
    const batch = (count: number, bad = 0) =>
      sqsEvent([
        ...Array.from({ length: count }, (_, index) => sqsRecord({ body: stateChange(`i-${index}`, 'running') })),
        ...Array.from({ length: bad }, () => sqsRecord({ body: 'not json', group: 'poison' })),
      ]);

    // Act: two batches in the east, one in the west, then one flush.
    await east(batch(3), lambdaContext());
    await east(batch(2, 1), lambdaContext());
    await west(batch(4), lambdaContext());
    const failures = await metrics.flush();

    // Assess: one request per region, each batch a sample as in the Lambda function's own metrics.
    assert.deepEqual(failures, []);
    assert.deepEqual(cloudwatch.received.map((request) => request.region).sort(), [WEST, EAST]);
    assert.deepEqual(valuesOf(cloudwatch.received, METRIC_NAMES.published, EAST), [2, 3]);
    assert.equal(sumOf(cloudwatch.received, METRIC_NAMES.failed, EAST), 1);
    assert.equal(sumOf(cloudwatch.received, METRIC_NAMES.published, WEST), 4);
    assert.equal(sumOf(cloudwatch.received, METRIC_NAMES.failed, WEST), 0);
    // One lag per published record, so CloudWatch can give p50 and p99.
    assert.equal(valuesOf(cloudwatch.received, METRIC_NAMES.eventLagMs, EAST).length, 5);
    assert.equal(valuesOf(cloudwatch.received, METRIC_NAMES.eventLagMs, WEST).length, 4);
    // Exactly the metrics, units and dimension of the summary lines' embedded metric format, at their minutes' starts.
    const summaries = logs.withMessage('batch processed') as unknown as {
      _aws: { Timestamp: number; CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] };
    }[];
    const minutes = new Set(summaries.map((line) => Math.floor(line._aws.Timestamp / 60_000) * 60));
    const emf = summaries.flatMap((line) =>
      line._aws.CloudWatchMetrics.flatMap(({ Metrics }) => Metrics.map(({ Name, Unit }) => `${Name} ${Unit}`)),
    );
    const sent = cloudwatch.received.flatMap((request) =>
      request.datums.map((datum) => {
        assert.equal(request.namespace, 'AssetSync');
        assert.deepEqual(datum.Dimensions, [{ Name: 'FunctionName', Value: 'poller' }]);
        assert.ok(minutes.has(datum.Timestamp ?? 0), String(datum.Timestamp));
        return `${datum.MetricName} ${datum.Unit}`;
      }),
    );
    assert.deepEqual([...new Set(sent)].sort(), [...new Set(emf)].sort());
  });

  it('splits a minute into datums of 150 values and requests of 1000 metrics under 1 MB, as CloudWatch takes them', async () => {
    // Prepare: 1,200 small metrics (over 1000 a request), 300 of 150 long values each (over 1 MB), one of 400 values.
    const { metrics, warnings } = pollerMetrics();
    const many = Object.fromEntries(Array.from({ length: 1200 }, (_, index) => [`Small${index}`, index]));
    const long = (metric: number, count: number) =>
      Array.from({ length: count }, (_, index) => metric + index / 1e4 + 1e-9 * Math.PI);
    const large = Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`Large${index}`, long(index * 1000, 150)]));

    // Act
    await logAsBatch(metrics, warnings.logger, EAST, [emfLine(many), emfLine({ ...large, Wide: long(0, 400) })]);
    const failures = await metrics.flush();

    // Assess: CloudWatch (which refuses anything over its limits) took every value, in several gzipped requests.
    assert.deepEqual(failures, []);
    const datums = cloudwatch.received.flatMap((request) => request.datums);
    assert.equal(datums.filter((datum) => datum.MetricName.startsWith('Small')).length, 1200);
    assert.equal(valuesOf(cloudwatch.received, 'Large7').length, 150);
    assert.deepEqual(valuesOf(cloudwatch.received, 'Wide'), long(0, 400));
    assert.ok(cloudwatch.received.length > 1);
    assert.ok(cloudwatch.received.every((request) => request.gzipped));
  });

  it('leaves out a value CloudWatch would refuse the whole request for, and sends the rest', async () => {
    const { metrics, warnings } = pollerMetrics();
    await logAsBatch(metrics, warnings.logger, EAST, [emfLine({ EventLag: [5, Number.NaN, Number.POSITIVE_INFINITY, 7] })]);

    const failures = await metrics.flush();

    assert.deepEqual(failures, []);
    assert.deepEqual(valuesOf(cloudwatch.received, 'EventLag'), [5, 7]);
  });

  it('keeps what CloudWatch refused and sends it with the next flush, once', async () => {
    const { metrics, warnings } = pollerMetrics();
    cloudwatch.behave('deny');
    await logAsBatch(metrics, warnings.logger, EAST, [emfLine({ EventLag: [10, 20, 20] })]);

    const refused = await metrics.flush();
    cloudwatch.behave('accept');
    await logAsBatch(metrics, warnings.logger, EAST, [emfLine({ EventLag: [30] })]);
    const second = await metrics.flush();
    const third = await metrics.flush();

    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.region, EAST);
    assert.match(refused[0]?.reason ?? '', /^access denied: User: .* is not authorized to perform: cloudwatch:PutMetricData/);
    assert.deepEqual([second, third], [[], []]);
    assert.deepEqual(valuesOf(cloudwatch.received, 'EventLag'), [10, 20, 20, 30]);
  });

  it('drops what CloudWatch has not taken for 15 minutes, and says so in its warning', async () => {
    // Prepare
    const { metrics, warnings, clock } = refusedOnTestClock('2026-11-20T10:00:30Z');
    await logAsBatch(metrics, warnings.logger, EAST, [emfLine({ EventLag: [111] }, clock.now)]);

    // Act: a refused flush every minute for 16 minutes, then CloudWatch takes data again.
    for (let minute = 1; minute <= 16; minute += 1) {
      clock.now += METRICS_INTERVAL_MS;
      await tick(cloudwatch);
    }
    cloudwatch.behave('accept');
    await logAsBatch(metrics, warnings.logger, EAST, [emfLine({ EventLag: [222] }, clock.now)]);
    clock.now += METRICS_INTERVAL_MS;
    await tick(cloudwatch);

    // Assess: the old value never arrives, the new one does; a warning each minute said what was refused, then dropped.
    assert.equal(MAX_UNSENT_AGE_MS, 15 * METRICS_INTERVAL_MS);
    assert.deepEqual(valuesOf(cloudwatch.received, 'EventLag'), [222]);
    const said = warnings.withMessage(UNSENT_WARNING);
    assert.equal(said.length, 17);
    assert.match(String((said[0]?.failures as Record<string, string> | undefined)?.[EAST]), /^access denied/);
    const last = said.at(-1) ?? {};
    assert.equal(last.droppedUnsent, 1);
    assert.equal('failures' in last, false, 'the last flush was taken');
  });

  it('says a refusal at most once a minute, however often it sends', async () => {
    const { metrics, warnings, clock } = refusedOnTestClock('2026-11-20T10:00:00Z');

    // Flushes 20 s apart (as if the timer ran fast): three in the first minute, then one more a minute on.
    for (const step of [0, 20_000, 20_000, 20_000]) {
      clock.now += step;
      await logAsBatch(metrics, warnings.logger, EAST, [emfLine({ EventLag: [1] }, clock.now)]);
      await tick(cloudwatch);
    }

    assert.equal(warnings.entries().filter((line) => line.level === 'WARN').length, 2);
  });

  it('never holds a batch while CloudWatch does not answer, and stops all the same', async () => {
    const { metrics } = pollerMetrics();
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: metrics.observe(logs.logger) }));
    const east = metrics.inRegion(EAST, handler);
    await east(sqsEvent([sqsRecord({ body: stateChange('i-1', 'running') })]), lambdaContext());
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    cloudwatch.behave('stall');
    let flushed = false;
    const flushing = metrics.flush().then(() => {
      flushed = true;
    });
    while (cloudwatch.calls() === 0) await sleep(10);

    const body = stateChange('i-2', 'running');
    const response: SQSBatchResponse = await east(sqsEvent([sqsRecord({ body })]), lambdaContext());
    await subscriber.waitFor(1);

    assert.deepEqual(response, { batchItemFailures: [] });
    assert.equal(flushed, false, 'the flush still waits for CloudWatch');
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [body],
    );
    await metrics.close();
    await flushing;
  });

  it('sends zero record counts to every region at start, and names the region and the refusal when CloudWatch refuses', async () => {
    const { metrics } = pollerMetrics();
    cloudwatch.behave('deny');
    const refused = await metrics.check();
    cloudwatch.behave('accept');
    const accepted = await metrics.check();

    assert.equal(refused.length, 2);
    assert.match(
      refused[0] ?? '',
      new RegExp(
        `^warning: CloudWatch in ${EAST} did not take the poller's metrics: access denied: .*PollerPolicyArn.*--no-metrics turns them off$`,
      ),
    );
    for (const line of refused) assert.ok(!line.includes('\n'), line);
    assert.deepEqual(accepted, []);
    for (const region of [EAST, WEST]) {
      for (const name of [
        'RecordsPublished',
        'RecordsFailed',
        'RecordsOutcomeUnknown',
        'RecordsParked',
        'ZeroReceiverPublishes',
      ]) {
        // Both checks' zeros: the refused one was kept and went with the second.
        assert.deepEqual(valuesOf(cloudwatch.received, name, region), [0, 0], `${name} in ${region}`);
      }
    }
  });
});

/** Fires the mocked one-minute timer and waits until the flush it started has been answered. */
async function tick(cloudwatch: CloudWatchEndpoint) {
  const calls = cloudwatch.calls();
  mock.timers.tick(METRICS_INTERVAL_MS);
  const deadline = Date.now() + 5000;
  while (cloudwatch.calls() === calls && Date.now() < deadline) await sleep(5);
  // The answer's parsing and the warning follow the call.
  await sleep(50);
}
