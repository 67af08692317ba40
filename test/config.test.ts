import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../lambda/config.ts';
import { createHandler } from '../lambda/handler.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';

describe('configuration from the environment', () => {
  it('applies the defaults', () => {
    const config = loadConfig({ REDIS_URL: 'rediss://cache.example.internal:6379' });
    assert.equal(config.topicPrefix, 'topic-account-management-events-');
    assert.equal(config.requireSubscriber, false);
    assert.ok(config.connectTimeoutMs <= 2000 && config.commandTimeoutMs <= 2000);
    assert.equal(config.redisAuthSecretArn, undefined);
    // Below the 350 s after which AWS forgets an idle flow.
    assert.equal(config.redisMaxIdleSeconds, 300);
  });

  it('reports every problem at once, each naming its variable', () => {
    assert.throws(
      () =>
        loadConfig({
          REDIS_URL: 'http://cache:6379',
          REQUIRE_SUBSCRIBER: 'yes',
          REDIS_COMMAND_TIMEOUT_MS: '5000',
          REDIS_CONNECT_TIMEOUT_MS: 'soon',
          REDIS_AUTH_SECRET_ARN: 'redis-password',
          REDIS_MAX_IDLE_SECONDS: '-1',
        }),
      (error: Error) => {
        assert.equal(error.name, 'ConfigError');
        for (const name of [
          'REDIS_URL',
          'REQUIRE_SUBSCRIBER',
          'REDIS_COMMAND_TIMEOUT_MS',
          'REDIS_CONNECT_TIMEOUT_MS',
          'REDIS_AUTH_SECRET_ARN',
          'REDIS_MAX_IDLE_SECONDS',
        ]) {
          assert.match(error.message, new RegExp(name));
        }
        return true;
      },
    );
  });

  it('requires REDIS_URL', () => {
    assert.throws(() => loadConfig({}), /REDIS_URL is required/);
  });

  it('never echoes a REDIS_URL, which may carry a password', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'tcp://user:hunter2@cache:6379' }),
      (error: Error) => !error.message.includes('hunter2'),
    );
  });

  for (const [url, expected] of [
    ['redis://cache:0', /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL with a host and a port from 1 to 65535/],
    ['redis://cache:65536', /a port from 1 to 65535/],
    ['redis://:hunter2@cache:6379/3', /REDIS_URL must not name a database: the function uses database 0/],
    ['rediss://cache:6379?family=6', /REDIS_URL must not carry a query or fragment/],
  ] as const) {
    it(`refuses ${url.replace('hunter2', '…')}, which it would otherwise read only in part, without echoing it`, () => {
      assert.throws(
        () => loadConfig({ REDIS_URL: url }),
        (error: Error) => expected.test(error.message) && !error.message.includes('hunter2'),
      );
    });
  }

  for (const url of ['redis://cache:6379', 'redis://cache:6379/', 'rediss://u:p@cache/0']) {
    it(`takes ${url}`, () => {
      assert.equal(loadConfig({ REDIS_URL: url }).redisUrl, url);
    });
  }

  it('fails every record, logged with the reason, when the environment is invalid', async () => {
    const logs = captureLogs();
    const handler = createHandler({ env: { REDIS_URL: 'memcached://x' }, logger: logs.logger });
    const event = sqsEvent([
      sqsRecord({ body: stateChange('i-1', 'running') }),
      sqsRecord({ body: stateChange('i-1', 'stopped') }),
    ]);

    const response = await handler(event, lambdaContext());

    assert.deepEqual(
      response.batchItemFailures.map((f: { itemIdentifier: string }) => f.itemIdentifier),
      event.Records.map((r) => r.messageId),
    );
    const failed = logs.withMessage('record failed');
    assert.equal(failed.length, 2);
    assert.equal(errorOf(failed[0]).name, 'ConfigError');
    await handler.close();
  });
});

