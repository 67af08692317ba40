import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler } from '../lambda/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs, errorOf } from './helpers/log-capture.ts';
import {
  ACCOUNT,
  CHANNEL,
  FUNCTION_ACCOUNT,
  lambdaContext,
  sampleEvents,
  sqsEvent,
  sqsRecord,
  stateChange,
  tagChange,
} from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

describe('publishing a batch', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('publishes real event shapes byte for byte, in order within each of two interleaved groups', async () => {
    // Prepare
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    const samples = sampleEvents();
    const bodies = samples.map((event, index) =>
      // Keep the shipped events' bytes except for white space that JSON.stringify would not produce.
      index % 3 === 0 ? JSON.stringify(event, null, 2) : JSON.stringify(event),
    );
    const records = bodies.slice(0, 10).map((body, index) =>
      sqsRecord({
        body,
        group: JSON.parse(body).source === 'aws.tag' ? 'management-events-tags' : 'ec2-instances-events',
        messageId: `m${index}`,
      }),
    );

    // Act
    const response = await handler(sqsEvent(records), lambdaContext());
    await subscriber.waitFor(10);

    // Assess
    assert.deepEqual(response, { batchItemFailures: [] });
    assert.deepEqual(
      subscriber.received.map((item) => item.message).sort(),
      bodies.slice(0, 10).sort(),
      'every body arrives byte for byte',
    );
    for (const group of ['ec2-instances-events', 'management-events-tags']) {
      const sent = records.filter((record) => record.attributes.MessageGroupId === group).map((record) => record.body);
      const got = subscriber.received.map((item) => item.message).filter((message) => sent.includes(message));
      assert.deepEqual(got, sent, `order within ${group}`);
    }
    assert.ok(subscriber.received.every((item) => item.channel === CHANNEL));
    const summary = logs.withMessage('batch processed')[0];
    assert.equal(summary?.published, 10);
    assert.equal(summary?.groups, 2);
  });

  it('uses the account in the function ARN when the event carries none', async () => {
    const fallbackChannel = `topic-account-management-events-${FUNCTION_ACCOUNT}`;
    const subscriber = track(await subscribe(redis.url, fallbackChannel, CHANNEL));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: captureLogs().logger }));
    const withoutAccount = stateChange('i-0000000000000000a', 'running', null);
    // An account is twelve ASCII digits, as a string; anything else is no account.
    const notAccounts = [12345, '12345678901', '1234567890123', '12345678901a', ' 12345678901', '١٢٣٤٥٦٧٨٩٠١٢'];
    const withNotAnAccount = notAccounts.map((account, n) =>
      JSON.stringify({ ...JSON.parse(stateChange(`i-000000000000000b${n}`, 'running')), account }),
    );

    const response = await handler(
      sqsEvent([withoutAccount, ...withNotAnAccount].map((body) => sqsRecord({ body }))),
      lambdaContext(FUNCTION_ACCOUNT),
    );
    await subscriber.waitFor(1 + notAccounts.length);

    assert.deepEqual(response, { batchItemFailures: [] });
    assert.deepEqual(
      subscriber.received.map((item) => item.channel),
      Array.from({ length: 1 + notAccounts.length }, () => fallbackChannel),
    );
  });

  it('logs the fallback channel of events without an account, in whichever group they are', async () => {
    const fallbackChannel = `topic-account-management-events-${FUNCTION_ACCOUNT}`;
    const subscriber = track(await subscribe(redis.url, fallbackChannel, CHANNEL));
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    // Group a goes out in the first call, b and c in the second; a and c carry no account.
    const records = [
      sqsRecord({ body: stateChange('i-a', 'running', null), group: 'a', messageId: 'a1' }),
      sqsRecord({ body: stateChange('i-b', 'running'), group: 'b', messageId: 'b1' }),
      sqsRecord({ body: stateChange('i-c', 'running', null), group: 'c', messageId: 'c1' }),
    ];

    const response = await handler(sqsEvent(records), lambdaContext(FUNCTION_ACCOUNT));
    await subscriber.waitFor(3);

    assert.deepEqual(response, { batchItemFailures: [] });
    const channels = Object.fromEntries(logs.withMessage('published').map((line) => [line.messageId, line.channel]));
    assert.deepEqual(channels, { a1: fallbackChannel, b1: CHANNEL, c1: fallbackChannel });
    const accounts = logs.withMessage('published').map((line) => line.account);
    assert.deepEqual(accounts, [FUNCTION_ACCOUNT, ACCOUNT, FUNCTION_ACCOUNT]);
  });

  it('asks STS once per container when neither the event nor the ARN names an account', async () => {
    const sts = mockClient(STSClient);
    track({ close: () => sts.restore() });
    sts.on(GetCallerIdentityCommand).resolves({ Account: '555555555555' });
    const channel = 'topic-account-management-events-555555555555';
    const subscriber = track(await subscribe(redis.url, channel));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: captureLogs().logger }));
    const batch = () => sqsEvent([1, 2, 3].map((n) => sqsRecord({ body: stateChange(`i-${n}`, 'running', null) })));

    await handler(batch(), lambdaContext(null));
    await handler(batch(), lambdaContext(null));
    await subscriber.waitFor(6);

    assert.equal(sts.commandCalls(GetCallerIdentityCommand).length, 1);
    assert.ok(subscriber.received.every((item) => item.channel === channel));
  });

  it('fails the records that need STS when it cannot answer, holds back the rest of their group, and publishes the others', async () => {
    const sts = mockClient(STSClient);
    track({ close: () => sts.restore() });
    sts.on(GetCallerIdentityCommand).rejects(new Error('connect ETIMEDOUT sts.us-east-1.amazonaws.com'));
    const logs = captureLogs();
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    const first = sqsRecord({ body: stateChange('i-1', 'pending'), group: 'a' });
    const noAccount = sqsRecord({ body: stateChange('i-1', 'running', null), group: 'a' });
    const behind = sqsRecord({ body: stateChange('i-1', 'stopping'), group: 'a' });
    const other = sqsRecord({ body: stateChange('i-2', 'running'), group: 'b' });

    const response = await handler(sqsEvent([first, noAccount, other, behind]), lambdaContext(null));
    await subscriber.waitFor(2);
    await sleep(150);

    assert.deepEqual(response, {
      batchItemFailures: [{ itemIdentifier: noAccount.messageId }, { itemIdentifier: behind.messageId }],
    });
    assert.equal(errorOf(logs.withMessage('record failed')[0]).name, 'AccountUnavailableError');
    assert.equal(
      errorOf(logs.withMessage('held back behind a failed record of its group')[0]).name,
      'PrecedingRecordFailedError',
    );
    // Nothing of group a after the record that could not be addressed: its successor would overtake it on redelivery.
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [first.body, other.body],
    );
  });

  it('uses the fallback account, and says so, when the event names an account that is not 12 digits', async () => {
    const logs = captureLogs();
    const fallbackChannel = `topic-account-management-events-${FUNCTION_ACCOUNT}`;
    const subscriber = track(await subscribe(redis.url, fallbackChannel));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    const bodies = [
      JSON.stringify({ ...JSON.parse(stateChange('i-1', 'running')), account: '1234567890123' }),
      JSON.stringify({ ...JSON.parse(stateChange('i-1', 'stopping')), account: 123456789012 }),
    ];

    const response = await handler(sqsEvent(bodies.map((body) => sqsRecord({ body }))), lambdaContext(FUNCTION_ACCOUNT));
    await subscriber.waitFor(2);

    assert.deepEqual(response, { batchItemFailures: [] });
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      bodies,
    );
    const warnings = logs.withMessage('the event names an account that is not a 12-digit string: using the fallback account');
    assert.deepEqual(
      warnings.map((line) => line.eventAccount),
      ['"1234567890123"', '123456789012'],
    );
    assert.deepEqual(
      logs.withMessage('published').map((line) => line.accountFrom),
      ['fallback', 'fallback'],
    );
  });

  it('publishes to TOPIC_PREFIX followed by the account', async () => {
    const channel = `inventory.aws.${ACCOUNT}`;
    const subscriber = track(await subscribe(redis.url, channel));
    const handler = track(
      createHandler({ env: { REDIS_URL: redis.url, TOPIC_PREFIX: 'inventory.aws.' }, logger: captureLogs().logger }),
    );
    const body = tagChange(`arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-1`, ['Name'], { Name: 'prod' });

    await handler(sqsEvent([sqsRecord({ body, group: 'management-events-tags' })]), lambdaContext());
    await subscriber.waitFor(1);

    assert.deepEqual(subscriber.received, [{ channel, message: body }]);
  });

  it('logs one line per record with the fields an operator searches by, and a summary', async () => {
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    track(await subscribe(redis.url, CHANNEL));
    const record = sqsRecord({ body: stateChange('i-0abc', 'stopped'), messageId: 'logged-1', receiveCount: 2 });

    await handler(sqsEvent([record]), lambdaContext());

    const line = logs.withMessage('published')[0];
    assert.equal(line?.messageId, 'logged-1');
    assert.equal(line?.group, 'ec2-instances-events');
    assert.equal(line?.sequenceNumber, record.attributes.SequenceNumber);
    assert.equal(line?.receiveCount, 2);
    assert.equal(line?.source, 'aws.ec2');
    assert.equal(line?.detailType, 'EC2 Instance State-change Notification');
    assert.deepEqual(line?.resources, [`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc`]);
    assert.equal(line?.account, ACCOUNT);
    assert.equal(line?.channel, CHANNEL);
    assert.equal(line?.receivers, 1);
    assert.equal(line?.outcome, 'published');
    const summary = logs.withMessage('batch processed')[0];
    assert.equal(summary?.records, 1);
    assert.equal(summary?.failed, 0);
    assert.equal(typeof summary?.durationMs, 'number');
    assert.equal(typeof summary?.oldestEventAgeMs, 'number');
  });

  it('sums the batch up with its oldest event, across groups and records that fail', async () => {
    // Prepare
    const logs = captureLogs();
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: logs.logger }));
    const happened = (minutesAgo: number) => {
      const event = JSON.parse(stateChange(`i-${minutesAgo}`, 'running'));
      event.time = new Date(Date.now() - minutesAgo * 60_000).toISOString();
      return JSON.stringify(event);
    };
    const invalid = sqsRecord({ body: 'not json', group: 'c' });
    // No event time to read: SQS's SentTimestamp stands in for it.
    invalid.attributes.SentTimestamp = String(Date.now() - 3 * 60_000);
    const records = [
      sqsRecord({ body: happened(1), group: 'a' }),
      sqsRecord({ body: happened(7), group: 'b' }),
      sqsRecord({ body: happened(2), group: 'a' }),
      invalid,
    ];

    // Act
    await handler(sqsEvent(records), lambdaContext());

    // Assess
    const summary = logs.withMessage('batch processed')[0];
    assert.equal(summary?.groups, 3);
    assert.equal(summary?.failed, 1);
    const age = Number(summary?.oldestEventAgeMs);
    assert.ok(age >= 7 * 60_000 && age < 7 * 60_000 + 5_000, `oldest event age ${age} ms`);
    assert.equal(summary?.OldestEventAge, age);

    // The record that failed for want of a time is the oldest by SQS's clock.
    const older = sqsRecord({ body: '[]', group: 'c' });
    older.attributes.SentTimestamp = String(Date.now() - 9 * 60_000);
    await handler(sqsEvent([sqsRecord({ body: happened(1), group: 'a' }), older]), lambdaContext());
    const second = Number(logs.withMessage('batch processed')[1]?.oldestEventAgeMs);
    assert.ok(second >= 9 * 60_000 && second < 9 * 60_000 + 5_000, `oldest event age ${second} ms`);
  });
});
