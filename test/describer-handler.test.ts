import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { createEventBridgeClient } from '../describer/aws-clients.ts';
import { readDescriberConfig } from '../describer/config.ts';
import { StateItemTooLargeError, stateEventBody, stateEvents } from '../describer/state-events.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { ACCOUNT, DESCRIBER_ARN, REGION, stateChange } from './helpers/describer-events.ts';
import { described, startDescriberRig } from './helpers/describer-rig.ts';
import { instance } from './helpers/ec2-assets.ts';
import { startEventBridgeEndpoint } from './helpers/eventbridge-endpoint.ts';

const MEMBER_OF_NOBODY = '210987654321';
const CENTRAL_BUS = 'arn:aws:events:us-east-1:111111111111:event-bus/default';

describe('the describer handler', () => {
  const closeLater = closeAfterEach();

  it('sends Asset State events into the FIFO queue in the inventory group, deduplicated by their id', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const ids = rig.ec2
      .region(REGION)
      .runInstances({ count: 2, state: 'running' })
      .map((item) => item.InstanceId ?? '');

    // Act
    const { response, states } = await rig.invoke(ids.map((id) => stateChange(id, 'stopping')));

    // Assess
    assert.deepEqual(response, { batchItemFailures: [] });
    assert.equal(states.length, 1);
    const [state] = states;
    assert.deepEqual(
      [state?.groupId, state?.deduplicationId, state?.source, state?.detailType, state?.resources],
      ['asset-inventory', state?.id, 'assets.describe', 'Asset State', [DESCRIBER_ARN]],
    );
    assert.deepEqual(described(states, 'instance').items, ids);
  });

  it('skips events of other accounts with one log line and describes its own', async () => {
    // Prepare: in an organization the central account receives members' events too; members describe their own.
    const rig = closeLater(await startDescriberRig());
    const own = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';
    const theirs = rig.ec2.region(REGION, MEMBER_OF_NOBODY).runInstances({ count: 3, state: 'running' });

    // Act
    const { failed, states } = await rig.invoke([
      ...theirs.map((item) => stateChange(item.InstanceId ?? '', 'stopping', { account: MEMBER_OF_NOBODY })),
      stateChange(own, 'stopping'),
    ]);

    // Assess
    assert.deepEqual(failed, []);
    assert.deepEqual(described(states, 'instance').items, [own]);
    const skipped = rig.logs().filter((line) => String(line.message).startsWith('events of other accounts skipped'));
    assert.deepEqual(
      skipped.map((line) => [line.count, line.accounts]),
      [[3, [MEMBER_OF_NOBODY]]],
    );
  });

  it("puts events on the central account's bus from a member account, sending failed entries again", async () => {
    // Prepare: 600 instances (several events, several PutEvents requests); EventBridge fails the first two entries.
    const bus = closeLater(await startEventBridgeEndpoint());
    const eventBridge = createEventBridgeClient(REGION, {
      endpoint: bus.endpoint,
      credentials: { accessKeyId: 'a', secretAccessKey: 's' },
    });
    closeLater({ close: () => eventBridge.destroy() });
    const rig = closeLater(
      await startDescriberRig({ env: { QUEUE_URL: '', CENTRAL_BUS_ARN: CENTRAL_BUS }, handler: { eventBridge } }),
    );
    const region = rig.ec2.region(REGION);
    const ids = region
      .runInstances({ count: 600, state: 'running', tags: { description: 'x'.repeat(600) } })
      .map((item) => item.InstanceId ?? '');
    bus.failEntries(2);

    // Act
    const { failed, states } = await rig.invoke(ids.map((id) => stateChange(id, 'stopping')));

    // Assess: nothing went to the queue; every instance reached the bus once, as Asset State events.
    assert.deepEqual([failed, states], [[], []]);
    assert.ok(bus.received.length > 1, `${bus.received.length} events`);
    for (const entry of bus.received) {
      assert.deepEqual(
        [entry.Source, entry.DetailType, entry.EventBusName, entry.Resources],
        ['assets.describe', 'Asset State', CENTRAL_BUS, [DESCRIBER_ARN]],
      );
    }
    const items = bus.received.flatMap((entry) => (JSON.parse(entry.Detail) as { items: { InstanceId: string }[] }).items);
    assert.deepEqual(
      items.map((item) => item.InstanceId),
      ids,
    );
  });

  it('fails every record when the events cannot be sent, so that SQS delivers them again', async () => {
    // Prepare: the queue URL names a queue that does not exist.
    const rig = closeLater(await startDescriberRig());
    const broken = closeLater(
      await startDescriberRig({ env: { QUEUE_URL: rig.queue.queueUrl.replace(/\.fifo$/, '-gone.fifo') } }),
    );
    const id = broken.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';

    // Act
    const { failed, summary } = await broken.invoke([stateChange(id, 'stopping'), stateChange(id, 'stopped')]);

    // Assess
    assert.deepEqual(failed, [0, 1]);
    assert.equal(summary.sent, 0);
    assert.ok(broken.logs().some((line) => line.message === 'Asset State events not sent; their records are retried'));
  });

  it('fails a record whose body is not an EventBridge event, with one log line, and handles the rest', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const id = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';

    // Act
    const { failed, states, response } = await rig.invoke(['not json', '[1,2]', stateChange(id, 'stopping')]);

    // Assess
    assert.deepEqual(failed, [0, 1]);
    assert.deepEqual(described(states, 'instance').items, [id]);
    const lines = rig
      .logs()
      .filter((line) => String(line.message).startsWith('record failed: the body is not an EventBridge event'));
    assert.deepEqual(
      lines.map((line) => line.messageId),
      response.batchItemFailures.map((failure) => failure.itemIdentifier),
    );
  });

  it('writes one summary line per invocation with the events, assets by type, calls and what it sent', async () => {
    // Prepare
    const rig = closeLater(await startDescriberRig());
    const id = rig.ec2.region(REGION).runInstances({ state: 'running' })[0]?.InstanceId ?? '';

    // Act
    const { summary } = await rig.invoke([stateChange(id, 'stopping'), stateChange('i-0dead000000000001', 'stopped')]);

    // Assess
    assert.deepEqual(
      [summary.events, summary.assets, summary.notFound, summary.calls, summary.throttles, summary.sent, summary.failed],
      [2, { instance: 1, vpc: 0, subnet: 0 }, 1, 2, 0, 1, 0],
    );
    assert.equal(summary.FunctionName, `management-events-describer-${REGION}`);
    assert.equal(rig.logs().filter((line) => line.message === 'describe batch').length, 1);
  });

  it('answers a misconfigured deployment with every record failed and one log line, not a stack trace', () => {
    // Prepare: the deployed entry point, in a process whose environment names no destination.
    const script = `
      const { handler } = await import('./describer/handler.ts');
      const response = await handler({ Records: [{ messageId: 'm1', body: '{}' }, { messageId: 'm2', body: '{}' }] },
        { invokedFunctionArn: '${DESCRIBER_ARN}', functionName: 'describer' });
      process.stdout.write(JSON.stringify(response) + '\\n');`;

    // Act
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      env: { PATH: process.env.PATH, AWS_REGION: REGION },
      encoding: 'utf8',
    });

    // Assess
    const lines = child.stdout.trim().split('\n');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(lines.length, 2);
    const logged = JSON.parse(lines[0] ?? '{}') as { level: string; error: { name: string; message: string } };
    assert.deepEqual([logged.level, logged.error.name], ['ERROR', 'DescriberConfigError']);
    assert.match(logged.error.message, /QUEUE_URL .* or, in a member account, CENTRAL_BUS_ARN/);
    assert.deepEqual(JSON.parse(lines[1] ?? '{}'), { batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
    assert.doesNotMatch(child.stdout + child.stderr, /\n\s+at /);
  });
});