describe('the summary line', () => {
  const redis = useRedisServer();

  it('carries the metrics in CloudWatch embedded metric format', async () => {
    const logs = captureLogs();
    const handler = createHandler({
      env: { REDIS_URL: 'memcached://x', AWS_LAMBDA_FUNCTION_NAME: 'sync-fn' },
      logger: logs.logger,
    });
    await handler(sqsEvent([sqsRecord({ body: '[]' })]), lambdaContext());

    const summary = logs.withMessage('batch processed')[0] as Record<string, unknown>;
    const emf = summary._aws as {
      Timestamp: number;
      CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
    };
    const directive = emf.CloudWatchMetrics[0];
    assert.equal(typeof emf.Timestamp, 'number');
    assert.equal(directive?.Namespace, 'AssetSync');
    assert.deepEqual(directive?.Dimensions, [['FunctionName']]);
    // The configuration failed, so the dimension comes from the invocation's context.
    assert.equal(summary.FunctionName, lambdaContext().functionName);
    for (const metric of directive?.Metrics ?? []) assert.equal(typeof summary[metric.Name], 'number', metric.Name);
    assert.deepEqual(directive?.Metrics, [
      { Name: 'RecordsPublished', Unit: 'Count' },
      { Name: 'RecordsFailed', Unit: 'Count' },
      { Name: 'RecordsOutcomeUnknown', Unit: 'Count' },
      { Name: 'RecordsParked', Unit: 'Count' },
      { Name: 'ZeroReceiverPublishes', Unit: 'Count' },
      // The record's SentTimestamp gives an age even though its body is no event.
      { Name: 'OldestEventAge', Unit: 'Milliseconds' },
    ]);
    assert.equal(summary.RecordsFailed, 1);
    assert.equal(summary.OldestEventAge, summary.oldestEventAgeMs);
    await handler.close();
  });

  it("carries each published event's lag from its time, as one value each, for percentiles", async () => {
    const logs = captureLogs();
    const handler = createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger });
    const events = [stateChange('i-1', 'pending'), stateChange('i-1', 'running')].map((body, index) => {
      const event = JSON.parse(body);
      event.time = new Date(Date.now() - (index + 1) * 60_000).toISOString();
      return sqsRecord({ body: JSON.stringify(event) });
    });
    await handler(sqsEvent([...events, sqsRecord({ body: '{"no":"time"}' })]), lambdaContext());

    const summary = logs.withMessage('batch processed')[0] as Record<string, unknown>;
    const lags = summary.EventLag as number[];
    // Two events say when they happened, a minute and two minutes ago; the third says nothing and adds no value.
    assert.equal(lags.length, 2);
    assert.ok(lags[0] !== undefined && lags[0] >= 60_000 && lags[0] < 120_000);
    assert.ok(lags[1] !== undefined && lags[1] >= 120_000 && lags[1] < 180_000);
    const emf = summary._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] };
    assert.ok(emf.CloudWatchMetrics[0]?.Metrics.some((metric) => metric.Name === 'EventLag' && metric.Unit === 'Milliseconds'));
    await handler.close();
  });

  for (const sentTimestamp of ['not a time', '']) {
    it(`leaves the age metric out when no record tells when it happened (SentTimestamp ${JSON.stringify(sentTimestamp)})`, async () => {
      const logs = captureLogs();
      const handler = createHandler({ env: { REDIS_URL: 'memcached://x' }, logger: logs.logger });
      const record = sqsRecord({ body: '[]' });
      record.attributes.SentTimestamp = sentTimestamp;
      await handler(sqsEvent([record]), lambdaContext());

      const summary = logs.withMessage('batch processed')[0] as Record<string, unknown>;
      const emf = summary._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
      assert.equal('oldestEventAgeMs' in summary, false);
      assert.equal('OldestEventAge' in summary, false);
      assert.deepEqual(
        emf.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name),
        ['RecordsPublished', 'RecordsFailed', 'RecordsOutcomeUnknown', 'RecordsParked', 'ZeroReceiverPublishes'],
      );
      await handler.close();
    });
  }
});
