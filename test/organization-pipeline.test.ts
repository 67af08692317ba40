import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { rulesPerAccount } from '../infra/account-rules.ts';
import type { RuleDefinition as RuleLike } from '../infra/rules.ts';
import { RULES } from '../infra/rules.ts';
import type { InventoryMessage } from '../local/inventory-subscriber.ts';
import { type PipelineOptions, startPipeline } from '../local/pipeline.ts';
import type { RoutedEvent } from '../local/router.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';
const PREFIX = 'topic-account-management-events-';
const STATE_RULE = RULES.find((rule) => rule.name === 'management-events-ec2') as RuleLike;

/** An instance state change as a member account's rule forwards it: the event keeps its own `account`. */
function stateChange(id: string, account: string): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account,
    time: new Date().toISOString(),
    region: 'eu-west-1',
    resources: [`arn:aws:ec2:eu-west-1:${account}:instance/i-${id}`],
    detail: { 'instance-id': `i-${id}`, state: 'running' },
  };
}

/**
 * EventBridge on the central bus, for the state-change rule: the shared group, or with `accounts` the rule that
 * rulesPerAccount made for the event's account (its pattern names that account).
 */
function route(event: Record<string, unknown>, accounts: readonly string[]): RoutedEvent {
  const rules = rulesPerAccount([STATE_RULE], accounts);
  const rule =
    rules.find((candidate) => JSON.stringify(candidate.eventPattern.account) === JSON.stringify([event.account])) ??
    (rules.find((candidate) => candidate.name === STATE_RULE.name) as RuleLike);
  return { id: String(event.id), rule: rule.name, group: rule.messageGroupId, body: JSON.stringify(event) };
}