describe('Asset State events', () => {
  const fields = (maxBytes: number) => ({
    time: '2026-11-20T10:00:00Z',
    resources: [DESCRIBER_ARN],
    newId: () => crypto.randomUUID(),
    maxBytes,
  });
  const input = (count: number) => ({
    account: ACCOUNT,
    region: REGION,
    resourceType: 'instance' as const,
    observedAt: '2026-11-20T10:00:00.123Z',
    items: Array.from({ length: count }, (_, index) => instance(index)),
    notFound: ['i-0dead000000000001'],
    eventTime: '2026-11-20T09:59:58Z',
  });

  it('cuts one observation into events of at most the limit, in order, not-found ids with the first', () => {
    // Prepare: 1,000 instances of about 1.5 KB.
    const observation = input(1000);

    // Act
    const events = stateEvents(observation, fields(240 * 1024));

    // Assess
    assert.ok(events.length > 1);
    for (const event of events) {
      assert.ok(Buffer.byteLength(stateEventBody(event)) <= 240 * 1024);
      assert.deepEqual([event.detail.observedAt, event.detail.eventTime], ['2026-11-20T10:00:00.123Z', '2026-11-20T09:59:58Z']);
    }
    assert.deepEqual(
      events.map((event) => event.detail.notFound),
      [['i-0dead000000000001'], ...events.slice(1).map(() => [])],
    );
    assert.deepEqual(
      events.flatMap((event) => event.detail.items),
      observation.items,
    );
    assert.equal(new Set(events.map((event) => event.id)).size, events.length);
  });

  it('refuses an item no event can carry rather than dropping it', () => {
    assert.throws(() => stateEvents(input(3), fields(1200)), StateItemTooLargeError);
  });

  it('sends a not-found answer with no items as one event', () => {
    const events = stateEvents({ ...input(0), notFound: ['i-0dead000000000001'] }, fields(240 * 1024));
    assert.deepEqual(
      events.map((event) => [event.detail.items, event.detail.notFound]),
      [[[], ['i-0dead000000000001']]],
    );
  });
});

describe('the describer configuration', () => {
  const queueUrl = `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/management-events-eu-west-1.fifo`;

  it('takes the FIFO queue, its region from the URL', () => {
    assert.deepEqual(readDescriberConfig({ QUEUE_URL: queueUrl }), {
      target: { kind: 'queue', queueUrl, region: 'eu-west-1' },
      notFoundGraceMs: 60_000,
      metricsNamespace: 'AssetSync',
    });
  });

  it("takes the central account's bus, its region from the ARN, and a grace", () => {
    assert.deepEqual(readDescriberConfig({ CENTRAL_BUS_ARN: CENTRAL_BUS, NOT_FOUND_GRACE_SECONDS: '30' }), {
      target: { kind: 'bus', busArn: CENTRAL_BUS, region: 'us-east-1' },
      notFoundGraceMs: 30_000,
      metricsNamespace: 'AssetSync',
    });
  });

  for (const [name, env, message] of [
    ['neither destination', {}, /QUEUE_URL \(the FIFO queue\) or, in a member account, CENTRAL_BUS_ARN .* is required/],
    ['both destinations', { QUEUE_URL: queueUrl, CENTRAL_BUS_ARN: CENTRAL_BUS }, /set QUEUE_URL or CENTRAL_BUS_ARN, not both/],
    ['a standard queue', { QUEUE_URL: queueUrl.replace('.fifo', '') }, /QUEUE_URL must be the URL of the FIFO queue/],
    [
      'a rule ARN for a bus',
      { CENTRAL_BUS_ARN: 'arn:aws:events:us-east-1:111111111111:rule/x' },
      /CENTRAL_BUS_ARN must be an event bus ARN/,
    ],
    [
      'a grace that is no number',
      { QUEUE_URL: queueUrl, NOT_FOUND_GRACE_SECONDS: '1m' },
      /NOT_FOUND_GRACE_SECONDS must be a whole number/,
    ],
  ] as const) {
    it(`refuses ${name} in one line`, () => {
      assert.throws(
        () => readDescriberConfig(env),
        (error: Error) => error.name === 'DescriberConfigError' && message.test(error.message) && !error.message.includes('\n'),
      );
    });
  }
});