describe('an organization through the local pipeline', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  /** The central account's pipeline on SQS's batching; `received(account)`: the event ids on that account's channel. */
  async function startCentralPipeline(options: Pick<PipelineOptions, 'visibilityTimeoutSeconds'>) {
    const received: InventoryMessage[] = [];
    const pipeline = track(
      await startPipeline({
        region: 'eu-west-1',
        redisUrl: redis.url,
        maxReceiveCount: 5,
        groupBatching: 'sqs',
        functionLogger: captureLogs().logger,
        onMessage: (message) => received.push(message),
        ...options,
      }),
    );
    const onChannelOf = (account: string) =>
      received.filter((message) => message.channel === `${PREFIX}${account}`).map((message) => message.event?.id);
    return { pipeline, received, onChannelOf };
  }

  it("puts each member account's events on that account's channel", { timeout: 60_000 }, async () => {
    const { pipeline, received, onChannelOf } = await startCentralPipeline({ visibilityTimeoutSeconds: 5 });
    const events = [
      stateChange('a-1', ACCOUNT_A),
      stateChange('b-1', ACCOUNT_B),
      stateChange('a-2', ACCOUNT_A),
      stateChange('b-2', ACCOUNT_B),
    ];

    await pipeline.send(events.map((event) => route(event, [])));
    const progress = await pipeline.settle(10_000);

    assert.equal(progress.delivered, 4);
    assert.deepEqual(onChannelOf(ACCOUNT_A), ['a-1', 'a-2']);
    assert.deepEqual(onChannelOf(ACCOUNT_B), ['b-1', 'b-2']);
    assert.equal(received.length, 4);
  });

  describe("head-of-line blocking: account A's poison event, then account B's events", () => {
    /**
     * A's events cannot be published (the function's Redis user may not publish to A's channel), so A's first event
     * fails on every receive until it is dead-lettered. Returns what the dead-letter queue held when B's first event
     * reached the inventory, and the inventory's first deliveries.
     */
    async function run(accounts: readonly string[]) {
      const admin = new Redis(redis.url);
      await admin.call(
        'ACL',
        'SETUSER',
        'sync',
        'reset',
        'on',
        '>sync-pass',
        '~*',
        'resetchannels',
        `&${PREFIX}${ACCOUNT_B}`,
        '+@all',
      );
      admin.disconnect();
      const started = Date.now();
      const deadLetteredWhenBArrived: Promise<string[]>[] = [];
      let bArrivedAfterMs = Number.NaN;
      const pipeline = track(
        await startPipeline({
          region: 'eu-west-1',
          redisUrl: redis.url,
          functionRedisUrl: `redis://sync:sync-pass@127.0.0.1:${redis.port}`,
          maxReceiveCount: 2,
          groupBatching: 'sqs',
          visibilityTimeoutSeconds: 1,
          functionLogger: captureLogs().logger,
          onMessage: (message) => {
            if (message.event?.id !== 'b-1') return;
            bArrivedAfterMs = Date.now() - started;
            deadLetteredWhenBArrived.push(pipeline.queue.deadLetterBodies());
          },
        }),
      );
      const events = [stateChange('a-poison', ACCOUNT_A), stateChange('b-1', ACCOUNT_B), stateChange('b-2', ACCOUNT_B)];
      const routed = events.map((event) => route(event, accounts));

      await pipeline.send(routed);
      const progress = await pipeline.settle(15_000);

      const [snapshot] = await Promise.all(deadLetteredWhenBArrived);
      return {
        groups: routed.map((event) => event.group),
        progress,
        deadLetteredWhenBArrived: (snapshot ?? []).map((body) => JSON.parse(body).id as string),
        firstDeliveries: [...pipeline.firstDeliveries],
        deadLetterQueue: (await pipeline.queue.deadLetterBodies()).map((body) => JSON.parse(body).id as string),
        bArrivedAfterMs,
      };
    }

    // SQS hands out A's event with B's behind it in one receive and counts each receive against all three: B's events
    // reach maxReceiveCount with A's and are dead-lettered with it.
    it('in a shared message group, B waits until A is dead-lettered', {
      timeout: 60_000,
      todo: "issue 22: on SQS's batching B's events are received, counted and dead-lettered with A's",
    }, async (t) => {
      const shared = await run([]);

      assert.deepEqual(shared.groups, ['ec2-instances-events', 'ec2-instances-events', 'ec2-instances-events']);
      assert.deepEqual(shared.firstDeliveries, ['b-1', 'b-2']);
      assert.deepEqual(shared.deadLetterQueue, ['a-poison']);
      assert.deepEqual(shared.deadLetteredWhenBArrived, ['a-poison'], 'B was held back until A was dead-lettered');
      t.diagnostic(`shared group: B's first event reached the inventory ${shared.bArrivedAfterMs} ms after the send`);
    });

    it('with per-account message groups, B is not held back by A', { timeout: 60_000 }, async (t) => {
      const perAccount = await run([ACCOUNT_A, ACCOUNT_B]);

      assert.deepEqual(perAccount.groups, [
        `ec2-instances-events-${ACCOUNT_A}`,
        `ec2-instances-events-${ACCOUNT_B}`,
        `ec2-instances-events-${ACCOUNT_B}`,
      ]);
      assert.deepEqual(perAccount.firstDeliveries, ['b-1', 'b-2']);
      assert.deepEqual(perAccount.deadLetterQueue, ['a-poison'], 'A is still dead-lettered, alone');
      assert.deepEqual(perAccount.deadLetteredWhenBArrived, [], 'B arrived while A was still being retried');
      t.diagnostic(`per-account groups: B's first event reached the inventory ${perAccount.bArrivedAfterMs} ms after the send`);
    });
  });

  it('dead-letters only an event that is not JSON at the head of a shared group: the 9 events of two accounts behind it arrive', {
    timeout: 60_000,
    todo: 'issue 22: the function parks poison records',
  }, async () => {
    // Prepare: the deployed maxReceiveCount, and SQS's batching: the poison and the 9 behind it share every receive.
    const { pipeline, onChannelOf } = await startCentralPipeline({ visibilityTimeoutSeconds: 1 });
    const poison = '{"id": "poison", this is not JSON';
    const good = Array.from({ length: 9 }, (_, index) =>
      index % 2 === 0 ? stateChange(`a-${index}`, ACCOUNT_A) : stateChange(`b-${index}`, ACCOUNT_B),
    );
    const shared = STATE_RULE.messageGroupId;

    // Act: one SendMessageBatch, so that no receive can take the poison alone.
    await pipeline.send([
      { id: 'poison', rule: STATE_RULE.name, group: shared, body: poison },
      ...good.map((event) => route(event, [])),
    ]);
    const progress = await pipeline.settle(15_000);

    // Assess
    assert.deepEqual(await pipeline.queue.deadLetterBodies(), [poison]);
    assert.equal(progress.delivered, 9);
    const sentOf = (account: string) => good.filter((event) => event.account === account).map((event) => event.id);
    assert.deepEqual(onChannelOf(ACCOUNT_A), sentOf(ACCOUNT_A));
    assert.deepEqual(onChannelOf(ACCOUNT_B), sentOf(ACCOUNT_B));
  });
});
